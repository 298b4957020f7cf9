"""The mailer's suppression list and what providers tell us about deliveries.

Both are written by webhooks (a later addition) and by feature apps (someone who
unsubscribes from everything). Addresses are known only by their keyed hash
(``trust.identity.email_digest``): the list never holds an address.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from mailer.models import Delivery, Suppression

# What a delivery may become once the provider reports on it. A row keeps its final word:
# a later "delivered" never undoes a bounce or a complaint; a late bounce after
# "delivered" is recorded, and a complaint is the last word.
_REPORTABLE_FROM = {
    Delivery.Status.DELIVERED: (Delivery.Status.SENT, Delivery.Status.UNKNOWN),
    Delivery.Status.BOUNCED: (
        Delivery.Status.SENT,
        Delivery.Status.UNKNOWN,
        Delivery.Status.DELIVERED,
    ),
    Delivery.Status.COMPLAINED: (
        Delivery.Status.SENT,
        Delivery.Status.UNKNOWN,
        Delivery.Status.DELIVERED,
        Delivery.Status.BOUNCED,
    ),
}
# A row still being handed over may hear from the provider before the worker records it.
_IN_HAND = (Delivery.Status.HANDING,)


def suppression_add(*, address_digest: str, reason: str, source_event_id: str = "") -> bool:
    """Put an address on the suppression list; True if it was not on it already.

    An address already on the list keeps its first reason. ``reason`` is one of
    ``Suppression.Reason``; ``source_event_id`` is the provider's event id, if any.
    From now on no bulk mail goes to it (checked at send time, for every batch).
    """
    if reason not in Suppression.Reason.values:
        raise ValueError(f"not a suppression reason: {reason!r}")
    if len(address_digest) != 64:
        raise ValueError("an address digest has 64 characters")
    try:
        with transaction.atomic():
            Suppression.objects.create(
                address_digest=address_digest, reason=reason, source_event_id=source_event_id
            )
    except IntegrityError:
        return False
    return True


def suppression_remove(*, address_digest: str, reasons: tuple[str, ...] | None = None) -> bool:
    """Take an address off the list (it subscribed again); True if it was on it.

    ``reasons`` limits the removal to entries with one of those reasons, so that someone
    who unsubscribed and subscribes again is not freed from a complaint or a hard bounce.
    """
    entries = Suppression.objects.filter(address_digest=address_digest)
    if reasons is not None:
        entries = entries.filter(reason__in=list(reasons))
    deleted, _ = entries.delete()
    return bool(deleted)


def delivery_status_record(
    *, provider_message_id: str, status: str, address_digest: str | None = None
) -> int:
    """Record what the provider reported about a sent message; returns rows changed.

    ``status`` is "delivered", "bounced" or "complained". ``address_digest`` narrows to
    one recipient when several deliveries share the provider's id (an ESP batch call).
    Transitions only go forward (see ``_REPORTABLE_FROM``): a repeated or late event
    changes nothing, so webhook retries are harmless.
    """
    try:
        allowed_from = _REPORTABLE_FROM[Delivery.Status(status)]
    except (KeyError, ValueError):
        raise ValueError(f"not a reportable delivery status: {status!r}") from None
    if not provider_message_id:
        return 0
    rows = Delivery.objects.filter(
        provider_message_id=provider_message_id, status__in=[*allowed_from, *_IN_HAND]
    )
    if address_digest is not None:
        rows = rows.filter(address_digest=address_digest)
    return rows.update(status=status)
