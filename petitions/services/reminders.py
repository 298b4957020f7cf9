"""Reminding people whose signature awaits confirmation (a periodic task).

A pending signature gets reminder ``n`` once ``CONFIRM_REMINDER_DELAYS[n-1]`` has passed
since it was made: at most two, never once it is confirmed, withdrawn or invalidated,
never on a petition that no longer takes signatures, never within
``DUPLICATE_EMAIL_INTERVAL_SECONDS`` of another email about it, and only while the link of
its newest attempt still works for a while. Each reminder carries that attempt's own link and
code, like the confirmation email, and counts against ``CONFIRM_EMAILS_MAX``, the cap on
confirmation emails per signature (the first one and those for repeat attempts count too).

A reminder is claimed by a conditional update of ``Signature.reminders_sent`` and queued
in the same transaction, so two runs (or two workers) never send one twice. A signature
that missed a reminder (the task did not run for days) gets only the latest one due.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from petitions import emails
from petitions.models import Petition, SignAttempt, Signature
from petitions.services.locks import petition_signing_lock
from petitions.services.signing import confirm_max_age

logger = logging.getLogger(__name__)

# A reminder whose link would die within this is not worth sending: it may arrive too late.
LINK_LEFT_AT_LEAST = timedelta(hours=1)


def reminder_delays() -> list[timedelta]:
    return [timedelta(seconds=seconds) for seconds in settings.CONFIRM_REMINDER_DELAYS]


def _attempts_still_valid(*, now: datetime) -> QuerySet[SignAttempt]:
    """Attempts whose link and code still work for ``LINK_LEFT_AT_LEAST`` at least."""
    return SignAttempt.objects.filter(
        processed_at__isnull=False,
        confirmed_at__isnull=True,
        created_at__gt=now - confirm_max_age() + LINK_LEFT_AT_LEAST,
    )


def _reminders_due(*, now: datetime, delays: list[timedelta]) -> QuerySet[Signature]:
    """Pending signatures owed a reminder now (the conditions the claim checks again)."""
    owed = Q()
    for number, delay in enumerate(delays):
        # Reminder number+1 is owed once its delay has passed and fewer were sent.
        owed |= Q(reminders_sent__lte=number, created_at__lte=now - delay)
    # Not right after another email about it (a repeat attempt's): the next run sends it.
    quiet_since = now - timedelta(seconds=settings.DUPLICATE_EMAIL_INTERVAL_SECONDS)
    return (
        Signature.objects.filter(
            owed,
            emailed_at__lte=quiet_since,
            status=Signature.Status.PENDING,
            supporter__isnull=False,
            confirm_emails_sent__lt=settings.CONFIRM_EMAILS_MAX,
            petition__status=Petition.Status.OPEN,
            petition__anonymised_at__isnull=True,
        )
        .filter(Q(petition__closes_at__isnull=True) | Q(petition__closes_at__gt=now))
        .filter(Exists(_attempts_still_valid(now=now).filter(signature=OuterRef("pk"))))
    )


def signature_reminders_send(
    *,
    now: datetime | None = None,
    batch_size: int = 500,
    budget: timedelta = timedelta(seconds=60),
) -> int:
    """Queue every reminder due now, in batches, until none is left or ``budget`` has
    passed (the next run goes on); returns how many were queued. Safe to run twice."""
    delays = reminder_delays()
    if not delays:
        return 0
    now = now or timezone.now()
    started = time.monotonic()
    due = _reminders_due(now=now, delays=delays)
    queued, after = 0, 0
    while time.monotonic() - started < budget.total_seconds():
        batch = list(
            due.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "petition_id", "reminders_sent", "created_at")[:batch_size]
        )
        for signature_id, petition_id, sent, created_at in batch:
            number = sum(1 for delay in delays if created_at + delay <= now)
            queued += _reminder_send(
                signature_id=signature_id,
                petition_id=petition_id,
                sent=sent,
                number=number,
                now=now,
            )
        if len(batch) < batch_size:
            break
        after = batch[-1][0]
    if queued:
        logger.info("confirmation reminders queued: %s", queued)
    return queued


def _reminder_send(
    *, signature_id: int, petition_id: int, sent: int, number: int, now: datetime
) -> int:
    """Claim reminder ``number`` of one signature (``sent`` were sent) and queue it; 1 if
    this run did, 0 if another run, a confirmation or the cap came first."""
    with transaction.atomic():
        # As signing and confirming do: a lockdown waits for this reminder, or this finds
        # the petition closed and the signature detached.
        petition_signing_lock(petition_id=petition_id, exclusive=False)
        attempt = (
            _attempts_still_valid(now=now)
            .filter(signature_id=signature_id)
            .select_related("signature")
            .order_by("-created_at", "-pk")
            .first()
        )
        if attempt is None:
            return 0
        claimed = (
            _reminders_due(now=now, delays=reminder_delays())
            .filter(pk=signature_id, reminders_sent=sent)
            .update(
                reminders_sent=number,
                confirm_emails_sent=F("confirm_emails_sent") + 1,
                emailed_at=now,
            )
        )
        if not claimed:
            return 0
        emails.signature_confirm_reminder_email_queue(sign_attempt=attempt, reminder=number)
    return 1
