"""The public pages in a real browser: sign, confirm from the email, see the count; a
screenshot of the campaign page is kept in ``var/test/artifacts/``."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.cache import cache
from django.urls import reverse
from playwright.sync_api import Page, expect

from petitions import services
from petitions.models import Petition, Signature
from petitions.services import addresses
from tests.e2e.browser.helpers import (
    campaign_url,
    csp_violations_read,
    csp_violations_watch,
    mail_read,
    page_url,
)
from tests.factories import signature_create, totp_code, totp_device_create

pytestmark = pytest.mark.e2e
ARTIFACTS_DIR = Path(django_settings.VAR_DIR) / "artifacts"  # var/test/artifacts in tests


def mail_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    return str(part.get_content())


def test_sign_confirm_and_appear_on_the_page(
    page: Page, live_server: Any, outbox_dir: Path, petition: Petition
) -> None:
    page.goto(campaign_url(live_server, petition))
    expect(page.get_by_role("heading", level=1)).to_have_text("Free the Browser Five")
    expect(page.get_by_role("heading", name="Release the Browser Five")).to_be_visible()
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS_DIR / "campaign-page.png", full_page=True)

    page.get_by_label("Your name").fill("Maria Ivanova")
    page.get_by_label("Your email").fill("Maria.Ivanova@example.org")
    page.get_by_label("First name and initial").check()
    page.get_by_role("button", name="Sign", exact=True).click()

    expect(page).to_have_url(page_url(live_server, f"/p/{petition.slug}/thanks/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you! One more step: check your email"
    )

    message = mail_read(outbox_dir)
    assert message["To"] == "Maria.Ivanova@example.org"
    assert message["Auto-Submitted"] == "auto-generated"
    links = re.findall(rf"{re.escape(live_server.url)}/confirm/[^/\s]+/", mail_text(message))
    assert len(links) == 1, mail_text(message)

    page.goto(links[0])
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your signature")
    # The review shows what confirming publishes, prefilled from what was typed.
    expect(page.get_by_text("will publish and record")).to_be_visible()
    expect(page.get_by_label("Your name")).to_have_value("Maria Ivanova")
    expect(page.get_by_label("First name and initial")).to_be_checked()
    expect(page.get_by_text("shows your name as: Maria I.")).to_be_visible()
    # Opening the link is not confirming: mail scanners open links too.
    signature = Signature.objects.get(petition=petition)
    assert signature.status == Signature.Status.PENDING

    # Keyboard only: a change made on the review is what gets confirmed.
    page.get_by_label("Your name").fill("Maria  Petrovna Ivanova")
    page.get_by_label("Full name").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Confirm my signature").focus()
    page.keyboard.press("Enter")

    expect(page).to_have_url(page_url(live_server, f"/p/{petition.slug}/confirmed/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your signature is confirmed")
    signature.refresh_from_db()
    assert signature.status == Signature.Status.CONFIRMED

    assert services.signature_counts_refresh() == 1
    # The recent-signers list is cached for a few seconds and our first visit cached it
    # empty; a reader arriving after that would get a fresh list.
    cache.clear()
    page.goto(campaign_url(live_server, petition))
    expect(page.locator("[data-count-label]")).to_have_text("1 of 100 signatures")
    recent = page.locator(".recent")
    expect(recent.get_by_role("heading", name="Recent signatures")).to_be_visible()
    expect(recent.get_by_role("listitem")).to_have_count(1)
    # Shown in full, as chosen on the review, with the name retyped there.
    expect(recent.locator(".recent__name")).to_have_text("Maria Petrovna Ivanova")
    expect(page.get_by_text("Maria I.", exact=True)).to_have_count(0)


def test_errors_are_tied_to_their_fields_and_input_is_kept(
    page: Page, live_server: Any, petition: Petition
) -> None:
    page.goto(campaign_url(live_server, petition))
    page.get_by_role("button", name="Sign", exact=True).click()

    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_have_attribute("role", "alert")
    # Focus moves to the summary, so keyboard and screen-reader users start from the errors.
    expect(summary).to_be_focused()
    expect(
        summary.get_by_role("link", name="Your name: Please enter your name.")
    ).to_have_attribute("href", f"#id_{petition.slug}_name")
    expect(
        summary.get_by_role("link", name="Your email: Please enter your email address.")
    ).to_have_attribute("href", f"#id_{petition.slug}_email")

    name = page.get_by_label("Your name")
    email_input = page.get_by_label("Your email")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description("Please enter your name.")
    expect(email_input).to_have_attribute("aria-invalid", "true")
    expect(email_input).to_have_accessible_description(re.compile("Please enter your email"))

    # Fix one field, get the other wrong: what was typed stays, only the email is flagged.
    name.fill("Maria Ivanova")
    email_input.fill("not-an-email")
    page.get_by_label("Full name").check()
    page.get_by_role("button", name="Sign", exact=True).click()

    expect(page.get_by_label("Your email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Your email")).to_have_value("not-an-email")
    expect(page.get_by_label("Your email")).to_have_accessible_description(
        re.compile("Enter an email address like name@example.org.")
    )
    expect(page.get_by_label("Your name")).to_have_value("Maria Ivanova")
    expect(page.get_by_label("Your name")).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Full name")).to_be_checked()
    expect(page.locator(".error-summary li")).to_have_count(1)
    assert not Signature.objects.exists()


def test_the_form_works_with_the_keyboard_alone(
    page: Page, live_server: Any, outbox_dir: Path, petition: Petition
) -> None:
    page.goto(campaign_url(live_server, petition))
    sign_button = page.get_by_role("button", name="Sign", exact=True)

    def focused() -> str:
        # A short description of the focused element: its id, or its text for buttons.
        return str(
            page.evaluate(
                "() => { const el = document.activeElement;"
                " return el.id || (el.textContent || '').trim() || el.tagName; }"
            )
        )

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()

    order: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        order.append(focused())
        if sign_button.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail(f"the Sign button was never reached with Tab; focus went: {order}")

    prefix = f"id_{petition.slug}_"
    fields = [f"{prefix}name", f"{prefix}email", f"{prefix}country", f"{prefix}display_0"]
    for field in fields:
        assert field in order, f"{field} not reachable with Tab; focus went: {order}"
    assert [order.index(field) for field in fields] == sorted(
        order.index(field) for field in fields
    ), order

    # Now sign with keys only: back to the name field, type, move on, press Enter.
    for _ in range(60):
        page.keyboard.press("Shift+Tab")
        if focused() == f"{prefix}name":
            break
    else:
        pytest.fail("Shift+Tab never returned to the name field")
    page.keyboard.type("Kira Keyboard")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Your email")).to_be_focused()
    page.keyboard.type("kira@example.org")
    for _ in range(60):
        if sign_button.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    expect(page).to_have_url(page_url(live_server, f"/p/{petition.slug}/thanks/"))
    assert mail_read(outbox_dir)["To"] == "kira@example.org"
    assert Signature.objects.get(petition=petition).status == Signature.Status.PENDING


# Organisation.website is a URLField, whose admin form field warns about Django 6's default
# scheme; that warning is not this test's subject (and becomes an error, so a 500, here).
def test_the_admin_works_under_the_policy(page: Page, live_server: Any, petition: Petition) -> None:
    violations = csp_violations_watch(page)
    superuser = User.objects.create_superuser(
        "csp-admin@example.org", "csp-admin@example.org", "a long pass phrase"
    )
    device = totp_device_create(user=superuser)
    services.signature_create(petition=petition, email="admin-view@example.org", name="A B")

    # The admin sends staff to the workspace's sign-in, then to its two-factor step.
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Email address").fill("csp-admin@example.org")
    page.get_by_label("Password").fill("a long pass phrase")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code from your authenticator app").fill(totp_code(device))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    violations += csp_violations_read(page)

    paths = []
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        paths.append(reverse("admin:{}_{}_changelist".format(*info)))
        paths.append(reverse("admin:{}_{}_add".format(*info)))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            paths.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
    for path in paths:
        response = page.goto(live_server.url + path)
        assert response is not None
        # 403: the add page of a model that staff cannot add to (signatures, the outbox).
        assert response.status in (200, 403), f"{path} answered {response.status}"
        # Widgets (calendars, filters, selectors) set up on load; wait for them.
        page.wait_for_load_state("load")
        violations += [f"{path}: {violation}" for violation in csp_violations_read(page)]

    assert violations == []


def test_a_signer_manages_their_signature_from_the_emailed_link(
    page: Page, live_server: Any, outbox_dir: Path, petition: Petition
) -> None:
    # Anna signed and confirmed earlier; without consent to updates her address was then
    # dropped, and asking for the link stores it again for that one email.
    signature = signature_create(petition=petition, email="anna@example.org", confirmed=True)
    assert services.signature_counts_refresh() == 1
    assert addresses.supporter_emails_drop_due() == 1  # as beat runs it after confirming
    for old in outbox_dir.glob("*.eml"):
        old.unlink()  # her confirmation email: the inbox now starts empty

    page.goto(campaign_url(live_server, petition))
    page.get_by_role("link", name="Manage my signature").click()
    page.get_by_label("Your email").fill("Anna@Example.org")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

    message = mail_read(outbox_dir)
    assert message["To"] == "Anna@example.org"  # as typed, the domain canonical
    links = re.findall(rf"{re.escape(live_server.url)}/manage/[^/\s]+/", mail_text(message))
    assert len(links) == 1, mail_text(message)
    page.goto(links[0])
    expect(page.get_by_role("heading", level=1)).to_have_text("Your signatures and data")
    expect(page.get_by_role("heading", name=petition.title)).to_be_visible()

    # Each form on the page posts back to the site; a real browser sends the Origin and
    # Referer that Django's CSRF check wants, under this page's referrer policy.
    page.get_by_label("Full name").check()
    page.get_by_role("button", name="Save how my name is shown").click()
    expect(page.get_by_text("Saved: your name is now shown as you chose.")).to_be_visible()
    signature.refresh_from_db()
    assert signature.display == Signature.Display.FULL

    page.get_by_role("link", name="Withdraw this signature").click()
    page.get_by_role("button", name="Withdraw my signature").click()
    expect(page.get_by_text(f"Your signature on “{petition.title}” is withdrawn")).to_be_visible()
    signature.refresh_from_db()
    assert signature.status == Signature.Status.WITHDRAWN
    assert signature.supporter is None  # detached at once, not only at erasure
    petition.refresh_from_db()
    assert petition.signature_count == 0

    page.get_by_role("button", name="Erase my data").click()
    expect(page.get_by_text("Tick the box to confirm that you want to be erased.")).to_have_count(2)
    page.get_by_label("I understand:").check()
    page.get_by_role("button", name="Erase my data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your data is erased")
    signature.refresh_from_db()
    assert signature.supporter is None
    page.goto(links[0])  # the link died with the person it was for
    expect(page.get_by_role("heading", name="Your signatures and data")).to_have_count(0)
