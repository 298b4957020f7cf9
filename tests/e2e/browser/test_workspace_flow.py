"""An organisation's first owner, in Chromium, from the invitation to a signed petition; and
a viewer who cannot publish.

The owner (laptop) accepts the invitation made with ``manage.py organisation_invite``,
chooses a password, sets up two-factor authentication from the key the page shows, keeps
the recovery codes, writes a campaign in Russian, previews its story, adds a petition with
the keyboard alone, publishes the campaign, opens the petition and invites a viewer. A
supporter (phone) signs on the public page and confirms from the email. The viewer (phone,
Russian) joins and finds no "Publish" on a draft; a POST forced from their browser is
refused and changes nothing. The owner then signs in again on a phone with a recovery code.

No page breaks the Content-Security-Policy. Screenshots go to ``var/test/artifacts/``;
``workspace-editor.png`` and ``workspace-campaigns.png`` are the README's pictures (copied to
``docs/screenshots/`` by hand when the pages change).
"""

from __future__ import annotations

import base64
import email
import email.policy
import io
import re
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django_otp.oath import totp
from playwright.sync_api import BrowserContext, Locator, Page, expect

from campaigns.models import Campaign, Membership, Role
from petitions import services
from petitions.demo.loader import ORGANISATION_SLUG, demo_load
from petitions.models import Petition, Signature
from tests.e2e.browser.helpers import (
    MAIL_TIMEOUT,
    PAGE_TIMEOUT_MS,
    csp_violations_read,
    csp_violations_watch,
)

pytestmark = pytest.mark.e2e

ARTIFACTS_DIR = Path(settings.VAR_DIR) / "artifacts"
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

OWNER = "anna.owner@example.org"
VIEWER = "viktor.viewer@example.org"
SUPPORTER = "maria.supporter@example.org"
PASSWORD = "Long walks by the Neva 1703"

CAMPAIGN_TITLE = "Свободу узникам совести"
STORY = (
    "Мы помогаем людям, которых преследуют за их слова.\n\n"
    "## Что мы просим\n\n"
    "- справедливого суда;\n"
    "- адвоката в первый час задержания."
)
PETITION_TITLE = "Освободите узников совести"
COPY_TITLE = "Свободу узникам совести в Перми"


# --- Mail, codes, keys ----------------------------------------------------------------------


def mails_to(folder: Path, address: str) -> list[EmailMessage]:
    """The messages to ``address`` in the outbox folder, oldest first."""
    found = []
    for path in sorted(folder.glob("*.eml"), key=lambda path: path.stat().st_mtime_ns):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        if message["To"] == address:
            found.append(message)
    return found


def link_mailed(folder: Path, address: str, pattern: str) -> str:
    """The one link matching ``pattern`` in the newest message to ``address``."""
    deadline = time.monotonic() + MAIL_TIMEOUT
    while not (messages := mails_to(folder, address)):
        if time.monotonic() > deadline:
            pytest.fail(f"no email to {address} in {folder} after {MAIL_TIMEOUT:.0f}s")
        time.sleep(0.05)
    part = messages[-1].get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    text = str(part.get_content())
    links = set(re.findall(pattern, text))
    assert len(links) == 1, text
    return links.pop()


def totp_now(secret_shown: str) -> str:
    """The code an authenticator app shows for the key as the page shows it (base32, in
    groups of four)."""
    secret = secret_shown.replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


def tab_to(page: Page, target: Locator, *, limit: int = 80) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"{target} was never reached with Tab")


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS_DIR / name, full_page=True)


class CspWatch:
    """Every CSP violation reported in the pages it watches: the console's messages, and
    what each document recorded (``read`` collects it, before the page moves on)."""

    def __init__(self) -> None:
        self.console: list[list[str]] = []
        self.recorded: list[str] = []

    def watch(self, page: Page) -> Page:
        self.console.append(csp_violations_watch(page))
        return page

    def read(self, page: Page) -> None:
        self.recorded += csp_violations_read(page)

    @property
    def violations(self) -> list[str]:
        return [*self.recorded, *(text for texts in self.console for text in texts)]


@pytest.fixture
def csp() -> CspWatch:
    return CspWatch()


@pytest.fixture
def new_context(page: Page) -> Iterator[Any]:
    """More browser contexts (other people, other screens) from the same Chromium."""
    contexts: list[BrowserContext] = []

    def make(*, viewport: dict[str, int], locale: str = "en-GB") -> Page:
        browser = page.context.browser
        assert browser is not None
        context = browser.new_context(locale=locale, viewport=viewport, has_touch=True)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


# --- The flow, step by step -----------------------------------------------------------------


def owner_joins(page: Page, live_server: Any, outbox_dir: Path, csp: CspWatch) -> list[str]:
    """The first owner accepts the invitation, chooses a password and sets up two-factor
    authentication; returns the recovery codes the page showed."""
    said = io.StringIO()
    call_command("organisation_invite", ORGANISATION_SLUG, OWNER, "--role", "owner", stdout=said)
    assert f"Invited {OWNER} to Russia Behind Bars as owner" in said.getvalue()
    link = link_mailed(
        outbox_dir, OWNER, rf"{re.escape(live_server.url)}/workspace/invitations/[^/\s]+/"
    )

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Invitation to join Russia Behind Bars"
    )
    expect(page.get_by_label("Email address (you sign in with it)")).to_have_value(OWNER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    csp.read(page)
    page.get_by_role("button", name="Create my account and join Russia Behind Bars").click()

    # Owners need a second factor for everything: joining leads straight to setting it up.
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor authentication")
    expect(page.get_by_text("Welcome to Russia Behind Bars! You joined as: Owner.")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator(".ws-secret").inner_text()
    # Keyboard only: from the top of the page to the password (setting up asks for it
    # again), on to the code field, then Enter.
    tab_to(page, page.get_by_label("Your password"))
    page.keyboard.type(PASSWORD)
    code_field = page.get_by_label("Code from your authenticator app")
    tab_to(page, code_field)
    page.keyboard.type(totp_now(secret))
    csp.read(page)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    codes = page.locator(".ws-codes code").all_inner_texts()
    assert len(codes) >= 5 and all(re.fullmatch(r"\w{4}-\w{4}", code) for code in codes), codes
    csp.read(page)
    page.get_by_role("link", name="I have saved my codes, continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Campaigns")
    return codes


def campaign_written(page: Page, csp: CspWatch) -> Campaign:
    """A campaign in Russian, previewed, then saved as a draft."""
    page.get_by_role("link", name="New campaign").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New campaign")
    page.get_by_label("Title").fill(CAMPAIGN_TITLE)
    page.get_by_label("Summary").fill("Мы собираем подписи за узников совести.")
    page.get_by_label("Story").fill(STORY)
    page.get_by_label("Language of the texts").select_option("ru")
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#preview")
    expect(preview.get_by_role("heading", name="Что мы просим")).to_be_visible()
    expect(preview.get_by_role("listitem")).to_have_count(2)
    expect(preview.locator(".ws-preview__title")).to_have_text(CAMPAIGN_TITLE)
    # The preview saves nothing, and keeps what was typed.
    assert not Campaign.objects.filter(title=CAMPAIGN_TITLE).exists()
    expect(page.get_by_label("Title")).to_have_value(CAMPAIGN_TITLE)
    screenshot(page, "workspace-editor.png")
    csp.read(page)

    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CAMPAIGN_TITLE)
    expect(page.get_by_text("Campaign saved as a draft.")).to_be_visible()
    campaign = Campaign.objects.get(title=CAMPAIGN_TITLE)
    assert campaign.status == Campaign.Status.DRAFT
    # The address was made from the Russian title, in Latin letters.
    assert re.fullmatch(r"[a-z0-9-]+", campaign.slug), campaign.slug
    return campaign


def petition_added_with_the_keyboard(page: Page, csp: CspWatch) -> Petition:
    page.get_by_role("link", name="New petition").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New petition")
    for label, text in [
        ("Title of the petition", PETITION_TITLE),
        ("What the petition asks for", "Освободить всех, кого держат под стражей за слова."),
        ("Decision maker: name", "Генеральная прокуратура"),
    ]:
        tab_to(page, page.get_by_label(label))
        page.keyboard.type(text)
    # Enter in a one-line field sends the form with its first button, "Create the petition".
    csp.read(page)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text(PETITION_TITLE)
    expect(page.get_by_text("The petition was created as a draft.")).to_be_visible()
    petition = Petition.objects.get(title=PETITION_TITLE)
    assert (petition.status, petition.language) == (Petition.Status.DRAFT, "ru")
    return petition


def published(page: Page, campaign: Campaign, petition: Petition, csp: CspWatch) -> None:
    """Publish the campaign, then open its petition for signatures."""
    page.get_by_role("link", name=CAMPAIGN_TITLE).click()
    page.get_by_role("link", name="Publish…").click()
    expect(page.get_by_text("The address cannot change afterwards")).to_be_visible()
    page.get_by_role("button", name="Publish now").click()
    expect(page.get_by_text("Published. The campaign's page is public now")).to_be_visible()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PUBLISHED

    page.get_by_role("link", name=PETITION_TITLE).click()
    page.get_by_role("button", name="Open for signatures").click()
    expect(page.get_by_text("The petition is open for signatures.")).to_be_visible()
    petition.refresh_from_db()
    assert petition.status == Petition.Status.OPEN
    csp.read(page)


def supporter_signs(
    page: Page, live_server: Any, outbox_dir: Path, campaign: Campaign, csp: CspWatch
) -> None:
    """On a phone: the public page, the sign form, the email's link, the confirmation."""
    page.goto(f"{live_server.url}/c/{campaign.slug}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(CAMPAIGN_TITLE)
    expect(page.get_by_role("heading", name=PETITION_TITLE)).to_be_visible()
    page.get_by_label("Your name").fill("Maria Ivanova")
    page.get_by_label("Your email").fill(SUPPORTER)
    page.get_by_label("First name and initial").check()
    csp.read(page)
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you! One more step: check your email"
    )
    csp.read(page)

    page.goto(link_mailed(outbox_dir, SUPPORTER, rf"{re.escape(live_server.url)}/confirm/[^/\s]+/"))
    page.get_by_role("button", name="Confirm my signature").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your signature is confirmed")
    csp.read(page)
    assert Signature.objects.get().status == Signature.Status.CONFIRMED


def viewer_invited(page: Page, live_server: Any, outbox_dir: Path, csp: CspWatch) -> str:
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Email address", exact=True).fill(VIEWER)
    page.get_by_label("Role", exact=True).select_option(Role.VIEWER)
    csp.read(page)
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text(f"Invitation sent to {VIEWER}.")).to_be_visible()
    csp.read(page)
    return link_mailed(
        outbox_dir, VIEWER, rf"{re.escape(live_server.url)}/workspace/invitations/[^/\s]+/"
    )


def viewer_joins_in_russian(page: Page, link: str, csp: CspWatch) -> None:
    """On a phone, in Russian, with the keyboard alone: the password twice, then Enter."""
    page.goto(link)
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Приглашение в организацию «Russia Behind Bars»"
    )
    tab_to(page, page.get_by_label("Пароль", exact=True))
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Пароль ещё раз")).to_be_focused()
    page.keyboard.type(PASSWORD)
    csp.read(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Кампании")
    csp.read(page)


def viewer_cannot_publish(page: Page, draft: Campaign, csp: CspWatch) -> None:
    page.get_by_role("link", name=draft.title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(draft.title)
    expect(page.get_by_role("link", name="Опубликовать…")).to_have_count(0)
    expect(page.get_by_role("button", name="Опубликовать")).to_have_count(0)
    expect(page.get_by_role("link", name="Редактировать тексты")).to_have_count(0)
    screenshot(page, "workspace-viewer-phone.png")
    csp.read(page)

    # A hand-made form, sent from the viewer's own page with their session and token.
    page.evaluate(
        """(url) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = url;
            const token = document.querySelector("input[name=csrfmiddlewaretoken]");
            form.append(token.cloneNode());
            document.body.append(form);
            form.submit();
        }""",
        f"/workspace/{ORGANISATION_SLUG}/campaigns/{draft.public_id}/publish/",
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Ваша роль не позволяет это сделать")
    csp.read(page)
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.DRAFT


def owner_signs_in_with_a_recovery_code(
    page: Page, live_server: Any, code: str, csp: CspWatch
) -> None:
    page.goto(f"{live_server.url}/workspace/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the workspace")
    page.get_by_label("Email address").fill(OWNER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor authentication")
    page.get_by_text("No access to your app? Use a recovery code").click()
    page.get_by_label("Recovery code").fill(code)
    csp.read(page)
    page.get_by_role("button", name="Use this recovery code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Campaigns")
    screenshot(page, "workspace-campaigns-phone.png")
    csp.read(page)


# --- The test -------------------------------------------------------------------------------


def test_an_owner_goes_from_the_invitation_to_a_signed_petition_and_a_viewer_cannot_publish(
    page: Page, new_context: Any, live_server: Any, outbox_dir: Path, csp: CspWatch
) -> None:
    demo_load()
    csp.watch(page)
    page.set_viewport_size(LAPTOP)

    codes = owner_joins(page, live_server, outbox_dir, csp)
    assert Membership.objects.get(user__username=OWNER).role == Role.OWNER

    campaign = campaign_written(page, csp)
    petition = petition_added_with_the_keyboard(page, csp)
    published(page, campaign, petition, csp)

    supporter = csp.watch(new_context(viewport=PHONE))
    supporter_signs(supporter, live_server, outbox_dir, campaign, csp)

    # The counts are kept by a periodic task; the list shows the stored ones.
    services.signature_counts_refresh()
    cache.clear()
    page.get_by_role("link", name="Campaigns").first.click()
    row = page.get_by_role("row").filter(has_text=CAMPAIGN_TITLE)
    expect(row).to_contain_text("Published")
    expect(row).to_contain_text("1 (1 open)")
    page.get_by_role("link", name=CAMPAIGN_TITLE).click()
    page.get_by_role("button", name="Duplicate as a new draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit campaign")
    page.get_by_label("Title").fill(COPY_TITLE)
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(COPY_TITLE)
    draft = Campaign.objects.get(status=Campaign.Status.DRAFT)
    assert draft.title == COPY_TITLE
    page.get_by_role("link", name="Campaigns").first.click()
    screenshot(page, "workspace-campaigns.png")
    csp.read(page)

    link = viewer_invited(page, live_server, outbox_dir, csp)
    viewer = csp.watch(new_context(viewport=PHONE, locale="ru-RU"))
    viewer_joins_in_russian(viewer, link, csp)
    viewer_cannot_publish(viewer, draft, csp)

    owner_on_phone = csp.watch(new_context(viewport=PHONE))
    owner_signs_in_with_a_recovery_code(owner_on_phone, live_server, codes[0], csp)

    assert csp.violations == []
