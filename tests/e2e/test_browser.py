"""Browser tests: a real Chromium (Debian's, never a downloaded one) drives the live server.

Mail takes the in-process path here: tasks run eagerly in the live server's thread and the
local outbox backend writes ``.eml`` files to a temporary folder, which the test reads the
way a person reads their inbox. The worker and SMTP path is covered by test_worker.py.
"""

from __future__ import annotations

import email
import email.policy
import re
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connections
from playwright.sync_api import Page, expect, sync_playwright

from config.celery import app as celery_app
from petitions import services
from petitions.models import Petition, Signature
from tests.factories import campaign_create, petition_create

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS_DIR = Path(django_settings.BASE_DIR) / "var" / "artifacts"
MAIL_TIMEOUT = 10.0
# Playwright's own default is 30 s; a page of this site that takes 10 s is a failure.
PAGE_TIMEOUT_MS = 10_000


@pytest.fixture
def outbox_dir(live_server: Any, settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Send mail in-process, eagerly, to ``.eml`` files in a folder of this test's own."""
    folder = tmp_path / "outbox"
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "mailer.backends.LocalOutboxBackend"
    settings.OUTBOX_DIR = folder
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    # e2e tests are not eager (see tests/conftest.py); this one is, so that nothing is left
    # on the broker for a worker that never comes.
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    try:
        yield folder
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, outbox_dir: Path) -> Iterator[Page]:
    # Playwright's sync API runs an asyncio loop in this thread, and Django refuses ORM
    # calls from a thread with a running loop unless told that this is deliberate.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
            context.set_default_timeout(PAGE_TIMEOUT_MS)
            yield context.new_page()
            context.close()
        finally:
            browser.close()
            # While Playwright runs, the test sees another contextvars context (greenlets),
            # and Django keeps connections per context: the test's ORM calls got a
            # connection of their own. Close it here, while it is still reachable, or
            # PostgreSQL refuses to drop the test database at the end of the session.
            connections.close_all()


@pytest.fixture
def petition() -> Petition:
    return petition_create(
        campaign=campaign_create(slug="browser-campaign", title="Free the Browser Five"),
        slug="browser-petition",
        title="Release the Browser Five",
    )


def campaign_url(live_server: Any, petition: Petition) -> str:
    return f"{live_server.url}/c/{petition.campaign.slug}/"


def page_url(live_server: Any, path: str) -> re.Pattern[str]:
    """The page at ``path``. The sign form posts to ``…#petition-<slug>`` so the answer
    scrolls to the petition, and browsers keep that fragment across the redirect."""
    return re.compile(rf"{re.escape(live_server.url + path)}(#[\w-]*)?")


def mail_read(folder: Path) -> EmailMessage:
    """The one message in the outbox folder (waiting briefly, though sending is eager)."""
    deadline = time.monotonic() + MAIL_TIMEOUT
    while not (files := sorted(folder.glob("*.eml"))):
        if time.monotonic() > deadline:
            pytest.fail(f"no email in {folder} after {MAIL_TIMEOUT:.0f}s")
        time.sleep(0.05)
    assert len(files) == 1, files
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


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
    expect(page.get_by_text("Press the button to confirm your signature")).to_be_visible()
    # Opening the link is not confirming: mail scanners open links too.
    signature = Signature.objects.get(petition=petition)
    assert signature.status == Signature.Status.PENDING

    page.get_by_role("button", name="Confirm my signature").click()

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
    expect(recent.locator(".recent__name")).to_have_text("Maria I.")
    expect(page.get_by_text("Maria Ivanova")).to_have_count(0)


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
