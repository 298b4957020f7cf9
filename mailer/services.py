"""Writing, rendering and sending email through the outbox.

Feature apps register their email types (``mailer.registry``) and call
``outbox_message_queue`` inside the business transaction: it writes an outbox row and
enqueues its send task only after that transaction commits.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from common.tasks import enqueue_now, enqueue_on_commit

# Bulk mail (mailer.bulk), re-exported: feature apps use one module for writing mail.
from mailer.bulk.planning import MailingNotPlanning as MailingNotPlanning
from mailer.bulk.planning import PlannedRecipient as PlannedRecipient
from mailer.bulk.planning import deliveries_add as deliveries_add
from mailer.bulk.planning import mailing_cancel as mailing_cancel
from mailer.bulk.planning import mailing_create as mailing_create
from mailer.bulk.planning import mailing_delete as mailing_delete
from mailer.bulk.planning import mailing_start as mailing_start
from mailer.bulk.removal import deliveries_delete as deliveries_delete
from mailer.bulk.suppression import delivery_status_record as delivery_status_record
from mailer.bulk.suppression import suppression_add as suppression_add
from mailer.bulk.suppression import suppression_remove as suppression_remove
from mailer.errors import send_error_describe, send_error_is_transient
from mailer.models import OutboxMessage
from mailer.registry import Envelope, email_type_get
from mailer.selectors import outbox_messages_filter

logger = logging.getLogger(__name__)

# Automated mail must say so (RFC 3834), which also stops auto-replies and vacation loops.
AUTOMATED_HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
# Recorded on a row whose recipient has no stored address (dropped, erased, never kept).
NO_ADDRESS_ERROR = "no address: the supporter's email is not stored"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class SendOutcome:
    status: str
    retry_in: float | None = None


def outbox_message_queue(
    *,
    kind: str,
    recipient_ref: str,
    about: dict[str, str] | None = None,
    language: str,
) -> OutboxMessage:
    """Write an outbox row and send it once the transaction commits.

    Call inside the business transaction that causes the email. ``kind`` is a registered
    email type (``mailer.registry``); ``recipient_ref`` and ``about`` are the owning app's
    references to the person and to what the message is about, handed back to the kind's
    builder at send time (the address is read then, not now). ``about`` keys listed in
    ``mailer.models.ABOUT_KEYS`` can be asked by cheaply (``outbox_messages_delete``).
    """
    email_type_get(kind=kind)  # an unknown kind fails here, in the caller's transaction
    if not recipient_ref:
        raise ValueError("a message needs a recipient")
    message = OutboxMessage.objects.create(
        kind=kind, recipient_ref=recipient_ref, about=about or {}, language=language
    )
    from mailer.tasks import outbox_send  # the tasks module imports the services

    # If the broker is down, the row stays queued and ``outbox_requeue`` sends it later.
    enqueue_on_commit(outbox_send, message.pk)
    return message


def outbox_message_enqueue(*, message_id: int) -> bool:
    """Send the row's task now (outside any transaction); False if the broker is down."""
    from mailer.tasks import outbox_send

    return enqueue_now(outbox_send, message_id)


def outbox_messages_delete(
    *,
    recipient_refs: Collection[str] | None = None,
    about_key: str | None = None,
    about_ids: Collection[int] = (),
    unsent_only: bool = False,
) -> int:
    """Delete the messages of these recipients, or about these things; returns how many.

    A feature app calls this when it deletes a person (``recipient_refs``) or something
    messages are about (``about_key`` and ``about_ids``, e.g. ``"signature"`` and the ids
    of signatures), since the outbox holds no foreign keys that would cascade.
    ``unsent_only`` keeps what was sent (the person's record of what we sent them) and
    deletes only queued rows. Given neither recipients nor ids, it deletes nothing.
    """
    messages = outbox_messages_filter(
        recipient_refs=recipient_refs, about_key=about_key, about_ids=about_ids
    )
    if unsent_only:
        messages = messages.filter(status=OutboxMessage.Status.QUEUED)
    deleted, _ = messages.delete()
    return deleted


def email_render(*, message: OutboxMessage) -> RenderedEmail:
    """Subject, text and HTML of a message, in the recipient's language.

    Raises ``ValueError`` if the message has nobody to write to any more.
    """
    envelope = _envelope(message=message)
    if envelope is None:
        raise ValueError("the message has no address to go to")
    return _render(message=message, context=envelope.context)


def _envelope(*, message: OutboxMessage) -> Envelope | None:
    envelope = email_type_get(kind=message.kind).build(message)
    if envelope is None or not envelope.address:
        return None
    return envelope


def _render(*, message: OutboxMessage, context: dict[str, Any]) -> RenderedEmail:
    templates = email_type_get(kind=message.kind).templates
    with translation.override(message.language):
        subject = render_to_string(f"{templates}.subject.txt", context)
        text = render_to_string(f"{templates}.txt", context)
        html = render_to_string(f"{templates}.html", context)
    # A header cannot hold a newline; templates end with one.
    return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html)


def claim_lease() -> timedelta:
    """How long a row stays claimed; after that a send whose worker died is taken up again.

    Longer than the send task's hard time limit, so a send still running is never taken
    over (``MAILER_CLAIM_LEASE_SECONDS``).
    """
    return timedelta(seconds=settings.MAILER_CLAIM_LEASE_SECONDS)


def _claim(*, message_id: int) -> bool:
    now = timezone.now()
    claimable = Q(status=OutboxMessage.Status.QUEUED) | Q(
        status=OutboxMessage.Status.SENDING, claimed_at__lt=now - claim_lease()
    )
    claimed = OutboxMessage.objects.filter(claimable, pk=message_id).update(
        status=OutboxMessage.Status.SENDING, claimed_at=now
    )
    return claimed == 1


def retry_delay(*, attempts: int) -> float:
    """Exponential backoff with jitter: about 30 s, 1 min, 2 min … capped at one hour."""
    # The exponent is bounded first: 2 ** 10_000 is too large for a float.
    base = min(3600.0, 30.0 * 2 ** min(max(0, attempts - 1), 20))
    return base * random.uniform(0.5, 1.5)  # noqa: S311 - jitter, not cryptography


def outbox_message_send(*, message_id: int) -> SendOutcome:
    """Claim the row, send it, record the outcome. Safe to call twice for one message.

    Returns the outcome; ``retry_in`` is set when a transient failure should be retried.
    A message that is already sent, failed, or being sent by another worker is left alone.
    """
    if not _claim(message_id=message_id):
        return SendOutcome(status="skipped")
    message = OutboxMessage.objects.get(pk=message_id)
    attempts = message.attempts + 1
    try:
        # The kind's builder reads the address now, so one dropped or erased after the row
        # was written is never mailed.
        envelope = _envelope(message=message)
        rendered = None if envelope is None else _render(message=message, context=envelope.context)
    except Exception as exc:
        # A template or data bug will not fix itself by retrying: record it and stop,
        # rather than leave the row claimed forever.
        logger.exception("outbox %s: could not be rendered", message.pk)
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=OutboxMessage.Status.FAILED,
            attempts=attempts,
            last_error=send_error_describe(exc),
        )
        return SendOutcome(status=OutboxMessage.Status.FAILED)
    if envelope is None or rendered is None:
        # The address was dropped (no consent, no mail due) or erased after this row was
        # written: nothing to send to, and retrying will not bring it back.
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=OutboxMessage.Status.FAILED, attempts=attempts, last_error=NO_ADDRESS_ERROR
        )
        logger.warning("outbox %s: the recipient has no stored address", message.pk)
        return SendOutcome(status=OutboxMessage.Status.FAILED)
    email = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[envelope.address],
        headers=AUTOMATED_HEADERS,
    )
    email.attach_alternative(rendered.html, "text/html")
    # The connection is opened and closed here, not by send(): the row is recorded as sent
    # the moment the provider has accepted the message, before the goodbye (SMTP QUIT) that
    # may still stall or be cut short by a killed worker. A second copy is then possible
    # only if the worker dies between the provider's "accepted" and this UPDATE.
    connection = get_connection(fail_silently=False)
    email.connection = connection
    try:
        connection.open()
        email.send()
    except Exception as exc:
        _connection_close(connection)
        return _record_failure(message=message, attempts=attempts, exc=exc)
    # Anymail's id may be any scalar (the test backend uses ints, starting at 0).
    provider_id = getattr(getattr(email, "anymail_status", None), "message_id", None)
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxMessage.Status.SENT,
        attempts=attempts,
        sent_at=timezone.now(),
        last_error="",
        provider_message_id="" if provider_id is None else str(provider_id)[:200],
    )
    _connection_close(connection)
    return SendOutcome(status=OutboxMessage.Status.SENT)


def _connection_close(connection: Any) -> None:
    # The message's fate is already recorded; a failing goodbye changes nothing about it.
    try:
        connection.close()
    except Exception:
        logger.warning("could not close the mail connection cleanly", exc_info=True)


def _record_failure(*, message: OutboxMessage, attempts: int, exc: Exception) -> SendOutcome:
    description = send_error_describe(exc)
    if send_error_is_transient(exc) and attempts < settings.MAILER_MAX_ATTEMPTS:
        delay = retry_delay(attempts=attempts)
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=OutboxMessage.Status.QUEUED,
            attempts=attempts,
            last_error=description,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )
        logger.warning("outbox %s: transient failure, retry in %.0fs", message.pk, delay)
        return SendOutcome(status=OutboxMessage.Status.QUEUED, retry_in=delay)
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxMessage.Status.FAILED, attempts=attempts, last_error=description
    )
    logger.warning("outbox %s: failed permanently (%s)", message.pk, type(exc).__name__)
    return SendOutcome(status=OutboxMessage.Status.FAILED)


def outbox_requeue(*, older_than: timedelta | None = None, limit: int = 500) -> int:
    """Enqueue rows whose send task was lost; returns how many were enqueued.

    Fresh rows (younger than ``older_than``, by default ``MAILER_REQUEUE_AFTER_SECONDS``)
    are left to the task enqueued at commit; rows waiting for a retry are left until their
    time comes. A row enqueued here is not enqueued again for another ``older_than``, so a
    long backlog is not multiplied in the queue by every run. The claim keeps two workers
    from sending one row at once; a row whose worker died mid-send is taken up once its
    claim is older than the lease.
    """
    if older_than is None:
        older_than = timedelta(seconds=settings.MAILER_REQUEUE_AFTER_SECONDS)
    now = timezone.now()
    due = (
        Q(status=OutboxMessage.Status.QUEUED, created_at__lt=now - older_than)
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    ) | Q(status=OutboxMessage.Status.SENDING, claimed_at__lt=now - claim_lease())
    ids = list(
        OutboxMessage.objects.filter(due).order_by("pk").values_list("pk", flat=True)[:limit]
    )
    # "Not before" for the sweep only: claiming a queued row ignores it.
    OutboxMessage.objects.filter(pk__in=ids, status=OutboxMessage.Status.QUEUED).update(
        next_attempt_at=now + older_than
    )
    for message_id in ids:
        outbox_message_enqueue(message_id=message_id)
    return len(ids)
