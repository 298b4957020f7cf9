"""What an outbox email looks like, and the provider's message id recorded for it."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from mailer.models import OutboxMessage
from mailer.services import outbox_message_send
from petitions import emails
from petitions import services as petitions
from petitions.models import Signature
from tests.factories import petition_create, post_and_run_tasks, signature_create
from tests.mailer.helpers import ADDRESS, queued_message

pytestmark = pytest.mark.django_db


# --- What the email looks like ------------------------------------------------------------


def the_email() -> EmailMultiAlternatives:
    [email] = mail.outbox
    assert isinstance(email, EmailMultiAlternatives)
    return email


def html_of(email: EmailMultiAlternatives) -> str:
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    assert isinstance(html, str)
    return html


def sign_through_the_page(client: Any, petition: Any, **data: str) -> None:
    response = post_and_run_tasks(
        client, f"/p/{petition.slug}/sign/", {"display": "hidden", **data}
    )
    assert response.status_code == 302


def test_the_confirmation_email_goes_to_the_address_as_typed_with_automated_headers(
    client, django_capture_on_commit_callbacks
):
    petition = petition_create()
    with django_capture_on_commit_callbacks(execute=True):
        sign_through_the_page(client, petition, name="Anna", email=ADDRESS)

    email = the_email()
    local, _, domain = ADDRESS.rpartition("@")
    stored = f"{local}@{domain.lower()}"  # as typed, the domain in its canonical form
    assert email.to == [stored]
    assert email.cc == []
    assert email.bcc == []
    assert email.from_email == settings.DEFAULT_FROM_EMAIL
    parsed = email.message()
    assert parsed["To"] == stored
    assert parsed["From"] == settings.DEFAULT_FROM_EMAIL
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Auto-Response-Suppress"] == "All"
    assert email.subject == f"Confirm your signature: {petition.title}"
    signature = Signature.objects.get()
    assert OutboxMessage.objects.get().about["signature"] == str(signature.pk)
    html = html_of(email)
    code_url = f"{settings.SITE_URL}/p/{petition.slug}/confirm/"
    for part in (email.body, html):
        assert f"{settings.SITE_URL}/confirm/" in part
        assert code_url in part
        assert "Anna" not in part  # nothing the signer typed, before they confirm


def test_the_already_signed_email_has_the_same_headers(django_capture_on_commit_callbacks):
    petition = petition_create()
    signature_create(petition=petition, email=ADDRESS, confirmed=True)
    with django_capture_on_commit_callbacks(execute=True):
        result = petitions.signature_create(petition=petition, email=ADDRESS, name="Anna")

    assert result.created is False
    [email] = mail.outbox
    assert email.to == [ADDRESS]
    assert email.from_email == settings.DEFAULT_FROM_EMAIL
    assert email.extra_headers["Auto-Submitted"] == "auto-generated"
    assert email.subject == f"You have already signed: {petition.title}"
    message = OutboxMessage.objects.get(status=OutboxMessage.Status.SENT)
    assert message.kind == emails.SIGNATURE_ALREADY_SIGNED


def test_the_subject_has_no_newlines_even_when_the_title_does(django_capture_on_commit_callbacks):
    petition = petition_create(title="Free everyone\r\nBcc: victim@example.org\nnow")
    with django_capture_on_commit_callbacks(execute=True):
        signature_create(petition=petition)

    [email] = mail.outbox
    assert email.subject == "Confirm your signature: Free everyone Bcc: victim@example.org now"
    assert "\n" not in email.subject
    assert "\r" not in email.subject
    parsed = email.message()
    assert parsed["Bcc"] is None
    assert email.recipients() == [email.to[0]]


def test_titles_with_html_are_escaped_in_the_html_part_and_literal_in_the_text_part(
    client, django_capture_on_commit_callbacks
):
    name = "<b>x</b>&\"'"
    petition = petition_create(title='Free <i>"Them"</i> & all')
    with django_capture_on_commit_callbacks(execute=True):
        sign_through_the_page(client, petition, name=name, email=ADDRESS)

    email = the_email()
    html = html_of(email)
    assert name not in email.body  # the typed name is not relayed at all
    assert "&lt;b&gt;x" not in html
    assert 'Free <i>"Them"</i> & all' in email.body
    assert "Free &lt;i&gt;&quot;Them&quot;&lt;/i&gt; &amp; all" in html
    assert "<b>x</b>" not in html
    assert "<i>" not in html
    assert email.subject == 'Confirm your signature: Free <i>"Them"</i> & all'


def test_the_email_is_written_in_the_signers_language(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        signature = signature_create(language="ru")

    [email] = mail.outbox
    assert OutboxMessage.objects.get(about__signature=str(signature.pk)).language == "ru"
    assert email.subject.startswith("Подтвердите")


# --- Provider message ids -----------------------------------------------------------------


def test_the_provider_message_id_is_recorded_with_anymail(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {}
    first = queued_message(email=ADDRESS)
    second = queued_message()

    assert outbox_message_send(message_id=first.pk).status == OutboxMessage.Status.SENT
    assert outbox_message_send(message_id=second.pk).status == OutboxMessage.Status.SENT

    # The test backend's message id is the message's position in the outbox.
    first.refresh_from_db()
    second.refresh_from_db()
    sent: list[Any] = list(mail.outbox)
    assert len(sent) == 2
    assert sent[0].anymail_status.message_id == 0
    assert first.provider_message_id == "0"
    assert sent[1].anymail_status.message_id == 1
    assert second.provider_message_id == "1"
    assert sent[0].anymail_test_params["to"][0].addr_spec == ADDRESS
    assert sent[0].anymail_test_params["extra_headers"]["Auto-Submitted"] == "auto-generated"


def test_a_backend_without_message_ids_records_none(settings):
    message = queued_message()

    outbox_message_send(message_id=message.pk)

    message.refresh_from_db()
    assert message.provider_message_id == ""
