"""Handing a claimed batch to the provider, in one of two ways, and recording each row.

- One message at a time over the batch's connection (SMTP, and ESPs without a batch
  path): one statement records the previous message sent and marks this one "handing",
  so at most one row per worker process is ever in doubt.
- One ESP call per batch and template (``messages.BatchApi``): one statement marks the
  call's rows "handing", one call, one statement records them sent.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from mailer.bulk import rows as R
from mailer.bulk.messages import (
    BatchApi,
    CompiledTemplate,
    message_batch,
    message_id_new,
    message_one,
)
from mailer.bulk.throttle import rate_limiter
from mailer.errors import send_error_describe, send_error_is_in_doubt, send_error_is_transient
from mailer.models import Delivery, Mailing
from mailer.registry import BulkRecipient

logger = logging.getLogger(__name__)

S = Delivery.Status
# What anymail calls a recipient the ESP turned down (the rest were accepted).
REFUSED = {"rejected", "invalid", "failed"}


@dataclass
class Batch:
    mailing: Mailing
    claim: str
    rows: list[R.ClaimedRow]


def batch_size() -> int:
    """Rows per claim: no more than a second's worth of the provider's quota."""
    size = settings.MAILER_BULK_BATCH_SIZE
    if settings.MAILER_BULK_RATE:
        size = min(size, settings.MAILER_BULK_RATE)
    return max(1, size)


def retry_at(*, attempts: int) -> datetime:
    from mailer.services import retry_delay

    return timezone.now() + timedelta(seconds=retry_delay(attempts=attempts))


Sendable = list[tuple[R.ClaimedRow, BulkRecipient]]


def send_one_by_one(
    *, batch: Batch, templates: dict[str, CompiledTemplate], sendable: Sendable, connection: Any
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


def _handed_failure(*, batch: Batch, row: R.ClaimedRow, exc: Exception) -> bool:
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
            retry_at=retry_at(attempts=attempts),
        )
    else:
        R.rows_handed_outcome(
            claim=batch.claim, ids=[row.id], status=S.FAILED, last_error=description, retry_at=None
        )
    # 421: the server is closing the connection; other replies leave it usable.
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421


def _groups(api: BatchApi, sendable: Sendable) -> list[tuple[str, Sendable]]:
    """Recipients by template, split so that no call repeats an address or exceeds a limit."""
    # The most one crash can leave in doubt is one call: MAILER_BULK_CALL_SIZE recipients.
    limit = min(api.max_recipients, settings.MAILER_BULK_CALL_SIZE, batch_size())
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


def send_batches(
    *,
    batch: Batch,
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
                    retry_at=retry_at(attempts=attempts),
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


def _record_batch(*, batch: Batch, email: Any, members: Sendable) -> int:
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
