"""Writing, rendering and sending email through the outbox.

Entry points, one per email type, are called inside the business transaction: they write
an outbox row and enqueue its send task only after that transaction commits.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from common.tasks import enqueue_now, enqueue_on_commit
from mailer.errors import send_error_describe, send_error_is_transient
from mailer.messages import BUILDERS
from mailer.models import OutboxMessage
from petitions.models import SignAttempt, Signature, Supporter

logger = logging.getLogger(__name__)

# Automated mail must say so (RFC 3834), which also stops auto-replies and vacation loops.
AUTOMATED_HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
# Recorded on a row whose supporter has no stored address (dropped, or never kept).
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
    signature: Signature | None = None,
    supporter: Supporter | None = None,
    language: str | None = None,
    sign_attempt: SignAttempt | None = None,
) -> OutboxMessage:
    """Write an outbox row and send it once the transaction commits.

    A message is about a signature (its supporter is the recipient) or, given only
    ``supporter``, about the person as a whole (e.g. the link to manage their data).
    A confirmation email also names the ``sign_attempt`` whose link and code it carries.
    """
    if signature is not None:
        if signature.supporter is None:
            raise ValueError("an anonymised signature has nobody to write to")
        supporter = signature.supporter
    if supporter is None:
        raise ValueError("a message needs a signature or a supporter")
    message = OutboxMessage.objects.create(
        kind=kind,
        supporter=supporter,
        petition=signature.petition if signature is not None else None,
        signature=signature,
        sign_attempt=sign_attempt,
        language=language or (signature or supporter).language,
    )
    from mailer.tasks import outbox_send  # the tasks module imports the services

    # If the broker is down, the row stays queued and ``outbox_requeue`` sends it later.
    enqueue_on_commit(outbox_send, message.pk)
    return message


def outbox_message_enqueue(*, message_id: int) -> bool:
    """Send the row's task now (outside any transaction); False if the broker is down."""
    from mailer.tasks import outbox_send

    return enqueue_now(outbox_send, message_id)


def signature_confirm_email_queue(*, sign_attempt: SignAttempt) -> OutboxMessage:
    """The email with the link and code of one sign attempt on a pending signature.

    It goes to the supporter's stored address, in the attempt's language, and names
    nothing the attempt's author typed: before the address is confirmed, the author may
    be anyone, and the email must not carry their words.
    """
    signature = sign_attempt.signature
    if signature is None:
        raise ValueError("a sign attempt is mailed once it has its signature")
    return outbox_message_queue(
        kind=OutboxMessage.Kind.SIGNATURE_CONFIRM,
        signature=signature,
        sign_attempt=sign_attempt,
        language=sign_attempt.language,
    )


def signature_already_signed_email_queue(
    *, signature: Signature, language: str | None = None
) -> OutboxMessage:
    """The email telling someone who signed again that their signature already counts.

    ``language`` is the one they used this time, which may differ from the first.
    """
    return outbox_message_queue(
        kind=OutboxMessage.Kind.SIGNATURE_ALREADY_SIGNED, signature=signature, language=language
    )


def signature_manage_link_email_queue(
    *, supporter: Supporter, language: str | None = None
) -> OutboxMessage:
    """The email with a link to the page where a supporter sees and manages their data.

    The caller makes sure the supporter has an address to write to (see
    ``petitions.services.manage_links.manage_link_request``).
    """
    return outbox_message_queue(
        kind=OutboxMessage.Kind.SIGNATURE_MANAGE_LINK, supporter=supporter, language=language
    )


def email_render(*, message: OutboxMessage) -> RenderedEmail:
    """Subject, text and HTML of a message, in the recipient's language."""
    context = BUILDERS[message.kind](message)
    with translation.override(message.language):
        subject = render_to_string(f"emails/{message.kind}.subject.txt", context)
        text = render_to_string(f"emails/{message.kind}.txt", context)
        html = render_to_string(f"emails/{message.kind}.html", context)
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
    message = OutboxMessage.objects.select_related(
        "supporter", "signature__petition__campaign__organisation", "sign_attempt"
    ).get(pk=message_id)
    attempts = message.attempts + 1
    if not message.supporter.email:
        # The address was dropped (no consent, no mail due) after this row was written:
        # nothing to send to, and retrying will not bring it back.
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=OutboxMessage.Status.FAILED, attempts=attempts, last_error=NO_ADDRESS_ERROR
        )
        logger.warning("outbox %s: the supporter has no stored address", message.pk)
        return SendOutcome(status=OutboxMessage.Status.FAILED)
    try:
        rendered = email_render(message=message)
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
    email = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.supporter.email],
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
