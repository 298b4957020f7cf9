"""The stored counts: folding confirmed signatures in, taking them out, repairing drift."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from petitions.models import Petition, Signature

logger = logging.getLogger(__name__)


def signature_statuses_change(*, signature_ids: Iterable[int], status: str, **fields: Any) -> int:
    """Move signatures to ``status`` (setting ``fields`` too), keeping counts true.

    Signatures already added to a petition's count are taken out of it in the same
    transaction, so a withdrawal or an invalidation lowers the count at once. A signature
    moved (back) to "confirmed" is left uncounted: the count task adds it on its next run.
    Rows already in ``status`` are left alone. Returns how many rows changed.
    """
    ids = sorted(set(signature_ids))
    if not ids:
        return 0
    with transaction.atomic():
        rows = list(
            Signature.objects.select_for_update()
            .filter(pk__in=ids)
            .exclude(status=status)
            .order_by("pk")
            .values_list("pk", "petition_id", "counted")
        )
        if not rows:
            return 0
        uncount = Counter(petition_id for _, petition_id, counted in rows if counted)
        Signature.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(
            status=status, counted=False, **fields
        )
        for petition_id in sorted(uncount):
            Petition.objects.filter(pk=petition_id).update(
                signature_count=F("signature_count") - uncount[petition_id]
            )
    return len(rows)


def signature_counts_refresh(*, batch_size: int = 5000, max_batches: int = 20) -> int:
    """Add newly confirmed signatures to their petitions' stored counts.

    Work is proportional to the signatures confirmed since the last run, never to the
    table's size. Rows are claimed with SKIP LOCKED, so overlapping runs never count one
    signature twice. Batches follow one another until the backlog is gone or
    ``max_batches`` ran, so a burst bigger than one batch per interval does not build up a
    lag. Returns how many signatures were counted.
    """
    total = 0
    for _ in range(max_batches):
        counted = _signature_counts_refresh_batch(batch_size=batch_size)
        total += counted
        if counted < batch_size:
            break
    return total


def _signature_counts_refresh_batch(*, batch_size: int) -> int:
    with transaction.atomic():
        rows = list(
            Signature.objects.select_for_update(skip_locked=True)
            .filter(status=Signature.Status.CONFIRMED, counted=False)
            .order_by("pk")
            .values_list("pk", "petition_id")[:batch_size]
        )
        if not rows:
            return 0
        Signature.objects.filter(pk__in=[pk for pk, _ in rows]).update(counted=True)
        now = timezone.now()
        per_petition = Counter(petition_id for _, petition_id in rows)
        for petition_id in sorted(per_petition):
            Petition.objects.filter(pk=petition_id).update(
                signature_count=F("signature_count") + per_petition[petition_id],
                count_refreshed_at=now,
            )
    return len(rows)


def signature_counts_repair() -> int:
    """Recount every petition from its rows and fix any drift; returns how many changed.

    Runs rarely (every few minutes). Each petition row is locked while it is recounted so
    the refresh task cannot interleave; only signatures already counted are recounted, the
    rest will be added by the refresh task.
    """
    fixed = 0
    for petition_id in Petition.objects.values_list("pk", flat=True):
        with transaction.atomic():
            petition = Petition.objects.select_for_update().get(pk=petition_id)
            actual = Signature.objects.filter(
                petition_id=petition_id, status=Signature.Status.CONFIRMED, counted=True
            ).count()
            if actual != petition.signature_count:
                logger.warning(
                    "petition %s count drifted: stored %s, actual %s",
                    petition.public_id,
                    petition.signature_count,
                    actual,
                )
                Petition.objects.filter(pk=petition_id).update(signature_count=actual)
                fixed += 1
    return fixed
