"""Staff review: the integrity line, finding signatures, invalidating and revalidating them.

Staff never type personal data into stored records: an IP address or a domain given as a
search criterion is turned into the keyed hashes that signatures carry, and only those
hashes are kept on an ``InvalidationBatch``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.core import signing
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from petitions.models import FlaggedAttemptTally, InvalidationBatch, Petition, Signature
from petitions.selectors import petition_recent_signers_forget
from petitions.selectors.criteria import (
    INVALIDATABLE_STATUSES,
    CriteriaError,
    SignatureCriteria,
    invalidation_scope,
    signature_criteria_q,
    signature_criteria_record,
    signatures_find,
)
from petitions.services.counts import signature_statuses_change
from trust.services import DOMAIN_RATE_DETAIL

logger = logging.getLogger(__name__)

# Finding signatures is a read (petitions.selectors.criteria); these names stay importable
# from here, where the admin and older callers look for them.
__all__ = [
    "INVALIDATABLE_STATUSES",
    "CriteriaError",
    "InvalidationCountChangedError",
    "SignatureCriteria",
    "invalidation_batch_revalidate",
    "invalidation_preview_count",
    "invalidation_preview_token_make",
    "petition_integrity_refresh",
    "signature_criteria_q",
    "signature_criteria_record",
    "signatures_find",
    "signatures_invalidate",
    "signatures_revalidate",
]

_PREVIEW_SALT = "sbor.admin.invalidation-preview"
# Long enough to read a preview and decide; short enough that a stale tab cannot act.
_PREVIEW_MAX_AGE = timedelta(hours=1)

# The statuses the integrity line counts from rows; "confirmed" comes from the stored count.
INTEGRITY_STATUSES = (
    Signature.Status.PENDING,
    Signature.Status.WITHDRAWN,
    Signature.Status.INVALIDATED,
)
# A petition closed (or last refreshed) longer ago than this is refreshed once a day only:
# its numbers can still move (a late withdrawal, a staff decision) but rarely do.
INTEGRITY_SETTLED_AFTER = timedelta(days=1)


class InvalidationCountChangedError(Exception):
    """The signatures matching the criteria changed between the preview and the decision."""

    def __init__(self, *, expected: int, actual: int) -> None:
        super().__init__(f"expected {expected} matching signatures, found {actual}")
        self.expected = expected
        self.actual = actual


# --- The integrity line -----------------------------------------------------------------


def petition_integrity_refresh(*, petition_ids: Iterable[int] | None = None) -> int:
    """Store each petition's pending, withdrawn and invalidated numbers; returns how many.

    Invalidated, by reason, adds the tallies of flagged attempts (which leave no row) to
    the signatures staff invalidated. "Pending" is stored for staff only: public pages do
    not show it (see ``PetitionIntegrity``).

    Without ``petition_ids`` it refreshes the petitions whose numbers can move: open ones,
    ones closed within the last day, and every other one once a day. Each petition costs one
    GROUP BY over the (petition, status) index that skips confirmed rows, which the stored
    count already covers, and one over its tallies; page views only read the stored result.
    """
    ids = sorted(set(petition_ids)) if petition_ids is not None else _integrity_due_ids()
    for start in range(0, len(ids), 200):
        _integrity_store(petition_ids=ids[start : start + 200])
    return len(ids)


def _integrity_due_ids() -> list[int]:
    settled = timezone.now() - INTEGRITY_SETTLED_AFTER
    moving = (
        Q(status=Petition.Status.OPEN, closes_at__isnull=True)
        | Q(status=Petition.Status.OPEN, closes_at__gte=settled)
        | Q(closed_at__gte=settled)
        | Q(integrity_refreshed_at__isnull=True)
        | Q(integrity_refreshed_at__lt=settled)
    )
    return list(
        Petition.objects.exclude(status=Petition.Status.DRAFT)
        .filter(moving)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _integrity_store(*, petition_ids: list[int]) -> None:
    rows = (
        Signature.objects.filter(petition_id__in=petition_ids, status__in=INTEGRITY_STATUSES)
        .values("petition_id", "status", "invalid_reason")
        .annotate(n=Count("pk"))
        .order_by()
    )
    integrity: dict[int, dict[str, Any]] = {
        pk: {"pending": 0, "withdrawn": 0, "invalidated": {}, "domain_limited": 0}
        for pk in petition_ids
    }
    for row in rows:
        numbers = integrity[row["petition_id"]]
        if row["status"] == Signature.Status.INVALIDATED:
            reason = row["invalid_reason"] or Signature.InvalidReason.STAFF
            numbers["invalidated"][reason] = numbers["invalidated"].get(reason, 0) + row["n"]
        else:
            numbers[row["status"]] += row["n"]
    tallies = (
        FlaggedAttemptTally.objects.filter(petition_id__in=petition_ids)
        .values("petition_id", "reason", "detail")
        .annotate(n=Sum("count"))
        .order_by()
    )
    for tally in tallies:
        if tally["detail"] == DOMAIN_RATE_DETAIL:
            # Staff only, like "pending": see trust.services.DOMAIN_RATE_DETAIL.
            integrity[tally["petition_id"]]["domain_limited"] += tally["n"]
            continue
        by_reason = integrity[tally["petition_id"]]["invalidated"]
        by_reason[tally["reason"]] = by_reason.get(tally["reason"], 0) + tally["n"]
    now = timezone.now()
    for pk in petition_ids:
        Petition.objects.filter(pk=pk).update(integrity=integrity[pk], integrity_refreshed_at=now)


# --- Previews: the decision acts only on what staff saw -------------------------------


def invalidation_preview_token_make(*, criteria: SignatureCriteria, count: int) -> str:
    """A signed note of the count a preview showed for these criteria, for the decision."""
    record = signature_criteria_record(criteria=criteria)
    return signing.dumps({"criteria": record, "count": count}, salt=_PREVIEW_SALT)


def invalidation_preview_count(*, token: str, criteria: SignatureCriteria) -> int | None:
    """The count shown in the preview, if it was for these very criteria and is recent."""
    try:
        data = signing.loads(
            token, salt=_PREVIEW_SALT, max_age=int(_PREVIEW_MAX_AGE.total_seconds())
        )
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("count"), int):
        return None
    if data.get("criteria") != signature_criteria_record(criteria=criteria):
        return None
    return int(data["count"])


# --- Invalidating and revalidating ------------------------------------------------------


def signatures_invalidate(
    *,
    criteria: SignatureCriteria,
    reason: str,
    expected_count: int,
    actor: Any = None,
    category: str = "",
) -> InvalidationBatch:
    """Invalidate every pending or confirmed signature matching ``criteria``, as one batch.

    ``expected_count`` is the number staff saw in the preview: if the matching signatures
    are now more or fewer, nothing changes and ``InvalidationCountChangedError`` is raised,
    so a decision is never applied to signatures nobody looked at. Counted signatures leave
    their petitions' counts at once. Criteria scoped to an organisation make the batch
    that organisation's. Raises ``CriteriaError`` for unusable criteria, an empty reason or
    an unknown ``category``.
    """
    reason = reason.strip()
    if not reason:
        raise CriteriaError(_("Say why these signatures are invalidated."))
    if category and category not in InvalidationBatch.Category.values:
        raise CriteriaError(_("Choose one of the listed reasons."))
    scope = invalidation_scope(criteria)
    with transaction.atomic():
        rows = list(
            Signature.objects.filter(signature_criteria_q(criteria=scope))
            .select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", "petition_id")
        )
        if len(rows) != expected_count:
            raise InvalidationCountChangedError(expected=expected_count, actual=len(rows))
        batch = InvalidationBatch.objects.create(
            organisation=scope.organisation,
            created_by=actor if getattr(actor, "pk", None) else None,
            category=category,
            reason=reason,
            criteria=signature_criteria_record(criteria=scope),
            count=len(rows),
        )
        signature_statuses_change(
            signature_ids=[pk for pk, _ in rows],
            status=Signature.Status.INVALIDATED,
            invalid_reason=Signature.InvalidReason.STAFF,
            invalid_detail="",
            invalidated_at=timezone.now(),
            invalidation=batch,
        )
    logger.info(
        "invalidation %s: %s signatures by user %s", batch.public_id, batch.count, _actor(actor)
    )
    _petitions_changed(petition_ids={petition_id for _, petition_id in rows})
    return batch


def signatures_revalidate(*, signature_ids: Iterable[int], actor: Any = None) -> int:
    """Put invalidated signatures back; returns how many moved. Others are left alone.

    A signature confirmed before it was invalidated becomes confirmed again (the count task
    adds it on its next run); any other becomes pending, and can be confirmed by its
    attempts' links and codes while they last.
    """
    cleared = {
        "invalid_reason": "",
        "invalid_detail": "",
        "invalidated_at": None,
        "invalidation": None,
    }
    with transaction.atomic():
        rows = list(
            Signature.objects.select_for_update()
            .filter(pk__in=set(signature_ids), status=Signature.Status.INVALIDATED)
            .order_by("pk")
            .values_list("pk", "petition_id", "confirmed_at")
        )
        moved = signature_statuses_change(
            signature_ids=[row[0] for row in rows if row[2] is not None],
            status=Signature.Status.CONFIRMED,
            **cleared,
        )
        moved += signature_statuses_change(
            signature_ids=[row[0] for row in rows if row[2] is None],
            status=Signature.Status.PENDING,
            **cleared,
        )
    logger.info("revalidated %s signatures by user %s", moved, _actor(actor))
    _petitions_changed(petition_ids={row[1] for row in rows})
    return moved


def invalidation_batch_revalidate(*, batch: InvalidationBatch, actor: Any = None) -> int:
    """Undo a staff invalidation: revalidate its signatures still invalidated by it."""
    ids = list(
        batch.signatures.filter(status=Signature.Status.INVALIDATED).values_list("pk", flat=True)
    )
    moved = signatures_revalidate(signature_ids=ids, actor=actor)
    InvalidationBatch.objects.filter(pk=batch.pk).update(revalidated_at=timezone.now())
    return moved


def _petitions_changed(*, petition_ids: set[int]) -> None:
    """Show a staff decision at once: fresh integrity numbers, no stale recent signers."""
    if not petition_ids:
        return
    petition_integrity_refresh(petition_ids=petition_ids)
    petition_recent_signers_forget(petition_ids=petition_ids)


def _actor(actor: Any) -> str:
    # The user's id only: usernames can be email addresses.
    return str(getattr(actor, "pk", None) or "-")
