"""Browser tests: a real Chromium (Debian's, never a downloaded one) drives the live server.

Mail takes the in-process path here: tasks run eagerly in the live server's thread and the
local outbox backend writes ``.eml`` files to a temporary folder, which the test reads the
way a person reads their inbox. The worker and SMTP path is covered by test_worker.py.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import http.server
import re
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connections
from django.urls import reverse
from playwright.sync_api import Page, expect, sync_playwright

from config.celery import app as celery_app
from petitions import services
from petitions.models import Petition, Signature
from petitions.services import addresses
from tests.factories import campaign_create, petition_create, signature_create

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


# --- Content-Security-Policy ----------------------------------------------------------------

# Injected through DevTools before any page script, so the policy does not apply to it.
_RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} ` +
    `at ${event.sourceFile || event.documentURI}:${event.lineNumber}`
  );
});
"""


def csp_violations_watch(page: Page) -> list[str]:
    """A list that fills with every CSP violation the browser reports on ``page``: the
    ``securitypolicyviolation`` events of each document, and the console's own messages."""
    violations: list[str] = []
    page.context.add_init_script(_RECORD_CSP_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return violations


def csp_violations_read(page: Page) -> list[str]:
    return list(page.evaluate("() => window.__cspViolations || []"))


def test_the_campaign_and_embed_pages_break_no_rule_of_the_policy(
    page: Page, live_server: Any, petition: Petition
) -> None:
    violations = csp_violations_watch(page)
    Petition.objects.filter(pk=petition.pk).update(signature_count=42)

    page.goto(campaign_url(live_server, petition))
    expect(page.get_by_role("heading", level=1)).to_have_text("Free the Browser Five")
    # The script ran (it shows the copy button only on pages that have one, and focuses
    # errors): submitting the empty form exercises it, and the error page must obey too.
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.locator(".error-summary")).to_be_focused()
    violations += csp_violations_read(page)

    page.goto(f"{live_server.url}/p/{petition.slug}/embed/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Release the Browser Five")
    expect(page.locator("[data-count-label]")).to_have_text("42 of 100 signatures")
    link = page.get_by_role("link", name=re.compile("Sign this petition"))
    expect(link).to_have_attribute("target", "_blank")
    violations += csp_violations_read(page)

    assert violations == []


@contextlib.contextmanager
def partner_site(html: str) -> Iterator[str]:
    """A one-page web server of another origin (127.0.0.1, where the live server is
    localhost) that answers every GET with ``html``; yields its URL.

    A real server rather than a Playwright route: Chromium treats a routed page as public,
    and public pages may not frame loopback addresses, whatever our policy says.
    """

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_partner_site_may_frame_the_embed_but_not_the_campaign_page(
    page: Page, live_server: Any, petition: Petition
) -> None:
    assert live_server.url.startswith("http://localhost:"), live_server.url
    embed = f"{live_server.url}/p/{petition.slug}/embed/"
    html = (
        f'<!doctype html><title>Partner</title><iframe id="embed" src="{embed}"></iframe>'
        f'<iframe id="campaign" src="{campaign_url(live_server, petition)}"></iframe>'
    )

    violations = csp_violations_watch(page)

    with partner_site(html) as partner:
        page.goto(partner)

        framed = page.frame_locator("#embed")
        expect(framed.get_by_role("heading", level=1)).to_have_text("Release the Browser Five")
        expect(framed.get_by_role("link", name=re.compile("Sign this petition"))).to_be_visible()
        # The campaign page has a form: the browser refuses to frame it, and says why.
        deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
        while not any("frame-ancestors 'none'" in text for text in violations):
            if time.monotonic() > deadline:
                pytest.fail(f"the campaign page was not refused a frame; console: {violations}")
            page.wait_for_timeout(50)
        expect(page.frame_locator("#campaign").locator("body")).not_to_contain_text(
            "Free the Browser Five"
        )
    assert [text for text in violations if "frame-ancestors 'none'" not in text] == []


# Organisation.website is a URLField, whose admin form field warns about Django 6's default
# scheme; that warning is not this test's subject (and becomes an error, so a 500, here).
def test_the_admin_works_under_the_policy(page: Page, live_server: Any, petition: Petition) -> None:
    violations = csp_violations_watch(page)
    User.objects.create_superuser("csp-admin", "csp-admin@example.org", "a long pass phrase")
    services.signature_create(petition=petition, email="admin-view@example.org", name="A B")

    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("csp-admin")
    page.get_by_label("Password").fill("a long pass phrase")
    page.get_by_role("button", name="Log in").click()
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


# --- Proof of work --------------------------------------------------------------------------


def test_a_petition_that_asks_for_proof_of_work_is_signed_with_the_browsers_own_solution(
    page: Page, live_server: Any, outbox_dir: Path, settings: Any
) -> None:
    # So long a wait that only a solved challenge can get this signature in.
    settings.CHALLENGE_WAIT_SECONDS = 600
    petition = petition_create(
        campaign=campaign_create(slug="work-campaign", title="Free the Working Five"),
        slug="work-petition",
        title="Release the Working Five",
        challenge_required=True,
    )
    violations = csp_violations_watch(page)
    page.goto(campaign_url(live_server, petition))
    status = page.get_by_role("status")
    expect(status).to_be_hidden()  # nothing to say until the person starts

    # Filled in and sent without a single focus or input event (as some autofill does): the
    # solver starts only on submission, which waits for it instead of going without.
    page.get_by_label("Your name").evaluate("el => { el.value = 'Vera Zasulich'; }")
    page.get_by_label("Your email").evaluate("el => { el.value = 'vera@example.org'; }")
    assert page.locator("input[name=altcha]").input_value() == ""
    page.locator("form.sign-form").evaluate("form => form.requestSubmit()")

    expect(page).to_have_url(page_url(live_server, f"/p/{petition.slug}/thanks/"))
    assert mail_read(outbox_dir)["To"] == "vera@example.org"
    assert Signature.objects.get(petition=petition).status == Signature.Status.PENDING
    assert violations + csp_violations_read(page) == []


def test_the_solver_finishes_in_the_background_and_says_so(
    page: Page, live_server: Any, petition: Petition
) -> None:
    Petition.objects.filter(pk=petition.pk).update(challenge_required=True)
    page.goto(campaign_url(live_server, petition))

    page.get_by_label("Your name").focus()

    expect(page.get_by_role("status")).to_have_text("Check complete. You can sign.")
    payload = page.locator("input[name=altcha]").input_value()
    from trust.challenge import challenge_solution_accept

    assert challenge_solution_accept(petition_id=petition.pk, payload=payload)


def test_a_browser_that_cannot_solve_waits_out_the_fallback_and_signs(
    page: Page, live_server: Any, outbox_dir: Path, petition: Petition, settings: Any
) -> None:
    settings.CHALLENGE_WAIT_SECONDS = 2
    Petition.objects.filter(pk=petition.pk).update(challenge_required=True)
    # No Web Crypto, as on a page served over plain HTTP from anywhere but localhost.
    page.add_init_script("Object.defineProperty(window.crypto, 'subtle', {value: undefined})")
    page.goto(campaign_url(live_server, petition))

    page.get_by_role("button", name="Sign", exact=True).focus()
    page.get_by_label("Your name").fill("Lev Tolstoy")
    page.get_by_label("Your email").fill("lev@example.org")
    page.get_by_role("button", name="Sign", exact=True).click()

    expect(page.get_by_role("status")).to_have_text(
        "Please wait a moment, then your signature is sent…"
    )
    expect(page).to_have_url(page_url(live_server, f"/p/{petition.slug}/thanks/"))
    assert Signature.objects.get(petition=petition).status == Signature.Status.PENDING


def test_with_javascript_off_a_challenge_petition_is_signed_after_a_short_wait(
    page: Page,
    live_server: Any,
    outbox_dir: Path,
    petition: Petition,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from trust import challenge

    Petition.objects.filter(pk=petition.pk).update(challenge_required=True)
    # The live server runs in this process: its challenge clock is the one moved here.
    now = [time.time()]
    monkeypatch.setattr(challenge, "_now", lambda: now[0])
    browser = page.context.browser
    assert browser is not None
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    try:
        no_js = context.new_page()
        no_js.goto(campaign_url(live_server, petition))
        no_js.get_by_label("Your name").fill("Lev Tolstoy")
        no_js.get_by_label("Your email").fill("lev@example.org")
        # Pressed too soon: the page asks, politely, to press again.
        no_js.get_by_role("button", name="Sign", exact=True).click()
        expect(no_js.get_by_role("alert")).to_contain_text("please wait a few seconds")
        expect(no_js.get_by_label("Your email")).to_have_value("lev@example.org")
        assert not Signature.objects.exists()

        now[0] += django_settings.CHALLENGE_WAIT_SECONDS
        no_js.get_by_role("button", name="Sign", exact=True).click()

        expect(no_js).to_have_url(page_url(live_server, f"/p/{petition.slug}/thanks/"))
    finally:
        context.close()
    assert Signature.objects.get(petition=petition).status == Signature.Status.PENDING


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
