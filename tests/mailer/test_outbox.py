"""The outbox: one row per email, written with the signature, sent once by a task."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from http import HTTPStatus
from typing import Any, ClassVar, cast
from unittest import mock

import pytest
import requests
from anymail.exceptions import (
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
)
from celery.exceptions import Retry
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from config.celery import app as celery_app
from mailer import services
from mailer.models import OutboxMessage
from mailer.services import claim_lease, outbox_message_send, retry_delay
from mailer.tasks import outbox_requeue, outbox_send
from petitions import emails
from petitions import services as petitions
from petitions.models import Signature, Supporter
from tests.factories import petition_create, post_and_run_tasks, signature_create

pytestmark = pytest.mark.django_db

ADDRESS = "Anna.K+Petition@Example.ORG"


class ScriptedBackend(BaseEmailBackend):
    """Raises the scripted errors, one per send, then delivers like the locmem backend."""

    errors: ClassVar[list[BaseException]] = []

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if ScriptedBackend.errors:
            raise ScriptedBackend.errors.pop(0)
        mail.outbox.extend(email_messages)
        return len(email_messages)


@pytest.fixture
def sending_fails(settings: Any) -> Iterator[Callable[..., None]]:
    """``sending_fails(error, ...)``: the next sends raise these errors, in order."""
    settings.EMAIL_BACKEND = f"{__name__}.ScriptedBackend"

    def fail_with(*errors: BaseException) -> None:
        ScriptedBackend.errors[:] = list(errors)

    yield fail_with
    ScriptedBackend.errors.clear()


def esp_error(status: int, body: str = "") -> AnymailRequestsAPIError:
    """What an Anymail HTTP backend raises when the ESP answers with ``status``."""
    response = requests.Response()
    response.status_code = status
    response.reason = HTTPStatus(status).phrase
    response._content = body.encode()
    return AnymailRequestsAPIError("ESP refused the send", response=response, esp_name="TestESP")


def queued_message(**fields: Any) -> OutboxMessage:
    """A signature's confirmation email, written but not sent (its commit never happens)."""
    signature = signature_create(**fields)
    return OutboxMessage.objects.get(about__signature=str(signature.pk))


def message_in_state(*, age: timedelta = timedelta(minutes=5), **state: Any) -> OutboxMessage:
    message = queued_message()
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - age, **state)
    message.refresh_from_db()
    return message


# --- Queuing ------------------------------------------------------------------------------


def test_queuing_writes_the_row_in_the_transaction_and_enqueues_only_after_commit(
    django_capture_on_commit_callbacks,
):
    petition = petition_create()
    with mock.patch.object(outbox_send, "apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            signature = signature_create(petition=petition)
            message = OutboxMessage.objects.get(about__signature=str(signature.pk))
            assert message.status == OutboxMessage.Status.QUEUED
            assert message.kind == emails.SIGNATURE_CONFIRM
            assert message.recipient_ref == f"petitions.supporter:{signature.supporter_id}"
            assert message.about["petition"] == str(petition.pk)

        assert apply_async.call_count == 0
        assert mail.outbox == []
        assert len(callbacks) == 1

        callbacks[0]()

        apply_async.assert_called_once()
        assert apply_async.call_args.kwargs["args"] == (message.pk,)


def test_the_commit_callback_sends_the_email(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        signature = signature_create(email=ADDRESS)

    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [ADDRESS]
    assert (
        OutboxMessage.objects.get(about__signature=str(signature.pk)).status
        == OutboxMessage.Status.SENT
    )


def test_a_rolled_back_transaction_leaves_no_row_and_sends_nothing(
    django_capture_on_commit_callbacks,
):
    petition = petition_create()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        signature_create(petition=petition)
        assert OutboxMessage.objects.count() == 1
        raise RuntimeError("the business transaction fails after queuing")

    assert callbacks == []
    assert OutboxMessage.objects.count() == 0
    assert Signature.objects.count() == 0
    assert mail.outbox == []


def test_signing_succeeds_and_the_row_stays_queued_when_the_broker_is_down(
    client, django_capture_on_commit_callbacks, caplog
):
    petition = petition_create()
    broker_down = OperationalError("Error 111 connecting to redis:6379. Connection refused.")
    with mock.patch.object(outbox_send, "apply_async", side_effect=broker_down) as apply_async:
        response = post_and_run_tasks(
            client,
            f"/p/{petition.slug}/sign/",
            {"name": "Anna", "email": ADDRESS, "display": "hidden"},
        )

    assert response.status_code == 302
    assert response["Location"] == f"/p/{petition.slug}/thanks/"
    message = OutboxMessage.objects.get()
    apply_async.assert_called_once()
    assert apply_async.call_args.kwargs["args"] == (message.pk,)
    assert message.status == OutboxMessage.Status.QUEUED
    assert message.attempts == 0
    assert mail.outbox == []
    assert "could not enqueue mailer.tasks.outbox_send" in caplog.text
    assert ADDRESS not in caplog.text


# --- Sending ------------------------------------------------------------------------------


def test_sending_delivers_once_and_records_the_outcome():
    message = queued_message(email=ADDRESS)
    before = timezone.now()

    outcome = outbox_message_send(message_id=message.pk)

    assert outcome.status == OutboxMessage.Status.SENT
    assert outcome.retry_in is None
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 1
    assert message.sent_at is not None
    assert message.sent_at >= before
    assert message.last_error == ""


def test_sending_the_same_message_twice_delivers_one_email():
    message = queued_message()

    first = outbox_message_send(message_id=message.pk)
    second = outbox_message_send(message_id=message.pk)

    assert first.status == OutboxMessage.Status.SENT
    assert second.status == "skipped"
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.attempts == 1


def test_a_message_another_worker_claimed_recently_is_left_alone():
    claimed_at = timezone.now() - timedelta(seconds=5)
    message = message_in_state(status=OutboxMessage.Status.SENDING, claimed_at=claimed_at)

    outcome = outbox_message_send(message_id=message.pk)

    assert outcome.status == "skipped"
    assert mail.outbox == []
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENDING
    assert message.claimed_at == claimed_at
    assert message.attempts == 0


def test_a_claim_older_than_the_lease_is_taken_up_again():
    claimed_at = timezone.now() - claim_lease() - timedelta(seconds=1)
    message = message_in_state(status=OutboxMessage.Status.SENDING, claimed_at=claimed_at)

    outcome = outbox_message_send(message_id=message.pk)

    assert outcome.status == OutboxMessage.Status.SENT
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.claimed_at is not None
    assert message.claimed_at > claimed_at


@pytest.mark.parametrize(
    "status", [OutboxMessage.Status.SENT, OutboxMessage.Status.FAILED], ids=str
)
def test_a_finished_message_is_never_sent_again(status):
    message = message_in_state(status=status, claimed_at=timezone.now() - timedelta(days=1))

    assert outbox_message_send(message_id=message.pk).status == "skipped"
    assert mail.outbox == []


# --- Failures -----------------------------------------------------------------------------

TRANSIENT_ERRORS = [
    pytest.param(
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "", id="smtp-disconnected"
    ),
    pytest.param(
        smtplib.SMTPResponseException(451, f"4.7.1 Greylisted, try {ADDRESS} later".encode()),
        "451",
        id="smtp-451",
    ),
    pytest.param(
        smtplib.SMTPRecipientsRefused({ADDRESS: (452, f"4.2.2 {ADDRESS}: mailbox full".encode())}),
        "",
        id="smtp-recipients-4xx",
    ),
    pytest.param(
        esp_error(503, f'{{"message": "overloaded while sending to {ADDRESS}"}}'),
        "HTTP 503",
        id="esp-503",
    ),
    pytest.param(esp_error(429, '{"message": "rate limited"}'), "HTTP 429", id="esp-429"),
    pytest.param(ConnectionRefusedError(111, "Connection refused"), "", id="connection-refused"),
]

PERMANENT_ERRORS = [
    pytest.param(
        smtplib.SMTPRecipientsRefused(
            {ADDRESS: (550, f"5.1.1 <{ADDRESS}>: no such user".encode())}
        ),
        "",
        id="smtp-recipients-550",
    ),
    pytest.param(
        smtplib.SMTPResponseException(554, f"5.7.1 Rejected for {ADDRESS}".encode()),
        "554",
        id="smtp-554",
    ),
    pytest.param(
        AnymailRecipientsRefused(f"Recipient {ADDRESS} is on the suppression list"),
        "",
        id="esp-recipients-refused",
    ),
    pytest.param(
        esp_error(400, f'{{"message": "invalid To address {ADDRESS}"}}'), "HTTP 400", id="esp-400"
    ),
]


@pytest.mark.parametrize(("error", "code"), TRANSIENT_ERRORS)
def test_a_transient_failure_puts_the_message_back_for_a_later_retry(sending_fails, error, code):
    message = queued_message(email=ADDRESS)
    sending_fails(error)
    before = timezone.now()

    outcome = outbox_message_send(message_id=message.pk)

    assert outcome.status == OutboxMessage.Status.QUEUED
    assert outcome.retry_in is not None
    assert outcome.retry_in > 0
    assert mail.outbox == []
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.QUEUED
    assert message.attempts == 1
    assert message.sent_at is None
    assert message.next_attempt_at is not None
    assert message.next_attempt_at > before
    assert message.last_error.startswith(type(error).__name__)
    assert code in message.last_error
    assert "@" not in message.last_error
    assert ADDRESS.lower() not in message.last_error.lower()


def test_the_error_message_keeps_its_text_but_not_the_address(sending_fails):
    message = queued_message(email=ADDRESS)
    sending_fails(smtplib.SMTPResponseException(451, f"4.7.1 Try {ADDRESS} later".encode()))

    outbox_message_send(message_id=message.pk)

    message.refresh_from_db()
    assert message.last_error == "SMTPResponseException 451: (451, b'4.7.1 Try <address> later')"


def test_a_retried_message_is_sent_on_a_later_attempt(sending_fails):
    message = queued_message(email=ADDRESS)
    sending_fails(smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))

    outbox_message_send(message_id=message.pk)
    outcome = outbox_message_send(message_id=message.pk)

    assert outcome.status == OutboxMessage.Status.SENT
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 2
    assert message.last_error == ""


def test_a_message_fails_after_the_maximum_number_of_transient_failures(settings, sending_fails):
    settings.MAILER_MAX_ATTEMPTS = 3
    message = queued_message()
    sending_fails(*[smtplib.SMTPServerDisconnected("Connection unexpectedly closed")] * 4)

    outcomes = [outbox_message_send(message_id=message.pk) for _ in range(3)]

    assert [outcome.status for outcome in outcomes] == ["queued", "queued", "failed"]
    assert outcomes[-1].retry_in is None
    assert mail.outbox == []
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED
    assert message.attempts == 3
    assert message.last_error.startswith("SMTPServerDisconnected")
    # A failed message is final: a fourth call does not try again.
    assert outbox_message_send(message_id=message.pk).status == "skipped"
    assert len(ScriptedBackend.errors) == 1


@pytest.mark.parametrize(("error", "code"), PERMANENT_ERRORS)
def test_a_permanent_failure_fails_the_message_at_once(sending_fails, error, code):
    message = queued_message(email=ADDRESS)
    sending_fails(error)

    outcome = outbox_message_send(message_id=message.pk)

    assert outcome.status == OutboxMessage.Status.FAILED
    assert outcome.retry_in is None
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED
    assert message.attempts == 1
    assert message.next_attempt_at is None
    assert message.sent_at is None
    assert message.last_error.startswith(type(error).__name__)
    assert code in message.last_error
    assert "@" not in message.last_error
    # Not retried: the next call leaves it alone and nothing is delivered.
    assert outbox_message_send(message_id=message.pk).status == "skipped"
    assert mail.outbox == []


def test_an_unexpected_error_while_sending_fails_the_message_instead_of_crashing(sending_fails):
    message = queued_message()
    sending_fails(ValueError("a bug in a backend"))

    outcome = outbox_message_send(message_id=message.pk)

    assert outcome.status == OutboxMessage.Status.FAILED
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED
    assert message.last_error == "ValueError: a bug in a backend"


# --- Retry delay --------------------------------------------------------------------------


def test_retry_delay_doubles_with_each_attempt():
    with mock.patch("mailer.services.random.uniform", side_effect=lambda low, high: 1.0):
        delays = [retry_delay(attempts=attempts) for attempts in range(1, 8)]

    assert delays == [30.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0]


@pytest.mark.parametrize("attempts", [1, 2, 3, 5, 8])
def test_retry_delay_jitter_stays_within_half_and_one_and_a_half_of_the_base(attempts):
    base = min(3600.0, 30.0 * 2 ** (attempts - 1))
    delays = [retry_delay(attempts=attempts) for _ in range(200)]

    assert all(0.5 * base <= delay <= 1.5 * base for delay in delays)
    assert len(set(delays)) > 1


@pytest.mark.parametrize("attempts", [8, 20, 100, 10_000])
def test_retry_delay_is_capped_at_an_hour_and_a_half_with_jitter(attempts):
    with mock.patch("mailer.services.random.uniform", side_effect=lambda low, high: high):
        assert retry_delay(attempts=attempts) == 5400.0
    with mock.patch("mailer.services.random.uniform", side_effect=lambda low, high: low):
        assert retry_delay(attempts=attempts) == 1800.0


def test_retry_delay_is_positive_even_for_a_first_attempt():
    with mock.patch("mailer.services.random.uniform", side_effect=lambda low, high: low):
        assert retry_delay(attempts=0) == 15.0
        assert retry_delay(attempts=1) == 15.0


# --- The Celery task ----------------------------------------------------------------------


def test_the_send_task_asks_celery_to_retry_after_a_transient_failure(sending_fails):
    message = queued_message()
    sending_fails(smtplib.SMTPResponseException(421, b"4.3.2 Service shutting down"))
    task = mock.Mock(name="task")
    task.retry.side_effect = lambda *, countdown: Retry("retry", when=countdown)

    with pytest.raises(Retry) as raised:
        cast(Any, outbox_send.run).__func__(task, message.pk)

    task.retry.assert_called_once()
    assert isinstance(raised.value.when, float)
    assert raised.value.when > 0
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.QUEUED
    assert message.attempts == 1


def test_the_send_task_raises_retry_with_the_backoff_after_a_transient_failure(sending_fails):
    message = queued_message()
    sending_fails(smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))
    before = timezone.now()

    with pytest.raises(Retry) as raised:
        outbox_send.apply(args=(message.pk,))

    countdown = raised.value.when
    assert isinstance(countdown, float)
    assert countdown > 0
    assert cast(Any, raised.value).sig.args == (message.pk,)
    assert mail.outbox == []
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.QUEUED
    assert message.attempts == 1
    # The row's own retry time matches the countdown Celery was given.
    expected = before + timedelta(seconds=countdown)
    assert message.next_attempt_at is not None
    assert abs((message.next_attempt_at - expected).total_seconds()) < 5


def test_the_send_task_retries_until_the_message_goes_through(sending_fails):
    message = queued_message()
    sending_fails(
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        esp_error(503),
    )
    # Without propagation, eager Celery runs each retry at once instead of after the countdown.
    # (The autouse fixture in conftest.py restores the setting.)
    celery_app.conf.task_eager_propagates = False

    result = outbox_send.apply(args=(message.pk,))

    assert result.successful()
    assert result.result == OutboxMessage.Status.SENT
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 3


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({}, "sent"),
        ({"status": OutboxMessage.Status.SENT}, "skipped"),
        ({"status": OutboxMessage.Status.FAILED}, "skipped"),
    ],
    ids=["queued", "already-sent", "already-failed"],
)
def test_the_send_task_returns_quietly_for_a_final_state(state, expected):
    message = message_in_state(**state)

    result = outbox_send.apply(args=(message.pk,))

    assert result.successful()
    assert result.result == expected


def test_the_send_task_returns_quietly_after_a_permanent_failure(sending_fails):
    message = queued_message()
    sending_fails(smtplib.SMTPResponseException(550, b"5.1.1 No such user"))

    result = outbox_send.apply(args=(message.pk,))

    assert result.successful()
    assert result.result == OutboxMessage.Status.FAILED
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED
    assert message.attempts == 1


# --- Requeue ------------------------------------------------------------------------------


def test_requeue_enqueues_lost_messages_and_leaves_the_rest_alone():
    now = timezone.now()
    lost = message_in_state()
    retry_due = message_in_state(next_attempt_at=now - timedelta(seconds=1), attempts=1)
    crashed = message_in_state(
        status=OutboxMessage.Status.SENDING, claimed_at=now - claim_lease() - timedelta(minutes=1)
    )
    fresh = message_in_state(age=timedelta(seconds=5))
    retry_later = message_in_state(next_attempt_at=now + timedelta(minutes=5), attempts=1)
    being_sent = message_in_state(
        status=OutboxMessage.Status.SENDING, claimed_at=now - timedelta(minutes=1)
    )
    sent = message_in_state(status=OutboxMessage.Status.SENT, sent_at=now - timedelta(hours=1))
    failed = message_in_state(status=OutboxMessage.Status.FAILED, attempts=8)

    with mock.patch("mailer.services.outbox_message_enqueue") as enqueue:
        count = services.outbox_requeue()

    enqueued = [call.kwargs["message_id"] for call in enqueue.call_args_list]
    assert enqueued == [lost.pk, retry_due.pk, crashed.pk]
    assert count == 3
    left_alone = {fresh.pk, retry_later.pk, being_sent.pk, sent.pk, failed.pk}
    assert left_alone.isdisjoint(enqueued)


def test_requeue_respects_its_limit():
    messages = [message_in_state() for _ in range(3)]

    with mock.patch("mailer.services.outbox_message_enqueue") as enqueue:
        count = services.outbox_requeue(limit=2)

    assert count == 2
    assert [call.kwargs["message_id"] for call in enqueue.call_args_list] == [
        messages[0].pk,
        messages[1].pk,
    ]


def test_the_requeue_task_sends_a_message_whose_task_was_lost():
    lost = message_in_state()
    fresh = message_in_state(age=timedelta(seconds=5))

    result = outbox_requeue.apply()

    assert result.result == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [
        Supporter.objects.get(signatures__pk=lost.about["signature"]).email
    ]
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.status == OutboxMessage.Status.SENT
    assert fresh.status == OutboxMessage.Status.QUEUED


def test_requeue_still_returns_when_the_broker_is_down(caplog):
    lost = message_in_state()

    with mock.patch.object(outbox_send, "apply_async", side_effect=OperationalError("down")):
        assert services.outbox_requeue() == 1

    lost.refresh_from_db()
    assert lost.status == OutboxMessage.Status.QUEUED
    assert "could not enqueue mailer.tasks.outbox_send" in caplog.text


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
