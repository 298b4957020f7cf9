"""The bulk sweep (``mailer.tasks.mailings_sweep``, every MAILER_REQUEUE_INTERVAL_SECONDS).

- A batch whose lease ran out (its worker died or stalled) goes back to the queue: none of
  its rows had been handed over, and the cleared claim token keeps the old worker, should
  it wake up, from sending any of them.
- A row left "handing" past MAILER_CLAIM_LEASE_SECONDS was perhaps sent: it becomes
  "unknown" and is never sent again.
- A mailing with rows due and no task at work on it for MAILER_BULK_STALE_SECONDS (tasks
  lost with a killed worker, or while the broker was down) gets its tasks again.
- A mailing with nothing pending is marked done.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from mailer.bulk.planning import mailing_tasks_enqueue
from mailer.bulk.selectors import PENDING
from mailer.models import Delivery, Mailing

logger = logging.getLogger(__name__)

S = Delivery.Status


def mailings_sweep() -> dict[str, int]:
    """Run every step; returns how many rows or mailings each step changed."""
    now = timezone.now()
    requeued = Delivery.objects.filter(status=S.CLAIMED, claimed_until__lt=now).update(
        status=S.QUEUED, claim="", claimed_until=None
    )
    # The claim token stays: the worker, should it still be alive, records it sent.
    unknown = Delivery.objects.filter(status=S.HANDING, claimed_until__lt=now).update(
        status=S.UNKNOWN, last_error="in doubt: the worker stopped while handing it over"
    )
    if unknown:
        logger.warning("bulk mail: %d deliveries in doubt recorded as unknown", unknown)
    done = Mailing.objects.filter(status=Mailing.Status.SENDING).exclude(
        Exists(Delivery.objects.filter(mailing_id=OuterRef("pk"), status__in=PENDING))
    )
    finished = done.update(status=Mailing.Status.DONE, finished_at=now)
    return {
        "requeued": requeued,
        "unknown": unknown,
        "reenqueued": _reenqueue(now=now),
        "finished": finished,
    }


def _reenqueue(*, now: datetime) -> int:
    stale = now - timedelta(seconds=settings.MAILER_BULK_STALE_SECONDS)
    due = Delivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        mailing_id=OuterRef("pk"),
        status=S.QUEUED,
    )
    idle = (
        Mailing.objects.filter(status=Mailing.Status.SENDING)
        .filter(Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale))
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
        .filter(Exists(due))
    )
    ids = list(idle.values_list("pk", flat=True)[:100])
    Mailing.objects.filter(pk__in=ids).update(enqueued_at=now)
    for mailing_id in ids:
        mailing_tasks_enqueue(mailing_id=mailing_id)
    return len(ids)
