"""Processing stored provider events: the message's final status, and suppression.

``email_event_process`` runs in a task enqueued when the event was stored;
``email_events_sweep`` (periodic) processes events whose task was lost and deletes old
ones. Processing claims the event (a row lock on an unprocessed event, ``SKIP LOCKED``)
and does everything in that one transaction, so a worker that dies leaves the event to
the sweep, and two workers never process one event. Every step is idempotent anyway:
statuses only move forward and an address is suppressed once.

What each event does (docs/emails.md, "Webhooks"):

============  ==================  =============================================
event         delivery status     suppression
============  ==================  =============================================
delivered     delivered           none
bounced       bounced             hard: at once; soft or unknown: once the address
                                  soft-bounced 3 messages within 30 days
complained    complained          at once ("complaint")
unsubscribed  (unchanged)         at once ("unsubscribed from everything")
rejected      bounced             by the provider's reason: a previous bounce or an
                                  invalid address "hard bounce", a complaint
                                  "complaint", an unsubscribe "unsubscribed", repeated
                                  failures "soft bounces"; a policy block none
============  ==================  =============================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from mailer.bulk.suppression import delivery_status_record, suppression_add
from mailer.models import Delivery, EmailEvent, OutboxMessage, Suppression

T = EmailEvent.Type
SOFT_BOUNCE_LIMIT = 3
SOFT_BOUNCE_WINDOW = timedelta(days=30)
# A webhook can outrun the worker that records the provider's id for the message (a bulk
# worker records it as it hands over the next one). An event that finds no message yet is
# left unprocessed and the sweep tries it again, until it is this old.
MATCH_GRACE = timedelta(minutes=2)
# The sweep takes up events this old whose task has not processed them.
SWEEP_AFTER = timedelta(minutes=1)
# Events are kept this long, then deleted: longer than the soft-bounce window plus the age
# past which an event is ignored on arrival (receiver.EVENT_MAX_AGE), so that every
# event still acted on is recognised if it comes again.
EVENT_RETENTION = timedelta(days=45)

# The status an event gives the message it is about.
_STATUS = {
    T.DELIVERED: Delivery.Status.DELIVERED,
    T.BOUNCED: Delivery.Status.BOUNCED,
    T.COMPLAINED: Delivery.Status.COMPLAINED,
    T.REJECTED: Delivery.Status.BOUNCED,
}
# The same forward-only order as deliveries (mailer.bulk.suppression): a later
# "delivered" never undoes a bounce, and a complaint is the last word.
_OUTBOX_FROM: dict[str, list[str]] = {
    OutboxMessage.ProviderStatus.DELIVERED: [OutboxMessage.ProviderStatus.NONE],
    OutboxMessage.ProviderStatus.BOUNCED: [
        OutboxMessage.ProviderStatus.NONE,
        OutboxMessage.ProviderStatus.DELIVERED,
    ],
    OutboxMessage.ProviderStatus.COMPLAINED: [
        OutboxMessage.ProviderStatus.NONE,
        OutboxMessage.ProviderStatus.DELIVERED,
        OutboxMessage.ProviderStatus.BOUNCED,
    ],
}
# A rejection because of the provider's own suppression list (anymail's reject_reason).
# "blocked" and "other" are about the provider's policy or our sending, not the address.
_REJECTED_SUPPRESSION = {
    "bounced": Suppression.Reason.HARD_BOUNCE,
    "invalid": Suppression.Reason.HARD_BOUNCE,
    "spam": Suppression.Reason.COMPLAINT,
    "unsubscribed": Suppression.Reason.UNSUBSCRIBED_ALL,
    "timed_out": Suppression.Reason.SOFT_BOUNCES,
}


@dataclass(frozen=True)
class EventOutcome:
    """What processing did: "processed", "waiting" (its message is not known yet, the
    sweep tries again) or "skipped" (processed already, or being processed)."""

    status: str
    recorded: int = 0
    suppressed: str | None = None


def email_event_process(*, event_id: int, final: bool = False) -> EventOutcome:
    """Record the event's status on its message and apply suppression. Safe to run twice.

    ``final`` processes the event even if its message is not found (the sweep, once the
    event is older than ``MATCH_GRACE``): suppression never waits for the message.
    """
    now = timezone.now()
    with transaction.atomic():
        event = (
            EmailEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, processed_at__isnull=True)
            .first()
        )
        if event is None:
            return EventOutcome(status="skipped")
        found, recorded = _status_record(event=event)
        reason = _suppression_reason(event=event)
        added = reason is not None and suppression_add(
            address_digest=event.address_digest,
            reason=reason,
            source_event_id=f"{event.esp}:{event.event_id}"[:200],
        )
        suppressed = reason if added else None
        if not found and not final and event.received_at > now - MATCH_GRACE:
            return EventOutcome(status="waiting", recorded=recorded, suppressed=suppressed)
        EmailEvent.objects.filter(pk=event.pk).update(processed_at=now)
    return EventOutcome(status="processed", recorded=recorded, suppressed=suppressed)


def _status_record(*, event: EmailEvent) -> tuple[bool, int]:
    """Move the event's delivery or outbox row forward; (message found, rows changed)."""
    status = _STATUS.get(T(event.event_type))
    message_id = event.provider_message_id
    if status is None or not message_id:
        return True, 0  # nothing to record, nothing to wait for
    changed = delivery_status_record(
        provider_message_id=message_id, status=status, address_digest=event.address_digest
    )
    changed += OutboxMessage.objects.filter(
        provider_message_id=message_id, provider_status__in=_OUTBOX_FROM[status]
    ).update(provider_status=status)
    if changed:
        return True, changed
    # Nothing moved: a status already final, or no such message (yet).
    found = (
        Delivery.objects.filter(
            provider_message_id=message_id, address_digest=event.address_digest
        ).exists()
        or OutboxMessage.objects.filter(provider_message_id=message_id).exists()
    )
    return found, 0


def _suppression_reason(*, event: EmailEvent) -> str | None:
    event_type = T(event.event_type)
    if event_type == T.BOUNCED:
        if event.bounce_kind == EmailEvent.BounceKind.HARD:
            return Suppression.Reason.HARD_BOUNCE
        return Suppression.Reason.SOFT_BOUNCES if _soft_bounces_reached(event=event) else None
    if event_type == T.COMPLAINED:
        return Suppression.Reason.COMPLAINT
    if event_type == T.UNSUBSCRIBED:
        return Suppression.Reason.UNSUBSCRIBED_ALL
    if event_type == T.REJECTED:
        return _REJECTED_SUPPRESSION.get(event.reject_reason)
    return None


def _soft_bounces_reached(*, event: EmailEvent) -> bool:
    """Whether the address soft-bounced ``SOFT_BOUNCE_LIMIT`` messages within the window.

    Any window that holds this event counts, whatever order the events arrived in. A
    message counts once, however many soft bounces the provider reported for it; a bounce
    of unknown kind counts as soft.
    """
    bounces = EmailEvent.objects.filter(
        address_digest=event.address_digest,
        event_type=T.BOUNCED,
        bounce_kind__in=[EmailEvent.BounceKind.SOFT, EmailEvent.BounceKind.UNKNOWN],
        occurred_at__gte=event.occurred_at - SOFT_BOUNCE_WINDOW,
        occurred_at__lte=event.occurred_at + SOFT_BOUNCE_WINDOW,
    ).values_list("provider_message_id", "event_id", "occurred_at")
    first_by_message: dict[str, datetime] = {}
    for message_id, key, occurred_at in bounces:
        message = message_id or f"event:{key}"
        first_by_message[message] = min(first_by_message.get(message, occurred_at), occurred_at)
    times = sorted(first_by_message.values())
    return any(
        times[i + SOFT_BOUNCE_LIMIT - 1] - times[i] <= SOFT_BOUNCE_WINDOW
        for i in range(len(times) - SOFT_BOUNCE_LIMIT + 1)
    )


def email_events_sweep(*, limit: int = 1000) -> dict[str, int]:
    """Process events whose task was lost (broker down, worker killed); delete old events.

    Oldest first; an event older than ``MATCH_GRACE`` is processed whether or not its
    message is known by now.
    """
    now = timezone.now()
    due = (
        EmailEvent.objects.filter(processed_at__isnull=True, received_at__lt=now - SWEEP_AFTER)
        .order_by("received_at")
        .values_list("pk", "received_at")[:limit]
    )
    processed = 0
    for pk, received_at in list(due):
        outcome = email_event_process(event_id=pk, final=received_at < now - MATCH_GRACE)
        processed += outcome.status == "processed"
    return {"processed": processed, "deleted": email_events_prune(now=now)}


def email_events_prune(*, now: datetime | None = None, batch: int = 5000) -> int:
    """Delete processed events older than ``EVENT_RETENTION`` (a batch per call)."""
    cutoff = (now or timezone.now()) - EVENT_RETENTION
    old = EmailEvent.objects.filter(occurred_at__lt=cutoff, processed_at__isnull=False)
    ids = list(old.order_by("occurred_at").values_list("pk", flat=True)[:batch])
    deleted, _ = EmailEvent.objects.filter(pk__in=ids).delete()
    return deleted
