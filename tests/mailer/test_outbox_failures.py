"""The outbox when sending fails: transient and permanent errors, retry delays, task retries."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from http import HTTPStatus
from typing import Any, ClassVar, cast
from unittest import mock

import pytest
import requests
from anymail.exceptions import AnymailRecipientsRefused, AnymailRequestsAPIError
from celery.exceptions import Retry
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from config.celery import app as celery_app
from mailer.models import OutboxMessage
from mailer.services import outbox_message_send, retry_delay
from mailer.tasks import outbox_send
from tests.mailer.helpers import ADDRESS, message_in_state, queued_message

pytestmark = pytest.mark.django_db


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
