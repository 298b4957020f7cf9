"""Sending an update: now or at a set time, planning its deliveries, cancelling, the test.

Sending is a conditional UPDATE from draft or scheduled to sending that must touch one
row: a second click (or a click racing the scheduler) finds nothing to change and is told
so; nobody is planned twice. The same transaction makes the mailer's ``Mailing`` and
records the audit entry; planning runs in a task after commit (``update_plan``): it walks
the audience in chunks (keyset pagination), adds one delivery per person (the mailer's
unique constraint on mailing and recipient makes a second walk add nothing), remembers how
far it got, and starts the mailing when the walk ends. A planning task that was lost is
enqueued again by ``updates_tick``; one that runs twice adds nobody twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from campaigns.access import Action, access_check, membership_get, role_allows
from campaigns.models import AuditEntry
from campaigns.services.audit import audit_record
from common.tasks import enqueue_on_commit
from mailer import selectors as mail_selectors
from mailer import services as mailer
from mailer.models import Mailing
from petitions import emails as petition_emails
from petitions.selectors import audience
from updates import emails
from updates.models import UnscheduledReason, Update
from updates.services.writing import update_content_check

logger = logging.getLogger(__name__)

# The earliest a schedule may be set, and the latest.
SCHEDULE_MIN_AHEAD = timedelta(minutes=1)
SCHEDULE_MAX_AHEAD = timedelta(days=366)
# A test email per update and organiser at most this often (a double click sends one).
TEST_INTERVAL_SECONDS = 30
# A sending update still unplanned this long after it began has lost its planning task.
PLAN_STALE_AFTER = timedelta(minutes=2)


class UpdateAlreadySentError(Exception):
    """The update is being sent, was sent or cancelled: a second "send" changes nothing."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class UpdateAudienceEmptyError(Exception):
    """Nobody would receive the update now."""


class UpdateScheduleError(ValueError):
    """The time to send is in the past or too far ahead."""


class UpdateNotCancellableError(Exception):
    """Only a scheduled update or one being sent can be cancelled."""


class UpdateTestTooSoonError(Exception):
    """A test of this update was just sent to this organiser."""


def _check(*, actor: Any, update: Update) -> None:
    access_check(user=actor, organisation=update.campaign.organisation, action=Action.UPDATE_SEND)


def _audit(*, actor: Any, update: Update, action: AuditEntry.Action, **details: Any) -> None:
    audit_record(
        organisation=update.campaign.organisation,
        actor=actor,
        action=action,
        target=f"{update.campaign.title}: {update.subject}",
        details={"update": str(update.public_id), **details},
    )


def _begin(*, update: Update, now: datetime, from_statuses: list[str]) -> bool:
    """Move the update to "sending" and make its mailing, if it is still in one of
    ``from_statuses``; enqueue its planning after commit. Call inside a transaction."""
    started = Update.objects.filter(pk=update.pk, status__in=from_statuses).update(
        status=Update.Status.SENDING,
        sending_at=now,
        unscheduled_at=None,
        unscheduled_reason="",
        updated_at=now,
    )
    if started != 1:
        return False
    # The campaign in ``about`` lets petitions delete its deliveries when people leave it
    # (lockdown, anonymisation, withdrawal): petitions cannot ask about updates.
    mailing = mailer.mailing_create(
        kind=emails.CAMPAIGN_UPDATE,
        about={
            "update": str(update.pk),
            petition_emails.CAMPAIGN_ABOUT_KEY: str(update.campaign_id),
        },
    )
    Update.objects.filter(pk=update.pk).update(mailing=mailing)
    update.status, update.sending_at, update.mailing = Update.Status.SENDING, now, mailing
    from updates import tasks  # the tasks module imports the services

    enqueue_on_commit(tasks.update_plan, update.pk)
    return True


def update_send(*, actor: Any, update: Update) -> int:
    """Send a draft or scheduled update now; returns the audience's size at this moment.

    Raises ``UpdateAlreadySentError`` if it is already being sent, was sent or cancelled
    (a second click: nothing changes, nobody gets it twice), ``UpdateInvalidError`` for an
    empty subject or message, ``UpdateAudienceEmptyError`` when nobody would receive it.
    """
    _check(actor=actor, update=update)
    with transaction.atomic():
        current = Update.objects.select_related("campaign").get(pk=update.pk)
        if not current.editable:
            raise UpdateAlreadySentError(current.status)
        update_content_check(subject=current.subject, body=current.body)
        size = audience.update_audience_count(campaign_id=current.campaign_id)
        if size == 0:
            raise UpdateAudienceEmptyError
        if not _begin(
            update=update,
            now=timezone.now(),
            from_statuses=[Update.Status.DRAFT, Update.Status.SCHEDULED],
        ):
            # Another click got there between our read and our UPDATE.
            raise UpdateAlreadySentError(Update.Status.SENDING)
        _audit(actor=actor, update=update, action=AuditEntry.Action.UPDATE_SEND, audience=size)
    return size


def update_schedule(*, actor: Any, update: Update, when: datetime) -> int:
    """Send the update at ``when`` (a draft, or a scheduled one moved); returns the audience
    size now. Errors as ``update_send``, and ``UpdateScheduleError`` for a bad time."""
    _check(actor=actor, update=update)
    now = timezone.now()
    if when < now + SCHEDULE_MIN_AHEAD:
        raise UpdateScheduleError("past")
    if when > now + SCHEDULE_MAX_AHEAD:
        raise UpdateScheduleError("too far")
    with transaction.atomic():
        current = Update.objects.get(pk=update.pk)
        if not current.editable:
            raise UpdateAlreadySentError(current.status)
        update_content_check(subject=current.subject, body=current.body)
        size = audience.update_audience_count(campaign_id=current.campaign_id)
        if size == 0:
            raise UpdateAudienceEmptyError
        changed = Update.objects.filter(
            pk=update.pk, status__in=[Update.Status.DRAFT, Update.Status.SCHEDULED]
        ).update(
            status=Update.Status.SCHEDULED,
            scheduled_at=when,
            scheduled_by=actor,
            unscheduled_at=None,
            unscheduled_reason="",
            updated_at=now,
        )
        if changed != 1:
            raise UpdateAlreadySentError(Update.Status.SENDING)
        update.status, update.scheduled_at, update.scheduled_by = (
            Update.Status.SCHEDULED,
            when,
            actor,
        )
        update.unscheduled_at, update.unscheduled_reason = None, ""
        _audit(
            actor=actor,
            update=update,
            action=AuditEntry.Action.UPDATE_SCHEDULE,
            scheduled_at=when.isoformat(),
        )
    return size


def update_cancel(*, actor: Any, update: Update) -> str:
    """Cancel a schedule (the update is a draft again) or stop an update being sent.

    Returns the new status. Stopping keeps what was handed over (it stays sent) and
    cancels the rest. Raises ``UpdateNotCancellableError`` for a draft, a sent or a
    cancelled update.
    """
    _check(actor=actor, update=update)
    now = timezone.now()
    with transaction.atomic():
        current = (
            Update.objects.select_for_update(of=("self",))
            .select_related("mailing")
            .get(pk=update.pk)
        )
        if current.status == Update.Status.SCHEDULED:
            Update.objects.filter(pk=update.pk).update(
                status=Update.Status.DRAFT, scheduled_at=None, scheduled_by=None, updated_at=now
            )
            update.status, update.scheduled_at, update.scheduled_by = (
                Update.Status.DRAFT,
                None,
                None,
            )
        elif current.status == Update.Status.SENDING:
            if current.mailing is not None:
                mailer.mailing_cancel(mailing=current.mailing)
            Update.objects.filter(pk=update.pk).update(
                status=Update.Status.CANCELLED, finished_at=now, updated_at=now
            )
            update.status = Update.Status.CANCELLED
        else:
            raise UpdateNotCancellableError
        _audit(actor=actor, update=update, action=AuditEntry.Action.UPDATE_CANCEL)
    return update.status


def update_test_send(*, actor: Any, update: Update, language: str) -> None:
    """Mail the update, in ``language``, to the organiser's own address (sample links).

    Raises ``UpdateTestTooSoonError`` if this organiser got a test of it seconds ago, and
    ``ValueError`` if their account has no address.
    """
    _check(actor=actor, update=update)
    if not getattr(actor, "email", ""):
        raise ValueError("the account has no email address")
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"unknown language {language!r}")
    if not cache.add(f"updates:test:{update.pk}:{actor.pk}", 1, timeout=TEST_INTERVAL_SECONDS):
        raise UpdateTestTooSoonError
    with transaction.atomic():
        emails.update_test_email_queue(update=update, user_id=actor.pk, language=language)


# --- The worker's part -------------------------------------------------------------------------


def update_plan(*, update_id: int, chunk_size: int | None = None) -> bool:
    """Add one delivery per person of the audience, chunk by chunk, then start the mailing.

    Returns True once the mailing has started (now or before). Resumes where an earlier
    run stopped (``planned_through``); runs in parallel with another without adding
    anyone twice (each chunk is added under the update's row lock, and the mailer's unique
    constraint has the last word). Stops quietly if the update was cancelled meanwhile.
    """
    size = chunk_size or settings.UPDATES_PLAN_CHUNK
    update = Update.objects.select_related("mailing").filter(pk=update_id).first()
    if update is None or update.status != Update.Status.SENDING or update.mailing is None:
        return False
    if update.planned_at is not None:
        return True
    after = update.planned_through
    while chunk := audience.update_audience_chunks(
        campaign_id=update.campaign_id, after_id=after, size=size
    ):
        with transaction.atomic():
            locked = Update.objects.select_for_update().get(pk=update_id)
            if locked.status != Update.Status.SENDING or locked.planned_at is not None:
                return locked.planned_at is not None
            if locked.planned_through > after:  # another run got further: follow it
                after = locked.planned_through
                continue
            mailer.deliveries_add(
                mailing=update.mailing,
                recipients=[
                    mailer.PlannedRecipient(
                        recipient_ref=petition_emails.supporter_ref(
                            supporter_id=member.supporter_id
                        ),
                        address_digest=member.email_digest,
                        language=member.language,
                    )
                    for member in chunk
                ],
            )
            after = chunk[-1].supporter_id
            Update.objects.filter(pk=update_id).update(planned_through=after)
    return _plan_finish(update_id=update_id, mailing=update.mailing)


def _plan_finish(*, update_id: int, mailing: Mailing) -> bool:
    with transaction.atomic():
        locked = Update.objects.select_for_update().get(pk=update_id)
        if locked.status != Update.Status.SENDING:
            return False
        if locked.planned_at is None:
            total = mail_selectors.mailing_progress(mailing=mailing).total
            Update.objects.filter(pk=update_id).update(
                planned_at=timezone.now(), audience_size=total
            )
        mailer.mailing_start(mailing=mailing)
    return True


def _scheduler_may_send(*, update: Update) -> bool:
    """Whether the member who scheduled the update may still send the organisation's updates.

    Their role is read now, not when they clicked: someone removed from the organisation,
    given a role without the right, or whose account was closed, sends nothing. (No second
    factor can be asked of a task; the right was checked with one when they scheduled.)
    """
    user = update.scheduled_by
    if user is None or not user.is_active:
        return False
    membership = membership_get(user=user, organisation=update.campaign.organisation)
    return membership is not None and role_allows(role=membership.role, action=Action.UPDATE_SEND)


def _unschedule(*, update: Update, now: datetime, reason: UnscheduledReason) -> bool:
    """Take a due schedule back (the update is a draft again), say why on its page and in
    the audit log. Call inside a transaction."""
    # Only the schedule that was read: one a member set meanwhile stands.
    changed = Update.objects.filter(
        pk=update.pk,
        status=Update.Status.SCHEDULED,
        scheduled_at=update.scheduled_at,
        scheduled_by_id=update.scheduled_by_id,
    ).update(
        status=Update.Status.DRAFT,
        scheduled_at=None,
        scheduled_by=None,
        unscheduled_at=now,
        unscheduled_reason=reason,
        updated_at=now,
    )
    if changed != 1:
        return False
    _audit(actor=None, update=update, action=AuditEntry.Action.UPDATE_CANCEL, reason=reason.value)
    logger.info("scheduled update %s taken back: %s", update.public_id, reason.value)
    return True


def updates_due_start(*, now: datetime | None = None, limit: int = 100) -> int:
    """Start the scheduled updates whose time has come; returns how many started.

    Each start is the same conditional UPDATE as a click on "send", so an organiser who
    clicks "send now" at the scheduled minute and this task cannot both start it. An update
    whose scheduler may no longer send updates is not sent: it becomes a draft again, with
    the reason on its page and an entry in the audit log (by "system").
    """
    now = now or timezone.now()
    due = list(
        Update.objects.filter(status=Update.Status.SCHEDULED, scheduled_at__lte=now)
        .select_related("campaign__organisation", "scheduled_by")
        .order_by("scheduled_at")[:limit]
    )
    started = 0
    for update in due:
        with transaction.atomic():
            if not _scheduler_may_send(update=update):
                _unschedule(update=update, now=now, reason=UnscheduledReason.SCHEDULER_NOT_ALLOWED)
                continue
            if _begin(update=update, now=now, from_statuses=[Update.Status.SCHEDULED]):
                _audit(
                    actor=None, update=update, action=AuditEntry.Action.UPDATE_SEND, scheduled=True
                )
                started += 1
    return started


def updates_plan_stale(*, now: datetime | None = None) -> list[int]:
    """Ids of updates being sent whose planning has not ended well after it began (their
    task may have been lost): the periodic task enqueues their planning again."""
    cutoff = (now or timezone.now()) - PLAN_STALE_AFTER
    return list(
        Update.objects.filter(
            status=Update.Status.SENDING, planned_at__isnull=True, sending_at__lt=cutoff
        ).values_list("pk", flat=True)[:100]
    )


def updates_finish(*, now: datetime | None = None) -> int:
    """Mark updates sent once their mailing is done (or cancelled by the mailer's staff).

    Returns how many changed. The final tally stays readable from the mailing's rows.
    """
    now = now or timezone.now()
    changed = 0
    sending = Update.objects.filter(
        status=Update.Status.SENDING, planned_at__isnull=False
    ).select_related("mailing")
    for update in sending[:500]:
        mailing = update.mailing
        if mailing is None:
            continue
        if mailing.status == Mailing.Status.DONE or (
            mailing.status == Mailing.Status.SENDING
            and mail_selectors.mailing_progress(mailing=mailing).finished
        ):
            status = Update.Status.SENT
        elif mailing.status == Mailing.Status.CANCELLED:
            status = Update.Status.CANCELLED
        else:
            continue
        changed += Update.objects.filter(pk=update.pk, status=Update.Status.SENDING).update(
            status=status, finished_at=mailing.finished_at or now, updated_at=now
        )
    return changed
