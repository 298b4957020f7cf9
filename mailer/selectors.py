"""Reading the outbox for the apps whose messages it holds."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.db.models import Q, QuerySet
from django.db.models.lookups import In

# Bulk mail (mailer.bulk), re-exported: feature apps use one module for reading mail.
from mailer.bulk.selectors import MailingProgress as MailingProgress
from mailer.bulk.selectors import deliveries_of_recipient as deliveries_of_recipient
from mailer.bulk.selectors import mailing_get as mailing_get
from mailer.bulk.selectors import mailing_progress as mailing_progress
from mailer.bulk.selectors import mailings_progress as mailings_progress
from mailer.bulk.selectors import suppressed_digests as suppressed_digests
from mailer.bulk.selectors import suppression_exists as suppression_exists
from mailer.models import AboutKey, OutboxMessage

UNSENT = (OutboxMessage.Status.QUEUED, OutboxMessage.Status.SENDING)


def outbox_messages_filter(
    *,
    recipient_refs: Collection[str] | None = None,
    about_key: str | None = None,
    about_ids: Collection[int] = (),
    statuses: Collection[str] | None = None,
) -> QuerySet[OutboxMessage]:
    """Messages to any of ``recipient_refs`` or about any of ``about_ids`` (by ``about_key``).

    Given both, a message matches either. Given neither, nothing matches: a caller that
    computed an empty list never gets the whole outbox. ``statuses`` narrows to those.
    """
    condition = Q(pk__in=[])
    if recipient_refs:
        condition |= Q(recipient_ref__in=list(recipient_refs))
    if about_key is not None and about_ids:
        # The same expression as the key's index (mailer.models.ABOUT_KEYS).
        condition |= Q(In(AboutKey(about_key), [str(pk) for pk in about_ids]))
    messages = OutboxMessage.objects.filter(condition)
    if statuses is not None:
        messages = messages.filter(status__in=list(statuses))
    return messages


def outbox_messages_unsent(*, recipient_ref: object) -> QuerySet[OutboxMessage]:
    """Queued or sending messages to ``recipient_ref``.

    ``recipient_ref`` may be an expression (e.g. built on ``OuterRef``), so a caller can
    ask "has this person mail still to go?" for many people in one query (``Exists``).
    """
    return OutboxMessage.objects.filter(recipient_ref=recipient_ref, status__in=UNSENT)


def outbox_messages_count(
    *, about_key: str, about_ids: Collection[int], statuses: Collection[str] | None = None
) -> int:
    """How many messages are about any of ``about_ids`` (e.g. the queued mail of petitions)."""
    return outbox_messages_filter(
        about_key=about_key, about_ids=about_ids, statuses=statuses
    ).count()


def outbox_message_last_created_at(*, recipient_ref: str, kind: str) -> datetime | None:
    """When the latest message of ``kind`` to ``recipient_ref`` was written, if ever."""
    return (
        OutboxMessage.objects.filter(recipient_ref=recipient_ref, kind=kind)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def outbox_messages_of_recipient(*, recipient_ref: str) -> QuerySet[OutboxMessage]:
    """Every message to ``recipient_ref``, oldest first (what a person may download)."""
    return OutboxMessage.objects.filter(recipient_ref=recipient_ref).order_by("created_at", "pk")
