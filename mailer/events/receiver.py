"""Storing provider events: the receiver of anymail's ``tracking`` signal.

It runs inside the webhook request, so it only stores: one ``EmailEvent`` row per event
that matters, and a processing task enqueued after commit (the sweep processes events
whose task was lost). A replayed event hits the unique constraint and stores nothing.
Neither the address nor the payload is ever stored or logged: the address becomes its
keyed hash here. A failure to store (the database is down) raises, so the provider gets
an error and sends the webhook again later: nothing is lost.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.tasks import enqueue_on_commit
from mailer.events.classify import bounce_kind
from mailer.models import EmailEvent
from trust.identity import email_digest

logger = logging.getLogger(__name__)

# The events that change something; every other type (queued, sent, deferred, opened,
# clicked, subscribed, autoresponded, failed, unknown) is answered 200 and not stored.
# Deferrals are not bounces: the provider keeps trying and reports a bounce or a delivery.
STORED_TYPES = {
    EventType.DELIVERED: EmailEvent.Type.DELIVERED,
    EventType.BOUNCED: EmailEvent.Type.BOUNCED,
    EventType.COMPLAINED: EmailEvent.Type.COMPLAINED,
    EventType.UNSUBSCRIBED: EmailEvent.Type.UNSUBSCRIBED,
    EventType.REJECTED: EmailEvent.Type.REJECTED,
}
# Providers retry a webhook for hours (Mailgun 8 h, SendGrid 72 h), not for days: an
# event older than this is a replay or a backlog too stale to act on. Events are kept
# (and so recognised as replays) much longer: EVENT_RETENTION in mailer.events.processing.
EVENT_MAX_AGE = timedelta(days=7)


def _text(value: object, limit: int = 200) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _occurred_at(value: object, now: datetime) -> datetime | None:
    """The provider's time of the event, never later than now; None if it gave none."""
    if not isinstance(value, datetime) or timezone.is_naive(value):
        return None
    return min(value, now)


def _event_key(
    *, event: AnymailTrackingEvent, event_type: str, message_id: str, digest: str, at: Any
) -> str:
    """The provider's event id; without one, a digest of what makes the event itself.

    Postmark gives ids to bounces only, not to deliveries or subscription changes: those
    are keyed by type, message, recipient and the provider's own time of the event, which
    a resent webhook repeats. (Without a provider time the key leaves time out, so that a
    replay received later is still the same event.)
    """
    provided = event.event_id
    if isinstance(provided, str | int) and not isinstance(provided, bool) and str(provided):
        key = str(provided)
        if len(key) <= 200:
            return key
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    parts = [event_type, message_id, digest, at.isoformat() if at is not None else ""]
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def tracking_event_store(*, esp_name: str, event: AnymailTrackingEvent) -> EmailEvent | None:
    """Store one tracking event if it matters; the new row, or None (ignored or a replay)."""
    event_type = STORED_TYPES.get(event.event_type)
    recipient = _text(event.recipient, limit=400)
    if event_type is None or "@" not in recipient:
        # An event type we do not act on, or no one to act on: answered 200, not stored.
        return None
    now = timezone.now()
    provided_at = _occurred_at(event.timestamp, now)
    if provided_at is not None and provided_at < now - EVENT_MAX_AGE:
        logger.info("%s webhook: a %s event too old to act on was ignored", esp_name, event_type)
        return None
    digest = email_digest(recipient)
    message_id = "" if event.message_id is None else str(event.message_id)[:200]
    kind = bounce_kind(esp_name=esp_name, event=event) if event_type == "bounced" else ""
    key = _event_key(
        event=event, event_type=event_type, message_id=message_id, digest=digest, at=provided_at
    )
    try:
        with transaction.atomic():
            row = EmailEvent.objects.create(
                esp=esp_name[:30],
                event_id=key,
                event_type=event_type,
                bounce_kind=kind,
                reject_reason=_text(event.reject_reason, limit=20),
                provider_message_id=message_id,
                address_digest=digest,
                occurred_at=provided_at or now,
            )
    except IntegrityError:
        # The same event again (a provider's retry, a replay): counted once already.
        return None
    from mailer.tasks import email_event_process  # the tasks module imports processing

    enqueue_on_commit(email_event_process, row.pk)
    return row


def tracking_received(
    sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any
) -> None:
    """anymail's ``tracking`` signal (connected in ``MailerConfig.ready``)."""
    tracking_event_store(esp_name=esp_name, event=event)
