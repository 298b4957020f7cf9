"""None"""

# Russian text is the point of this file, so Cyrillic letters that look Latin are expected.

from __future__ import annotations

import gettext
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import translation

from mailer.models import OutboxMessage
from mailer.services import email_render
from petitions import emails
from petitions.selectors import petition_count_label
from tests.factories import latest_attempt, signature_create

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
    folders = ("campaigns", "common", "config", "mailer", "petitions", "trust", "updates")
    for folder in (*folders, "workspace", "templates", "locale"):
        if (base / folder).is_dir():
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
