"""An organiser writes, previews and sends an update and watches it go out; a supporter
unsubscribes from the email (one click, as a mail program does it, and with the button);
the next update does not reach them."""

from __future__ import annotations

import email
import email.policy
import re
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import Page, expect

from petitions.models import Petition
from tests.e2e.browser.helpers import csp_violations_read, csp_violations_watch
from tests.factories import member_create, signature_create, workspace_login
from updates import services
from updates.models import Update

pytestmark = pytest.mark.e2e


def signed_up(petition: Petition, address: str) -> None:
    signature_create(petition=petition, email=address, confirmed=True, consent_updates=True)


def outbox_read(folder: Path) -> dict[str, EmailMessage]:
    """Every message in the outbox folder, by recipient; the folder is emptied."""
    messages = {}
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        messages[str(message["To"])] = message
        path.unlink()
    return messages


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def sign_in(page: Page, live_server: Any, user: Any) -> None:
    """The organiser's session, as after signing in with the second factor (writing to
    supporters needs one; the sign-in pages are not under test)."""
    client = Client()
    workspace_login(client, user, verified=True)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


@pytest.fixture
def planning_held(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Planning tasks are recorded, not run, so the test decides when sending happens and
    the page can be seen catching up on its own."""
    held: list[int] = []
    monkeypatch.setattr(
        "updates.services.sending.enqueue_on_commit", lambda task, update_id: held.append(update_id)
    )
    return held


def test_an_update_is_written_previewed_sent_watched_and_unsubscribed_from(
    page: Page, live_server: Any, outbox_dir: Path, petition: Petition, planning_held: list[int]
) -> None:
    for address in ("anna@example.org", "boris@example.org", "carl@example.org"):
        signed_up(petition, address)
    organiser = member_create(organisation=petition.campaign.organisation, role="campaigner").user
    outbox_read(outbox_dir)  # the confirmation emails
    violations = csp_violations_watch(page)
    sign_in(page, live_server, organiser)
    campaign = petition.campaign
    organisation = campaign.organisation.slug
    updates_url = (
        f"{live_server.url}/workspace/{organisation}/campaigns/{campaign.public_id}/updates/"
    )

    # Write.
    page.goto(updates_url)
    expect(page.get_by_text("Sent now, this update would reach 3 supporters.")).to_be_visible()
    page.get_by_role("link", name="Write an update").click()
    page.get_by_label("Subject").fill("The court meets on Monday")
    page.get_by_label("Message").fill("Come to the court at **nine**.\n\nBring a friend.")
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The court meets on Monday")
    expect(page.get_by_text("Sent now, this update would reach 3 supporters.")).to_be_visible()

    # Preview: text, HTML and the headers, as they will arrive.
    page.get_by_role("link", name="Preview the email (text and HTML)").click()
    expect(page.locator("pre.ws-email-text")).to_contain_text("Come to the court at **nine**.")
    expect(page.locator("pre.ws-email-text")).to_contain_text(
        "You get this email because you signed “Release the Browser Five”"
    )
    expect(page.get_by_text("List-Unsubscribe=One-Click")).to_be_visible()
    frame = page.frame_locator("iframe.ws-email-frame")
    expect(frame.locator("strong")).to_have_text("nine")
    page.get_by_role("link", name="Back to the update").click()

    # Send, and watch: the numbers move on the open page without a reload.
    page.get_by_label("I have checked the preview; send to 3 supporters now").check()
    page.get_by_role("button", name="Send now to 3 supporters").click()
    expect(page.get_by_text("Sending to 3 supporters.")).to_be_visible()
    expect(page.locator("[data-progress-label]")).to_have_text("Preparing the list of recipients…")
    [update_id] = planning_held
    services.update_plan(update_id=update_id)  # the worker's part; the mailer sends at once
    expect(page.locator('[data-progress="sent"]')).to_have_text("3", timeout=10_000)
    expect(page.locator("[data-progress-label]")).to_have_text("Every email has been handed over.")
    expect(page.locator("[data-progress-status]")).to_have_text("Sent")
    expect(page.get_by_role("button", name="Stop sending")).to_be_hidden()
    page.reload()
    expect(page.locator('[data-progress="sent"]')).to_have_text("3")  # the tally stays

    received = outbox_read(outbox_dir)
    assert set(received) == {"anna@example.org", "boris@example.org", "carl@example.org"}

    # Anna's mail program unsubscribes her with one click (RFC 8058): a POST, no cookies.
    anna = received["anna@example.org"]
    assert anna["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(anna["List-Id"]).endswith(f"<{campaign.public_id}.updates.localhost>")
    one_click = str(anna["List-Unsubscribe"]).strip().strip("<>")
    assert one_click.startswith(live_server.url)
    request = urllib.request.Request(  # noqa: S310 - the test's own server
        one_click, data=b"List-Unsubscribe=One-Click", method="POST"
    )
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(request) as answer:  # noqa: S310 - the test's own server
        assert answer.status == 200
        assert answer.url == one_click  # no redirect
        assert answer.read().decode() == "You are unsubscribed."

    # Boris opens the link in the email's text and presses the button.
    boris_link = re.search(
        rf"{re.escape(live_server.url)}/u/[^/\s]+/(?=\s)", text_of(received["boris@example.org"])
    )
    assert boris_link is not None
    page.goto(boris_link.group(0))
    expect(page.get_by_role("heading", level=1)).to_have_text("Stop these updates")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    expect(page.get_by_text("You will get no more updates from")).to_be_visible()

    # The next update reaches Carl alone.
    organiser.is_verified = lambda: True  # as django-otp's middleware marks a verified session
    second = services.update_create(
        actor=organiser, campaign=campaign, subject="Monday: what happened", body="Thank you."
    )
    page.goto(f"{updates_url}{second.public_id}/")
    expect(page.get_by_text("Sent now, this update would reach 1 supporter.")).to_be_visible()
    page.get_by_label("I have checked the preview; send to 1 supporter now").check()
    page.get_by_role("button", name="Send now to 1 supporter").click()
    services.update_plan(update_id=planning_held[-1])
    expect(page.locator('[data-progress="sent"]')).to_have_text("1", timeout=10_000)
    assert set(outbox_read(outbox_dir)) == {"carl@example.org"}
    assert Update.objects.filter(status=Update.Status.SENDING).count() == 2
    assert csp_violations_read(page) == [] and violations == []
