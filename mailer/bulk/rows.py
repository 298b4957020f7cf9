"""The state machine of delivery rows, one statement per step.

queued → claimed (a batch, with a random claim token and a lease) → handing (the one
message, or the one ESP call, being handed over now) → sent. Every step after the claim is
conditional on the claim token, so a row whose lease ran out and was given to another
worker (the sweep clears the token) is never touched, let alone sent, by the first one.
A row left "handing" by a dead worker is in doubt and becomes "unknown", never "queued".
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from mailer.models import Delivery

S = Delivery.Status
TABLE = Delivery._meta.db_table


@dataclass(frozen=True)
class ClaimedRow:
    id: int
    recipient_ref: str
    address_digest: str
    language: str
    attempts: int


def _dt(value: datetime) -> Any:
    # Raw SQL gets datetimes in the form the ORM stores them (SQLite: text without offset).
    return connection.ops.adapt_datetimefield_value(value)


def claim_new() -> str:
    return secrets.token_hex(16)


def rows_claim(*, mailing_id: int, size: int, claim: str) -> list[ClaimedRow]:
    """Claim up to ``size`` queued rows that are due, in id order; the claimed rows.

    On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets workers claim side by side without
    waiting on each other; SQLite runs one writer at a time anyway.
    """
    now = timezone.now()
    until = now + timedelta(seconds=settings.MAILER_BULK_LEASE_SECONDS)
    lock = (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )
    sql = (
        f"UPDATE {TABLE} SET status = %s, claim = %s, claimed_until = %s"  # noqa: S608
        f" WHERE id IN (SELECT id FROM {TABLE} WHERE mailing_id = %s AND status = %s"
        " AND (next_attempt_at IS NULL OR next_attempt_at <= %s)"
        f" ORDER BY id LIMIT %s{lock})"
        " RETURNING id, recipient_ref, address_digest, language, attempts"
    )
    params = [S.CLAIMED, claim, _dt(until), mailing_id, S.QUEUED, _dt(now), size]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [ClaimedRow(*row) for row in cursor.fetchall()]
    rows.sort(key=lambda row: row.id)
    return rows


def rows_finish(
    *, claim: str, ids: Collection[int], status: str, last_error: str = "", attempt: bool = False
) -> int:
    """Give claimed rows a final status without sending (suppressed, skipped, failed)."""
    if not ids:
        return 0
    rows = Delivery.objects.filter(pk__in=list(ids), claim=claim, status=S.CLAIMED)
    fields: dict[str, Any] = {"status": status, "last_error": last_error[:200]}
    if attempt:
        from django.db.models import F

        fields["attempts"] = F("attempts") + 1
    return rows.update(**fields)


def rows_release(
    *, claim: str, ids: Collection[int], retry_at: datetime | None = None, last_error: str = ""
) -> int:
    """Put claimed (not yet handed) rows back in the queue, for now or for ``retry_at``."""
    if not ids:
        return 0
    return Delivery.objects.filter(pk__in=list(ids), claim=claim, status=S.CLAIMED).update(
        status=S.QUEUED,
        claim="",
        claimed_until=None,
        next_attempt_at=retry_at,
        last_error=last_error[:200],
    )


def row_hand(*, claim: str, current: int, previous: int | None, previous_id: str) -> bool:
    """Record ``previous`` sent and mark ``current`` handing, in one statement.

    Returns whether ``current`` is now ours to hand over (False: the mailing was cancelled,
    or the row's lease ran out and it went back to the queue). At most one row per worker
    is ever "handing": the window in which a crash leaves a message in doubt.
    """
    now = timezone.now()
    until = now + timedelta(seconds=settings.MAILER_CLAIM_LEASE_SECONDS)
    prev = -1 if previous is None else previous
    sql = (
        f"UPDATE {TABLE} SET"  # noqa: S608
        " status = CASE WHEN id = %s THEN %s ELSE %s END,"
        " sent_at = CASE WHEN id = %s THEN %s ELSE sent_at END,"
        " provider_message_id = CASE WHEN id = %s THEN %s ELSE provider_message_id END,"
        " last_error = CASE WHEN id = %s THEN '' ELSE last_error END,"
        " attempts = CASE WHEN id = %s THEN attempts + 1 ELSE attempts END,"
        " claimed_until = CASE WHEN id = %s THEN %s ELSE claimed_until END"
        " WHERE claim = %s AND ((id = %s AND status IN (%s, %s)) OR (id = %s AND status = %s))"
        " RETURNING id"
    )
    params = [
        *(prev, S.SENT, S.HANDING),
        *(prev, _dt(now)),
        *(prev, previous_id[:200]),
        prev,
        current,
        *(current, _dt(until)),
        claim,
        *(prev, S.HANDING, S.UNKNOWN),
        *(current, S.CLAIMED),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return any(row[0] == current for row in cursor.fetchall())


def rows_hand(*, claim: str, ids: Collection[int]) -> set[int]:
    """Mark claimed rows handing (one ESP call for all of them); the ids now ours."""
    if not ids:
        return set()
    until = timezone.now() + timedelta(seconds=settings.MAILER_CLAIM_LEASE_SECONDS)
    placeholders = ", ".join(["%s"] * len(ids))
    sql = (
        f"UPDATE {TABLE} SET status = %s, attempts = attempts + 1, claimed_until = %s"  # noqa: S608
        f" WHERE claim = %s AND status = %s AND id IN ({placeholders}) RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [S.HANDING, _dt(until), claim, S.CLAIMED, *ids])
        return {row[0] for row in cursor.fetchall()}


def rows_sent(*, claim: str, provider_ids: Iterable[tuple[int, str]]) -> int:
    """Record handed rows as sent, each with the provider's id for it."""
    by_provider_id: dict[str, list[int]] = {}
    for row_id, provider_id in provider_ids:
        by_provider_id.setdefault(provider_id[:200], []).append(row_id)
    now = timezone.now()
    changed = 0
    # Usually one id for the whole call (one UPDATE); some ESPs give one per recipient.
    for provider_id, ids in by_provider_id.items():
        changed += Delivery.objects.filter(
            pk__in=ids, claim=claim, status__in=[S.HANDING, S.UNKNOWN]
        ).update(status=S.SENT, sent_at=now, provider_message_id=provider_id, last_error="")
    return changed


def rows_handed_outcome(
    *, claim: str, ids: Collection[int], status: str, last_error: str, retry_at: datetime | None
) -> int:
    """A handed row the provider answered "no" to: back to the queue, failed, or unknown."""
    if not ids:
        return 0
    rows = Delivery.objects.filter(pk__in=list(ids), claim=claim, status__in=[S.HANDING])
    if status == S.QUEUED:
        return rows.update(
            status=S.QUEUED,
            claim="",
            claimed_until=None,
            next_attempt_at=retry_at,
            last_error=last_error[:200],
        )
    return rows.update(status=status, last_error=last_error[:200])
