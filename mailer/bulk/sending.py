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
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import get_connection
from django.utils import timezone

from mailer.bulk import rows as R
from mailer.bulk.handover import (
    Batch,
    Sendable,
    batch_size,
    retry_at,
    send_batches,
    send_one_by_one,
)
from mailer.bulk.messages import (
    CompiledTemplate,
    MergeError,
    batch_api,
    recipient_check,
    template_compile,
)
from mailer.bulk.selectors import PENDING, suppressed_digests
from mailer.errors import send_error_describe, send_error_is_transient
from mailer.models import Delivery, Mailing
from mailer.registry import BulkDelivery, bulk_email_type_get

logger = logging.getLogger(__name__)

S = Delivery.Status


@dataclass(frozen=True)
class SendReport:
    """What one task did: why it stopped, and how many messages it handed over."""

    status: str
    sent: int = 0


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
        sent += batch_send(batch=Batch(mailing=mailing, claim=claim, rows=rows))
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


def batch_send(*, batch: Batch) -> int:
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
            return send_batches(
                batch=batch, api=api, templates=templates, sendable=sendable, connection=connection
            )
        return send_one_by_one(
            batch=batch, templates=templates, sendable=sendable, connection=connection
        )
    finally:
        try:
            connection.close()
        except Exception:
            logger.warning("could not close the bulk mail connection cleanly", exc_info=True)


def _build(
    *, batch: Batch, rows: list[R.ClaimedRow]
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
    batch: Batch,
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
            retry_at=retry_at(attempts=attempts),
            last_error=description,
        )
        # The attempt counts even though nothing was handed over, so a provider that never
        # comes back ends the rows' tries instead of retrying forever.
        Delivery.objects.filter(pk__in=ids).update(attempts=attempts)
        return
    R.rows_finish(claim=batch.claim, ids=ids, status=S.FAILED, last_error=description)
