"""The site and its emails speak Russian completely, with correct Russian plurals."""

# Russian text is the point of this file, so Cyrillic letters that look Latin are expected.
# ruff: noqa: RUF001

from __future__ import annotations

import gettext
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import call_command
from django.utils import translation

from mailer.models import OutboxMessage
from mailer.services import email_render
from petitions import emails
from petitions.selectors import petition_count_label
from tests.factories import latest_attempt, petition_create, post_and_run_tasks, signature_create

LOCALE_DIR = Path(django_settings.BASE_DIR) / "locale" / "ru" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"
RUSSIAN_PLURAL_FORMS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
    "(n%100<10 || n%100>=20) ? 1 : 2);"
)
# A count that selects each Russian plural form: 1 → [0], 2 → [1], 5 → [2].
COUNT_FOR_FORM = (1, 2, 5)


# --- A small .po reader (polib is not a dependency) ----------------------------------------


@dataclass
class PoEntry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    def translations(self) -> list[str]:
        if self.msgid_plural is None:
            return [self.msgstr]
        return [self.msgstr_plural[n] for n in sorted(self.msgstr_plural)]


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+"(.*)"\s*$')
_CONTINUATION = re.compile(r'^"(.*)"\s*$')


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), text)


def po_entries(path: Path) -> list[PoEntry]:
    """Entries of a .po file, the header included; obsolete (#~) entries are skipped."""
    entries: list[PoEntry] = []
    entry = PoEntry()
    seen_keyword = False
    target: tuple[str, int | None] | None = None

    def finish() -> None:
        nonlocal entry, seen_keyword, target
        if seen_keyword:
            entries.append(entry)
        entry, seen_keyword, target = PoEntry(), False, None

    def append(text: str) -> None:
        assert target is not None, f"string without a keyword in {path}"
        name, index = target
        if name == "msgstr" and index is not None:
            entry.msgstr_plural[index] = entry.msgstr_plural.get(index, "") + text
        elif name in {"msgid_plural", "msgctxt"}:
            setattr(entry, name, (getattr(entry, name) or "") + text)
        else:
            setattr(entry, name, getattr(entry, name) + text)

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#~"):
            continue
        elif line.startswith("#,"):
            if seen_keyword:
                finish()
            entry.flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
        elif line.startswith("#"):
            if seen_keyword:
                finish()
        elif match := _KEYWORD.match(line):
            keyword, index, text = match.groups()
            if (
                keyword in {"msgctxt", "msgid"}
                and seen_keyword
                and target
                and target[0] == "msgstr"
            ):
                finish()
            seen_keyword = True
            if keyword.startswith("msgstr"):
                target = ("msgstr", int(index) if index is not None else None)
            else:
                target = (keyword, None)
                if keyword != "msgid":
                    setattr(entry, keyword, "")
            append(_unescape(text))
        elif match := _CONTINUATION.match(line):
            append(_unescape(match.group(1)))
        else:
            raise AssertionError(f"cannot read this line of {path}: {raw!r}")
    finish()
    return entries


def po_header(entries: list[PoEntry]) -> dict[str, str]:
    header = next(entry for entry in entries if entry.is_header)
    pairs = (line.split(":", 1) for line in header.msgstr.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def po_messages(entries: list[PoEntry]) -> list[PoEntry]:
    return [entry for entry in entries if not entry.is_header]


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\([a-z_]+\)[sd]", text))


# --- The catalogue ----------------------------------------------------------------------------


def test_the_russian_catalogue_uses_the_standard_russian_plural_rule():
    header = po_header(po_entries(PO_FILE))

    assert header["Language"] == "ru"
    assert header["Plural-Forms"] == RUSSIAN_PLURAL_FORMS
    assert header["Content-Type"] == "text/plain; charset=UTF-8"


def test_every_message_is_translated_into_russian():
    messages = po_messages(po_entries(PO_FILE))

    assert len(messages) > 50, "the .po file looks truncated"
    untranslated = [entry.msgid for entry in messages if not all(entry.translations())]
    fuzzy = [entry.msgid for entry in messages if "fuzzy" in entry.flags]
    wrong_plural_count = [
        entry.msgid
        for entry in messages
        if entry.msgid_plural is not None and sorted(entry.msgstr_plural) != [0, 1, 2]
    ]
    assert untranslated == []
    assert fuzzy == []
    assert wrong_plural_count == []
    assert "fuzzy" not in next(entry for entry in po_entries(PO_FILE) if entry.is_header).flags


def test_the_catalogue_holds_every_translatable_string_in_the_code(tmp_path, monkeypatch):
    """A string marked for translation but never added to the .po would show in English
    to Russian readers. makemessages (GNU gettext) runs over a copy of the code and its
    catalogue, so the real catalogue is never touched, and must find nothing new."""
    base = Path(django_settings.BASE_DIR)
    for folder in ("campaigns", "config", "mailer", "petitions", "templates", "locale"):
        shutil.copytree(base / folder, tmp_path / folder, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=["ru"], no_obsolete=True, verbosity=0)

    refreshed = po_messages(po_entries(tmp_path / "locale" / "ru" / "LC_MESSAGES" / "django.po"))
    known = {entry.msgid for entry in po_messages(po_entries(PO_FILE))}
    new = [entry.msgid for entry in refreshed if entry.msgid not in known]
    assert new == [], "run `make messages` and translate the new strings"


def test_every_translation_keeps_the_placeholders_of_its_message():
    mismatched = []
    for entry in po_messages(po_entries(PO_FILE)):
        expected = _placeholders(entry.msgid)
        for translated in entry.translations():
            if _placeholders(translated) != expected:
                mismatched.append((entry.msgid, translated))

    assert mismatched == []


def test_compiled_messages_match_the_po_file():
    with MO_FILE.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in po_messages(po_entries(PO_FILE)):
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            if compiled.gettext(msgid) != entry.msgstr:
                stale.append(entry.msgid)
            continue
        for form, count in enumerate(COUNT_FOR_FORM):
            if compiled.ngettext(msgid, entry.msgid_plural, count) != entry.msgstr_plural[form]:
                stale.append(f"{entry.msgid} [{form}]")

    assert stale == [], "run: manage.py compilemessages --locale ru"
    assert compiled.info()["plural-forms"] == RUSSIAN_PLURAL_FORMS
    assert len(compiled._catalog) - 1 == sum(  # minus the header
        1 if entry.msgid_plural is None else 3 for entry in po_messages(po_entries(PO_FILE))
    ), "the .mo file holds messages that the .po file does not"


# --- Plurals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "goal", "expected"),
    [
        (0, 100, "0 подписей из 100"),
        (1, 100, "1 подпись из 100"),
        (2, 100, "2 подписи из 100"),
        (4, 100, "4 подписи из 100"),
        (5, 100, "5 подписей из 100"),
        (11, 100, "11 подписей из 100"),
        (12, 100, "12 подписей из 100"),
        (21, 100, "21 подпись из 100"),
        (22, 100, "22 подписи из 100"),
        (111, 500, "111 подписей из 500"),
        (1001, 5000, "1\xa0001 подпись из 5\xa0000"),
    ],
)
def test_count_label_uses_russian_plural_forms(count, goal, expected):
    with translation.override("ru"):
        assert petition_count_label(count=count, goal=goal) == expected


def test_count_label_stays_english_for_english():
    with translation.override("en"):
        assert petition_count_label(count=5, goal=100) == "5 of 100 signatures"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (1, "1 день"),
        (2, "2 дня"),
        (5, "5 дней"),
        (11, "11 дней"),
        (21, "21 день"),
        (111, "111 дней"),
    ],
)
def test_confirmation_email_says_how_many_days_the_link_works_in_russian(settings, days, expected):
    settings.CONFIRM_MAX_AGE_DAYS = days
    signature = signature_create(language="ru")
    message = OutboxMessage(
        kind=emails.SIGNATURE_CONFIRM,
        recipient_ref=f"petitions.supporter:{signature.supporter_id}",
        about={
            "petition": str(signature.petition_id),
            "signature": str(signature.pk),
            "sign_attempt": str(latest_attempt(signature).pk),
        },
        language="ru",
    )

    rendered = email_render(message=message)

    assert f"Ссылка и код действуют {expected}." in rendered.text
    assert f"Ссылка и код действуют {expected}." in rendered.html


# --- Pages ------------------------------------------------------------------------------------


def _switcher_offers_russian(html: str) -> bool:
    return 'action="/i18n/setlang/"' in html and 'name="language" value="ru"' in html


@pytest.mark.django_db
def test_campaign_page_is_in_russian_for_a_russian_browser(client):
    petition = petition_create()

    response = client.get(f"/c/{petition.campaign.slug}/", HTTP_ACCEPT_LANGUAGE="ru")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ru">' in html
    assert "Подписать петицию" in html
    assert ">Подписать</button>" in html
    assert "Ваше имя" in html
    assert "Не показывать моё имя" in html
    assert "0 подписей из 100" in html
    assert "Присылайте мне новости об этой кампании" in html
    assert "Sign the petition" not in html


@pytest.mark.django_db
def test_campaign_page_stays_english_for_an_english_browser(client):
    petition = petition_create()

    response = client.get(f"/c/{petition.campaign.slug}/", HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Sign the petition" in html
    assert "Подписать петицию" not in html


@pytest.mark.django_db
def test_sign_form_errors_are_in_russian(client):
    petition = petition_create()

    response = post_and_run_tasks(
        client,
        f"/p/{petition.slug}/sign/",
        {"name": "", "email": "not-an-address", "display": "hidden"},
        HTTP_ACCEPT_LANGUAGE="ru",
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert "Пожалуйста, исправьте следующее:" in html
    assert "Пожалуйста, укажите ваше имя." in html
    assert "Введите адрес электронной почты в виде name@example.org." in html


@pytest.mark.django_db
def test_thanks_page_offers_vkontakte_in_russian(client):
    petition = petition_create()

    response = client.get(f"/p/{petition.slug}/thanks/", HTTP_ACCEPT_LANGUAGE="ru")

    html = response.content.decode()
    assert "Спасибо! Остался один шаг: проверьте почту" in html
    assert "ВКонтакте" in html
    assert "Telegram" in html


@pytest.mark.django_db
def test_language_switcher_sets_the_language(client):
    petition = petition_create()
    campaign_url = f"/c/{petition.campaign.slug}/"

    response = client.post("/i18n/setlang/", {"language": "ru", "next": campaign_url}, follow=True)

    html = response.content.decode()
    assert response.redirect_chain == [(campaign_url, 302)]
    assert client.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "ru"
    assert '<html lang="ru">' in html
    assert "Подписать петицию" in html
    # The choice sticks for the next page, whatever the browser asks for.
    later = client.get(f"/p/{petition.slug}/thanks/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="ru">' in later.content.decode()


@pytest.mark.django_db
def test_language_switcher_is_on_every_page(client):
    petition = petition_create()
    pages = [
        f"/c/{petition.campaign.slug}/",
        f"/p/{petition.slug}/thanks/",
        f"/p/{petition.slug}/confirm/",
        "/",
        "/no-such-page/",
    ]

    for url in pages:
        response = client.get(url)
        assert _switcher_offers_russian(response.content.decode()), url


@pytest.mark.django_db
def test_not_found_page_is_in_russian_for_a_russian_browser(client):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="ru")

    html = response.content.decode()
    assert response.status_code == 404
    assert '<html lang="ru">' in html
    assert "Страница не найдена" in html
    assert _switcher_offers_russian(html)


@pytest.mark.django_db
def test_count_api_label_is_in_the_requested_language(client):
    petition = petition_create()

    response = client.get(f"/api/v1/petitions/{petition.slug}/count/", HTTP_ACCEPT_LANGUAGE="ru")

    assert response.json()["label"] == "0 подписей из 100"


# --- Emails -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_confirmation_email_is_in_the_signers_language(
    client, settings, django_capture_on_commit_callbacks
):
    settings.CONFIRM_MAX_AGE_DAYS = 14
    petition = petition_create(title="Свободу Ивану")

    with django_capture_on_commit_callbacks(execute=True):
        response = post_and_run_tasks(
            client,
            f"/p/{petition.slug}/sign/",
            {"name": "Анна", "email": "anna@example.org", "display": "hidden"},
            HTTP_ACCEPT_LANGUAGE="ru",
        )

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    html, mimetype = message.alternatives[0]
    assert message.subject == "Подтвердите подпись: Свободу Ивану"
    assert message.body.startswith("Здравствуйте!\n")
    assert "Спасибо, что подписали петицию «Свободу Ивану»." in message.body
    assert "Ссылка и код действуют 14 дней." in message.body
    assert "Письмо отправлено через Sbor от имени организации" in message.body
    assert mimetype == "text/html"
    assert '<html lang="ru">' in html
    assert "Здравствуйте!" in html
    assert "Анна" not in message.body + html  # nothing the signer typed
    assert "Подтвердить подпись</a>" in html
    assert "Ссылка и код действуют 14 дней." in html


@pytest.mark.django_db
def test_confirmation_email_is_in_english_for_an_english_signer(
    client, django_capture_on_commit_callbacks
):
    petition = petition_create(title="Free Ivan")

    with django_capture_on_commit_callbacks(execute=True):
        post_and_run_tasks(
            client,
            f"/p/{petition.slug}/sign/",
            {"name": "Anna", "email": "anna@example.org", "display": "hidden"},
            HTTP_ACCEPT_LANGUAGE="en",
        )

    assert mail.outbox[0].subject == "Confirm your signature: Free Ivan"
    assert mail.outbox[0].body.startswith("Hello,\n")


@pytest.mark.django_db
def test_already_signed_email_is_in_russian(client, django_capture_on_commit_callbacks):
    petition = petition_create(title="Свободу Ивану")
    signature_create(
        petition=petition, email="anna@example.org", name="Анна", language="ru", confirmed=True
    )

    with django_capture_on_commit_callbacks(execute=True):
        post_and_run_tasks(
            client,
            f"/p/{petition.slug}/sign/",
            {"name": "Анна", "email": "anna@example.org", "display": "hidden"},
            HTTP_ACCEPT_LANGUAGE="ru",
        )

    message = mail.outbox[-1]
    assert message.subject == "Вы уже подписали петицию: Свободу Ивану"
    assert "Вы уже подписали её" in message.body
    assert "Вы уже подписали её" in message.alternatives[0][0]
