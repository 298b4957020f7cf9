"""Sending a mailing: claim a batch, build it, check suppression, hand it over, record.

A send task (``mailer.tasks.mailing_send``) calls ``mailing_send``, which claims batches of
``MAILER_BULK_BATCH_SIZE`` rows until none are left or ``MAILER_BULK_TASK_SECONDS`` have
passed, then enqueues a fresh task. Per batch: one query for the suppression list, one
call to the kind's builder, one connection to the provider; then either one statement per
message (``rows.row_hand``: previous sent, this one handing) or, with an ESP's batch API,
one statement, one call and one record per batch and template.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.utils import timezone

from mailer.bulk import rows as R
from mailer.bulk.messages import (
    BatchApi,
    CompiledTemplate,
    MergeError,
    batch_api,
    message_batch,
    message_id_new,
    message_one,
    recipient_check,
    template_compile,
)
from mailer.bulk.selectors import PENDING, suppressed_digests
from mailer.bulk.throttle import rate_limiter
from mailer.errors import send_error_describe, send_error_is_in_doubt, send_error_is_transient
from mailer.models import Delivery, Mailing
from mailer.registry import BulkDelivery, BulkRecipient, bulk_email_type_get

logger = logging.getLogger(__name__)

S = Delivery.Status
# What anymail calls a recipient the ESP turned down (the rest were accepted).
REFUSED = {"rejected", "invalid", "failed"}


@dataclass(frozen=True)
class SendReport:
    """What one task did: why it stopped, and how many messages it handed over."""

    status: str
    sent: int = 0


@dataclass
class _Batch:
    mailing: Mailing
    claim: str
    rows: list[R.ClaimedRow]


def batch_size() -> int:
    """Rows per claim: no more than a second's worth of the provider's quota."""
    size = settings.MAILER_BULK_BATCH_SIZE
    if settings.MAILER_BULK_RATE:
        size = min(size, settings.MAILER_BULK_RATE)
    return max(1, size)


def mailing_send(*, mailing_id: int) -> SendReport:
    """Send batches of the mailing for up to ``MAILER_BULK_TASK_SECONDS``. Safe to run twice.

    Returns "stopped" when the mailing is not sending (cancelled, done, deleted), "idle"
    when no row is due (the mailing is marked done if none is pending either), and
    "handed over" when the time was up and a fresh task was enqueued.
    """
    deadline = time.monotonic() + settings.MAILER_BULK_TASK_SECONDS
    sent = 0
    mailing = Mailing.objects.filter(pk=mailing_id).first()
    while True:
        if mailing is None or not _heartbeat(mailing_id=mailing_id):
            return SendReport(status="stopped", sent=sent)
        claim = R.claim_new()
        rows = R.rows_claim(mailing_id=mailing_id, size=batch_size(), claim=claim)
        if not rows:
            mailing_finish_if_done(mailing_id=mailing_id)
            return SendReport(status="idle", sent=sent)
        sent += batch_send(batch=_Batch(mailing=mailing, claim=claim, rows=rows))
        if time.monotonic() > deadline:
            from mailer.bulk.planning import mailing_tasks_enqueue

            mailing_tasks_enqueue(mailing_id=mailing_id, tasks=1)
            return SendReport(status="handed over", sent=sent)


def _heartbeat(*, mailing_id: int) -> bool:
    # One statement: "still sending?" and "a task is at work on it" for the sweep.
    return bool(
        Mailing.objects.filter(pk=mailing_id, status=Mailing.Status.SENDING).update(
            heartbeat_at=timezone.now()
        )
    )


def mailing_finish_if_done(*, mailing_id: int) -> bool:
    """Mark a sending mailing done once no row is pending; True if it was marked."""
    pending = Delivery.objects.filter(mailing_id=mailing_id, status__in=PENDING)
    if pending.exists():
        return False
    return bool(
        Mailing.objects.filter(pk=mailing_id, status=Mailing.Status.SENDING).update(
            status=Mailing.Status.DONE, finished_at=timezone.now()
        )
    )


def _retry_at(*, attempts: int) -> Any:
    from mailer.services import retry_delay

    return timezone.now() + timedelta(seconds=retry_delay(attempts=attempts))


def batch_send(*, batch: _Batch) -> int:
    """Send one claimed batch and record every row's outcome; how many were handed over."""
    rows = batch.rows
    suppressed = suppressed_digests(address_digests={row.address_digest for row in rows})
    if suppressed:
        R.rows_finish(
            claim=batch.claim,
            ids=[row.id for row in rows if row.address_digest in suppressed],
            status=S.SUPPRESSED,
        )
        rows = [row for row in rows if row.address_digest not in suppressed]
    if not rows:
        return 0
    prepared = _build(batch=batch, rows=rows)
    if prepared is None:
        return 0
    templates, sendable = prepared
    if not sendable:
        return 0
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as exc:
        # Nothing was handed over: the whole batch waits and tries again.
        attempts = max(row.attempts for row in rows) + 1
        _release_or_fail(batch=batch, rows=[row for row, _ in sendable], exc=exc, attempts=attempts)
        return 0
    try:
        api = batch_api()
        if api is not None:
            return _send_batches(
                batch=batch, api=api, templates=templates, sendable=sendable, connection=connection
            )
        return _send_one_by_one(
            batch=batch, templates=templates, sendable=sendable, connection=connection
        )
    finally:
        try:
            connection.close()
        except Exception:
            logger.warning("could not close the bulk mail connection cleanly", exc_info=True)


Sendable = list[tuple[R.ClaimedRow, BulkRecipient]]


def _build(
    *, batch: _Batch, rows: list[R.ClaimedRow]
) -> tuple[dict[str, CompiledTemplate], Sendable] | None:
    """The builder's templates and the rows that have somewhere to go.

    Rows without a recipient are skipped; rows whose data does not fit the template fail
    (a bug in the builder that retrying will not fix). If the builder raises, the batch
    goes back to the queue for a later attempt, and fails after ``MAILER_MAX_ATTEMPTS``.
    """
    deliveries = [
        BulkDelivery(id=row.id, recipient_ref=row.recipient_ref, language=row.language)
        for row in rows
    ]
    try:
        built = bulk_email_type_get(kind=batch.mailing.kind).build_batch(batch.mailing, deliveries)
        templates = {key: template_compile(template) for key, template in built.templates.items()}
    except Exception as exc:
        logger.exception("mailing %s: the builder failed for a batch", batch.mailing.pk)
        attempts = max(row.attempts for row in rows) + 1
        _release_or_fail(batch=batch, rows=rows, exc=exc, attempts=attempts, always_transient=True)
        return None
    skipped: list[int] = []
    broken: dict[str, list[int]] = {}
    sendable: Sendable = []
    for row in rows:
        recipient = built.recipients.get(row.id)
        if recipient is None or not recipient.address:
            skipped.append(row.id)
            continue
        try:
            template = templates.get(recipient.template)
            if template is None:
                raise MergeError("the recipient's template is not in the batch")
            recipient_check(recipient=recipient, template=template)
        except MergeError as exc:
            broken.setdefault(f"MergeError: {exc}", []).append(row.id)
            continue
        sendable.append((row, recipient))
    R.rows_finish(claim=batch.claim, ids=skipped, status=S.SKIPPED)
    for error, ids in broken.items():
        R.rows_finish(claim=batch.claim, ids=ids, status=S.FAILED, last_error=error)
    if broken:
        logger.error(
            "mailing %s: %d rows did not fit their template",
            batch.mailing.pk,
            sum(map(len, broken.values())),
        )
    return templates, sendable


def _release_or_fail(
    *,
    batch: _Batch,
    rows: Sequence[R.ClaimedRow],
    exc: Exception,
    attempts: int,
    always_transient: bool = False,
) -> None:
    """Claimed rows that were never handed over: retry later, or fail if out of tries."""
    ids = [row.id for row in rows]
    description = send_error_describe(exc)
    transient = always_transient or send_error_is_transient(exc)
    if transient and attempts < settings.MAILER_MAX_ATTEMPTS:
        R.rows_release(
            claim=batch.claim,
            ids=ids,
            retry_at=_retry_at(attempts=attempts),
            last_error=description,
        )
        # The attempt counts even though nothing was handed over, so a provider that never
        # comes back ends the rows' tries instead of retrying forever.
        Delivery.objects.filter(pk__in=ids).update(attempts=attempts)
        return
    R.rows_finish(claim=batch.claim, ids=ids, status=S.FAILED, last_error=description)


def _send_one_by_one(
    *, batch: _Batch, templates: dict[str, CompiledTemplate], sendable: Sendable, connection: Any
) -> int:
    limiter = rate_limiter()
    previous: int | None = None
    previous_id = ""
    handed = 0
    for index, (row, recipient) in enumerate(sendable):
        limiter.acquire(1)
        message_id = message_id_new()
        email = message_one(
            delivery_id=row.id,
            recipient=recipient,
            template=templates[recipient.template],
            connection=connection,
            message_id=message_id,
        )
        mine = R.row_hand(
            claim=batch.claim, current=row.id, previous=previous, previous_id=previous_id
        )
        previous = None
        if not mine:
            continue  # cancelled, or given to another worker after its lease ran out
        try:
            email.send()
        except Exception as exc:
            if _handed_failure(batch=batch, row=row, exc=exc):
                # The connection cannot be trusted any more: the rest go back to the queue.
                rest = [later.id for later, _ in sendable[index + 1 :]]
                R.rows_release(claim=batch.claim, ids=rest)
                return handed
            continue
        handed += 1
        previous = row.id
        status = getattr(email, "anymail_status", None)
        provider_id = getattr(status, "message_id", None)
        previous_id = message_id if provider_id is None else str(provider_id)
    if previous is not None:
        R.rows_sent(claim=batch.claim, provider_ids=[(previous, previous_id)])
    return handed


def _handed_failure(*, batch: _Batch, row: R.ClaimedRow, exc: Exception) -> bool:
    """Record a handed row the provider did not take; True if the batch must stop."""
    description = send_error_describe(exc)
    attempts = row.attempts + 1
    if send_error_is_in_doubt(exc):
        logger.warning(
            "mailing %s: delivery %s in doubt (%s)", batch.mailing.pk, row.id, type(exc).__name__
        )
        R.rows_handed_outcome(
            claim=batch.claim, ids=[row.id], status=S.UNKNOWN, last_error=description, retry_at=None
        )
        return True
    if send_error_is_transient(exc) and attempts < settings.MAILER_MAX_ATTEMPTS:
        R.rows_handed_outcome(
            claim=batch.claim,
            ids=[row.id],
            status=S.QUEUED,
            last_error=description,
            retry_at=_retry_at(attempts=attempts),
        )
    else:
        R.rows_handed_outcome(
            claim=batch.claim, ids=[row.id], status=S.FAILED, last_error=description, retry_at=None
        )
    # 421: the server is closing the connection; other replies leave it usable.
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421


def _groups(api: BatchApi, sendable: Sendable) -> list[tuple[str, Sendable]]:
    """Recipients by template, split so that no call repeats an address or exceeds a limit."""
    limit = min(api.max_recipients, batch_size())
    groups: list[tuple[str, Sendable]] = []
    open_groups: dict[str, list[tuple[Sendable, set[str]]]] = {}
    for row, recipient in sendable:
        address = recipient.address  # bare, as recipient_check made sure
        for members, addresses in open_groups.setdefault(recipient.template, []):
            if address not in addresses and len(members) < limit:
                members.append((row, recipient))
                addresses.add(address)
                break
        else:
            members = [(row, recipient)]
            open_groups[recipient.template].append((members, {address}))
            groups.append((recipient.template, members))
    return groups


def _send_batches(
    *,
    batch: _Batch,
    api: BatchApi,
    templates: dict[str, CompiledTemplate],
    sendable: Sendable,
    connection: Any,
) -> int:
    limiter = rate_limiter()
    handed = 0
    for template_key, members in _groups(api, sendable):
        limiter.acquire(len(members))
        mine = R.rows_hand(claim=batch.claim, ids=[row.id for row, _ in members])
        members = [(row, recipient) for row, recipient in members if row.id in mine]
        if not members:
            continue
        email = message_batch(
            api=api,
            template=templates[template_key],
            recipients=[(row.id, recipient) for row, recipient in members],
            connection=connection,
        )
        ids = [row.id for row, _ in members]
        try:
            email.send()
        except Exception as exc:
            description = send_error_describe(exc)
            attempts = max(row.attempts for row, _ in members) + 1
            if send_error_is_in_doubt(exc):
                logger.warning(
                    "mailing %s: an ESP call in doubt (%s)", batch.mailing.pk, type(exc).__name__
                )
                R.rows_handed_outcome(
                    claim=batch.claim,
                    ids=ids,
                    status=S.UNKNOWN,
                    last_error=description,
                    retry_at=None,
                )
            elif send_error_is_transient(exc) and attempts < settings.MAILER_MAX_ATTEMPTS:
                R.rows_handed_outcome(
                    claim=batch.claim,
                    ids=ids,
                    status=S.QUEUED,
                    last_error=description,
                    retry_at=_retry_at(attempts=attempts),
                )
            else:
                R.rows_handed_outcome(
                    claim=batch.claim,
                    ids=ids,
                    status=S.FAILED,
                    last_error=description,
                    retry_at=None,
                )
            continue
        handed += _record_batch(batch=batch, email=email, members=members)
    return handed


def _record_batch(*, batch: _Batch, email: Any, members: Sendable) -> int:
    statuses = getattr(getattr(email, "anymail_status", None), "recipients", {}) or {}
    accepted: list[tuple[int, str]] = []
    refused: list[int] = []
    for row, recipient in members:
        status = statuses.get(recipient.address)
        if status is not None and status.status in REFUSED:
            refused.append(row.id)
            continue
        message_id = getattr(status, "message_id", None)
        accepted.append((row.id, "" if message_id is None else str(message_id)))
    R.rows_sent(claim=batch.claim, provider_ids=accepted)
    R.rows_handed_outcome(
        claim=batch.claim,
        ids=refused,
        status=S.FAILED,
        last_error="refused by the provider",
        retry_at=None,
    )
    return len(accepted)
