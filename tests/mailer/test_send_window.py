"""A message is recorded as sent the moment the provider accepts it, and a send whose
worker died is taken up again within two minutes, never while it may still be running."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, ClassVar
from unittest import mock

import pytest
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from config.celery import app as celery_app
from mailer import services
from mailer.models import OutboxMessage
from mailer.tasks import outbox_send
from tests.factories import signature_create

pytestmark = pytest.mark.django_db


class WatchingBackend(BaseEmailBackend):
    """Records, at each step of a send, what the outbox row said at that moment."""

    steps: ClassVar[list[tuple[str, str]]] = []
    close_fails: ClassVar[bool] = False
    message_id: ClassVar[int] = 0

    def _row_status(self) -> str:
        return str(OutboxMessage.objects.get(pk=WatchingBackend.message_id).status)

    def open(self) -> bool:
        WatchingBackend.steps.append(("open", self._row_status()))
        return True

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        WatchingBackend.steps.append(("accepted", self._row_status()))
        return len(email_messages)

    def close(self) -> None:
        WatchingBackend.steps.append(("close", self._row_status()))
        if WatchingBackend.close_fails:
            raise OSError("connection reset during QUIT")


@pytest.fixture
def watched(settings: Any) -> OutboxMessage:
    settings.EMAIL_BACKEND = f"{__name__}.WatchingBackend"
    message = OutboxMessage.objects.get(about__signature=str(signature_create().pk))
    WatchingBackend.steps = []
    WatchingBackend.close_fails = False
    WatchingBackend.message_id = message.pk
    return message


def test_the_row_is_marked_sent_after_the_provider_accepted_and_before_the_connection_closes(
    watched,
):
    outcome = services.outbox_message_send(message_id=watched.pk)

    assert outcome.status == OutboxMessage.Status.SENT
    # One connection, opened before and closed after; the row says "sent" before the close.
    assert WatchingBackend.steps == [
        ("open", OutboxMessage.Status.SENDING),
        ("accepted", OutboxMessage.Status.SENDING),
        ("close", OutboxMessage.Status.SENT),
    ]


def test_a_goodbye_that_fails_after_the_provider_accepted_leaves_the_message_sent(watched, caplog):
    WatchingBackend.close_fails = True

    outcome = services.outbox_message_send(message_id=watched.pk)

    assert outcome.status == OutboxMessage.Status.SENT
    watched.refresh_from_db()
    assert watched.status == OutboxMessage.Status.SENT
    assert watched.sent_at is not None
    assert "could not close the mail connection cleanly" in caplog.text


def test_a_send_whose_worker_died_is_claimed_again_only_after_the_lease(watched):
    claimed_at = timezone.now() - services.claim_lease() + timedelta(seconds=5)
    OutboxMessage.objects.filter(pk=watched.pk).update(
        status=OutboxMessage.Status.SENDING, claimed_at=claimed_at
    )

    # Within the lease a worker may still be sending it: leave it alone.
    assert services.outbox_message_send(message_id=watched.pk).status == "skipped"
    assert WatchingBackend.steps == []

    OutboxMessage.objects.filter(pk=watched.pk).update(claimed_at=claimed_at - timedelta(seconds=6))
    assert services.outbox_message_send(message_id=watched.pk).status == OutboxMessage.Status.SENT


def test_the_sweep_enqueues_a_waiting_message_once_per_period_not_at_every_run():
    message = OutboxMessage.objects.get(about__signature=str(signature_create().pk))
    OutboxMessage.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )

    with mock.patch("mailer.services.outbox_message_enqueue") as enqueue:
        assert services.outbox_requeue() == 1
        assert services.outbox_requeue() == 0

    enqueue.assert_called_once_with(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.QUEUED
    # Claiming ignores the sweep's "not before": the enqueued task still sends it.
    assert services.outbox_message_send(message_id=message.pk).status == OutboxMessage.Status.SENT


def test_the_lease_outlasts_the_send_time_limit_which_fits_a_few_slow_provider_steps():
    task = celery_app.tasks[outbox_send.name]

    assert task.time_limit == settings.MAILER_SEND_TIME_LIMIT_SECONDS
    assert settings.MAILER_SEND_TIME_LIMIT_SECONDS >= 2 * settings.EMAIL_TIMEOUT
    # The margin covers clocks that differ between the worker that claimed and the sweep.
    assert services.claim_lease().total_seconds() >= settings.MAILER_SEND_TIME_LIMIT_SECONDS + 15


def test_mail_from_a_killed_worker_is_sent_again_within_two_minutes_by_default():
    [entry] = [
        entry
        for entry in celery_app.conf.beat_schedule.values()
        if entry["task"] == "mailer.tasks.outbox_requeue"
    ]
    # Killed right after its claim: the lease runs out, then the next sweep enqueues it.
    worst_case = services.claim_lease().total_seconds() + float(entry["schedule"])

    assert worst_case <= 110, worst_case
    # A message that was queued, not claimed (its task lost with the worker), is enqueued
    # again after MAILER_REQUEUE_AFTER_SECONDS, also within two minutes.
    assert settings.MAILER_REQUEUE_AFTER_SECONDS + float(entry["schedule"]) <= 110
