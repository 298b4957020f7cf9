"""The development backend: one readable .eml file per message, links on the console."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage as ParsedMessage
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from mailer.backends import LocalOutboxBackend
from mailer.models import OutboxMessage
from mailer.services import outbox_message_send
from tests.factories import petition_create, signature_create

CONFIRM_URL = "http://127.0.0.1:8000/confirm/abc123/"
CODE_URL = "http://127.0.0.1:8000/p/free-them/confirm/"
TEXT = "\n".join(
    [
        "Здравствуйте, Анна!",
        "",
        "Подтвердите подпись:",
        CONFIRM_URL,
        "",
        "Или введите код:",
        CODE_URL,
        "",
    ]
)
HTML = f'<p>Здравствуйте, Анна!</p><p><a href="{CONFIRM_URL}">Подтвердить</a></p>'


def message_make(subject: str = "Подтвердите подпись: Свободу всем") -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=subject,
        body=TEXT,
        from_email="Sbor <no-reply@localhost>",
        to=["anna@example.org"],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(HTML, "text/html")
    return message


def parse(path: Path) -> ParsedMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, ParsedMessage)
    return parsed


def subject_of(parsed: ParsedMessage) -> str:
    # A long encoded subject is folded onto the next line ("Subject:\n =?utf-8?b?...");
    # the parser keeps the folding space in front, which mail clients drop.
    return str(parsed["Subject"]).strip()


def test_each_message_becomes_one_eml_file_in_the_outbox_dir(tmp_path):
    backend = LocalOutboxBackend(outbox_dir=tmp_path / "outbox")

    sent = backend.send_messages([message_make("First"), message_make("Second")])

    assert sent == 2
    files = sorted((tmp_path / "outbox").iterdir())
    assert len(files) == 2
    assert all(path.suffix == ".eml" for path in files)
    assert {subject_of(parse(path)) for path in files} == {"First", "Second"}


def test_the_outbox_dir_defaults_to_the_setting(settings, tmp_path):
    settings.OUTBOX_DIR = tmp_path / "from-settings"

    LocalOutboxBackend().send_messages([message_make()])

    assert len(list((tmp_path / "from-settings").glob("*.eml"))) == 1


def test_the_file_parses_with_headers_and_text_and_html_parts(tmp_path):
    LocalOutboxBackend(outbox_dir=tmp_path).send_messages([message_make()])

    [path] = tmp_path.glob("*.eml")
    parsed = parse(path)
    assert subject_of(parsed) == "Подтвердите подпись: Свободу всем"
    assert parsed["To"] == "anna@example.org"
    assert parsed["From"] == "Sbor <no-reply@localhost>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert text.get_content() == TEXT
    assert html.get_content().strip() == HTML


def test_cyrillic_is_readable_in_the_file_itself(tmp_path):
    LocalOutboxBackend(outbox_dir=tmp_path).send_messages([message_make()])

    [path] = tmp_path.glob("*.eml")
    raw = path.read_text(encoding="utf-8")
    # The bodies are 8-bit UTF-8, not base64 or quoted-printable: a developer can read them.
    assert "Здравствуйте, Анна!" in raw
    assert "Подтвердите подпись:" in raw
    assert "<p>Здравствуйте, Анна!</p>" in raw
    assert CONFIRM_URL in raw
    assert "\r\n" not in raw


def test_the_links_are_printed_to_the_console(tmp_path, capsys):
    LocalOutboxBackend(outbox_dir=tmp_path).send_messages([message_make()])

    [path] = tmp_path.glob("*.eml")
    out = capsys.readouterr().out
    assert f"[outbox] Подтвердите подпись: Свободу всем -> {path}" in out
    assert f"[outbox]   link: {CONFIRM_URL}" in out
    assert f"[outbox]   link: {CODE_URL}" in out
    assert out.count("link:") == 2


def test_nothing_is_written_or_printed_for_no_messages(tmp_path, capsys):
    assert LocalOutboxBackend(outbox_dir=tmp_path / "outbox").send_messages([]) == 0

    assert list((tmp_path / "outbox").iterdir()) == []
    assert capsys.readouterr().out == ""


@pytest.mark.django_db
def test_a_real_confirmation_email_lands_in_the_outbox_dir(settings, tmp_path, capsys):
    settings.EMAIL_BACKEND = "mailer.backends.LocalOutboxBackend"
    settings.OUTBOX_DIR = tmp_path
    petition = petition_create(title="Свободу политзаключённым")
    signature = signature_create(petition=petition, name="Анна", language="ru")
    message = OutboxMessage.objects.get(about__signature=str(signature.pk))

    assert outbox_message_send(message_id=message.pk).status == OutboxMessage.Status.SENT

    assert mail.outbox == []
    [path] = tmp_path.glob("*.eml")
    parsed = parse(path)
    assert subject_of(parsed) == "Подтвердите подпись: Свободу политзаключённым"
    assert parsed["Auto-Submitted"] == "auto-generated"
    raw = path.read_text(encoding="utf-8")
    assert "Здравствуйте!" in raw
    assert "Анна" not in raw  # nothing the signer typed, before they confirm
    assert "Свободу политзаключённым" in raw
    out = capsys.readouterr().out
    assert f"link: {settings.SITE_URL}/confirm/" in out
    assert f"link: {settings.SITE_URL}/p/{petition.slug}/confirm/" in out


def test_punctuation_around_a_link_is_not_printed_as_part_of_it(tmp_path, capsys):
    body = (
        f"Read [the update]({CONFIRM_URL}) now.\n"
        f"Or <{CODE_URL}>.\n"
        "See http://127.0.0.1:8000/c/free-them/.\n"
    )
    message = EmailMultiAlternatives("Update", body, "from@example.org", ["to@example.org"])

    LocalOutboxBackend(outbox_dir=tmp_path).send_messages([message])

    out = capsys.readouterr().out
    assert f"[outbox]   link: {CONFIRM_URL}\n" in out
    assert f"[outbox]   link: {CODE_URL}\n" in out
    assert "[outbox]   link: http://127.0.0.1:8000/c/free-them/\n" in out
    assert ")" not in out.split("link:", 1)[1]
