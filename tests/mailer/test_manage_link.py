"""The email with a link to manage one's signatures, and mail to an address no longer kept."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client

from mailer import services
from mailer.models import OutboxMessage
from mailer.registry import UnknownEmailKindError
from mailer.services import NO_ADDRESS_ERROR, email_render, outbox_message_send
from petitions import emails
from petitions.models import Supporter
from tests.factories import petition_create, signature_create

pytestmark = pytest.mark.django_db

ADDRESS = "Anna.K@Example.ORG"


def supporter_create(**fields) -> Supporter:  # type: ignore[no-untyped-def]
    """A supporter who confirmed a signature: their name is the one they typed then."""
    fields.setdefault("email", ADDRESS)
    fields.setdefault("confirmed", True)
    signature = signature_create(**fields)
    assert signature.supporter is not None
    return signature.supporter


def html_of(email) -> str:  # type: ignore[no-untyped-def]
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    return html


def manage_url(text: str) -> str:
    match = re.search(r"https?://[^\s\"<]+/manage/[^/\s\"<]+/", text)
    assert match, "no manage link"
    return match.group(0)


def test_queuing_writes_a_row_about_the_supporter_alone(django_capture_on_commit_callbacks):
    supporter = supporter_create()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = emails.signature_manage_link_email_queue(supporter=supporter, language="ru")
    assert message.kind == emails.SIGNATURE_MANAGE_LINK
    assert message.recipient_ref == f"petitions.supporter:{supporter.pk}"
    assert message.about == {}
    assert message.language == "ru"
    assert message.status == OutboxMessage.Status.QUEUED
    assert len(callbacks) == 1


def test_a_message_without_a_language_takes_the_supporters():
    supporter = supporter_create(language="ru")
    message = emails.signature_manage_link_email_queue(supporter=supporter)
    assert message.language == "ru"


def test_a_message_needs_a_recipient():
    with pytest.raises(ValueError, match="needs a recipient"):
        services.outbox_message_queue(
            kind=emails.SIGNATURE_MANAGE_LINK, recipient_ref="", language="en"
        )


def test_a_message_of_a_kind_nobody_registered_is_refused():
    with pytest.raises(UnknownEmailKindError):
        services.outbox_message_queue(
            kind="no_such_email", recipient_ref="petitions.supporter:1", language="en"
        )
    assert not OutboxMessage.objects.exists()


def test_the_email_has_text_and_html_with_a_working_link(
    settings, django_capture_on_commit_callbacks
):
    supporter = supporter_create(name="Anna Karenina")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        emails.signature_manage_link_email_queue(supporter=supporter, language="en")
    [email] = mail.outbox
    assert email.to == [ADDRESS]
    assert email.from_email == settings.DEFAULT_FROM_EMAIL
    assert email.subject == "Your link to manage your signatures"
    assert email.extra_headers["Auto-Submitted"] == "auto-generated"
    html = html_of(email)
    for part in (email.body, html):
        assert "Hello Anna Karenina," in part
        assert manage_url(part).startswith(f"{settings.SITE_URL}/manage/")
        assert "The link works for 24 hours." in part
        assert (
            f"{settings.SITE_URL}/manage/\n" in part
            or f'href="{settings.SITE_URL}/manage/"' in part
        )
        assert "Sent by Sbor." in part
        assert "on behalf of" not in part
    assert manage_url(email.body) == manage_url(html)
    response = Client().get(urlsplit(manage_url(email.body)).path)
    assert response.status_code == 200
    assert "Anna Karenina" in response.content.decode()
    message = OutboxMessage.objects.get(kind=emails.SIGNATURE_MANAGE_LINK)
    assert message.status == OutboxMessage.Status.SENT


def test_the_email_is_in_the_language_asked_in():
    supporter = supporter_create(name="Анна")
    message = emails.signature_manage_link_email_queue(supporter=supporter, language="ru")
    rendered = email_render(message=message)
    assert "Здравствуйте, Анна!" in rendered.text
    assert '<html lang="ru">' in rendered.html


def test_the_name_is_escaped_in_html_and_plain_in_text():
    supporter = supporter_create(name="<b>Eve</b> & co")
    message = emails.signature_manage_link_email_queue(supporter=supporter, language="en")
    rendered = email_render(message=message)
    assert "Hello <b>Eve</b> & co," in rendered.text
    assert "<b>Eve</b>" not in rendered.html
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; co" in rendered.html


def test_someone_who_never_confirmed_is_greeted_without_a_name():
    """Their name is not stored until they confirm, and nobody else's typing may stand in."""
    supporter = supporter_create(name="Typed By Someone", confirmed=False)
    message = emails.signature_manage_link_email_queue(supporter=supporter)

    rendered = email_render(message=message)

    assert rendered.text.startswith("Hello,\n")
    assert "Typed By Someone" not in rendered.text + rendered.html


def test_the_link_carries_no_personal_data():
    supporter = supporter_create(name="Anna Karenina")
    message = emails.signature_manage_link_email_queue(supporter=supporter, language="en")
    url = manage_url(email_render(message=message).text)
    assert "anna" not in url.lower()
    assert "example" not in url.lower()


def test_a_message_to_a_dropped_address_fails_for_good_and_sends_nothing():
    supporter = supporter_create()
    message = emails.signature_manage_link_email_queue(supporter=supporter, language="en")
    Supporter.objects.filter(pk=supporter.pk).update(email="")
    mail.outbox.clear()
    outcome = outbox_message_send(message_id=message.pk)
    assert outcome.status == OutboxMessage.Status.FAILED
    assert outcome.retry_in is None
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED
    assert message.last_error == NO_ADDRESS_ERROR
    assert message.attempts == 1
    assert mail.outbox == []


def test_a_confirmation_to_a_dropped_address_fails_for_good_too():
    signature = signature_create(petition=petition_create())
    message = OutboxMessage.objects.get(about__signature=str(signature.pk))
    Supporter.objects.filter(signatures=signature).update(email="")
    assert outbox_message_send(message_id=message.pk).status == OutboxMessage.Status.FAILED
    assert mail.outbox == []
