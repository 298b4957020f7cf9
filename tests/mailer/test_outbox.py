"""None"""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from mailer import services
from mailer.models import OutboxMessage
from mailer.services import claim_lease, outbox_message_send
from mailer.tasks import outbox_requeue, outbox_send
from petitions import emails
from petitions.models import Signature, Supporter
from tests.factories import petition_create, post_and_run_tasks, signature_create
from tests.mailer.helpers import ADDRESS, message_in_state, queued_message

pytestmark = pytest.mark.django_db


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
