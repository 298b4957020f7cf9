"""Bulk mail: the sweep after dead workers, progress, and the queues."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from mailer import selectors
from mailer.bulk.sending import mailing_send
from mailer.bulk.sweep import mailings_sweep
from mailer.models import Delivery, Mailing
from tests.bulkkind.kind import address, ref
from tests.mailer.bulk_helpers import mailing_sending, received, statuses

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bulk_kind")]
S = Delivery.Status


# --- The sweep ------------------------------------------------------------------------------


def test_the_sweep_requeues_stale_claims_and_records_stale_hand_overs_as_unknown(tasks_held):
    mailing = mailing_sending([1, 2, 3])
    past = timezone.now() - timedelta(seconds=1)
    future = timezone.now() + timedelta(minutes=1)
    Delivery.objects.filter(recipient_ref=ref(1)).update(
        status=S.CLAIMED, claim="a" * 32, claimed_until=past
    )
    Delivery.objects.filter(recipient_ref=ref(2)).update(
        status=S.HANDING, claim="a" * 32, claimed_until=past
    )
    Delivery.objects.filter(recipient_ref=ref(3)).update(
        status=S.HANDING, claim="b" * 32, claimed_until=future
    )

    result = mailings_sweep()

    assert (result["requeued"], result["unknown"]) == (1, 1)
    assert statuses(mailing) == {"1": S.QUEUED, "2": S.UNKNOWN, "3": S.HANDING}
    assert Delivery.objects.get(recipient_ref=ref(1)).claim == ""
    # In doubt, never sent again: the rest of the mailing goes, not it.
    Delivery.objects.filter(recipient_ref=ref(3)).update(status=S.SENT)
    mailing_send(mailing_id=mailing.pk)
    assert received() == [address(1)]


def test_the_sweep_enqueues_tasks_for_a_mailing_nobody_works_on(settings, tasks_held):
    settings.MAILER_BULK_STALE_SECONDS = 60
    mailing = mailing_sending([1])
    long_ago = timezone.now() - timedelta(minutes=5)
    Mailing.objects.filter(pk=mailing.pk).update(heartbeat_at=long_ago, enqueued_at=long_ago)

    assert mailings_sweep()["reenqueued"] == 1
    assert tasks_held == [mailing.pk]
    # Enqueued just now: not again at the next run.
    assert mailings_sweep()["reenqueued"] == 0


def test_the_sweep_leaves_a_mailing_with_a_live_task_or_nothing_due(tasks_held):
    mailing = mailing_sending([1])
    Mailing.objects.filter(pk=mailing.pk).update(heartbeat_at=timezone.now())
    waiting = mailing_sending([2])
    Mailing.objects.filter(pk=waiting.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    Delivery.objects.filter(mailing=waiting).update(
        next_attempt_at=timezone.now() + timedelta(hours=1)
    )

    assert mailings_sweep()["reenqueued"] == 0
    assert tasks_held == []


def test_the_sweep_marks_a_mailing_with_nothing_pending_done(tasks_held):
    mailing = mailing_sending([1, 2])
    Delivery.objects.filter(mailing=mailing).update(status=S.SENT)
    busy = mailing_sending([3])

    assert mailings_sweep()["finished"] == 1
    mailing.refresh_from_db()
    busy.refresh_from_db()
    assert mailing.status == Mailing.Status.DONE
    assert mailing.finished_at is not None
    assert busy.status == Mailing.Status.SENDING


# --- Progress -------------------------------------------------------------------------------


def test_progress_counts_every_status_of_a_mailing():
    mailing = mailing_sending(range(6))
    other = mailing_sending(range(2))
    for n, status in enumerate([S.SENT, S.SENT, S.FAILED, S.BOUNCED, S.COMPLAINED]):
        Delivery.objects.filter(mailing=mailing, recipient_ref=ref(n)).update(status=status)

    progress = selectors.mailing_progress(mailing=mailing)

    assert progress.total == 6
    assert progress.counts[S.SENT] == 2
    assert progress.counts[S.DELIVERED] == 0
    assert (progress.queued, progress.sent, progress.failed) == (1, 4, 1)
    assert (progress.bounced, progress.complained) == (1, 1)
    assert progress.finished is False
    both = selectors.mailings_progress(mailing_ids=[mailing.pk, other.pk])
    assert both[other.pk].queued == 2
    assert both[mailing.pk] == progress


# --- Queues ---------------------------------------------------------------------------------


def test_bulk_sends_travel_on_their_own_queue_and_the_sweep_on_the_periodic_one():
    from config.celery import task_route

    assert task_route("mailer.tasks.mailing_send", (), {}, {}) == {"queue": "bulk"}
    assert task_route("mailer.tasks.outbox_send", (), {}, {}) == {"queue": "mail"}
    assert task_route("mailer.tasks.mailings_sweep", (), {}, {}) == {"queue": "periodic"}
    assert "mailer.tasks.mailings_sweep" in {
        entry["task"] for entry in celery_app.conf.beat_schedule.values()
    }
