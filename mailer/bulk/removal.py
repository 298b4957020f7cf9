"""Deleting deliveries when the owning app lets a person go: erased, or released from what a
mailing was about (a campaign locked down, its petitions anonymised).

A delivery row names its recipient and the mailing names what it is about, so together
they say that this person was on that list: the rows must go when the owning app forgets
the tie. The mailing's numbers must not go with them, or an update's page would show "sent
to 0" once its people are forgotten. Before deleting, the rows are counted by status into
``Mailing.removed_counts``, which ``mailing_progress`` adds back: totals stay true and no
row names anyone. A row still waiting to be sent is counted as skipped (it never will be),
one being handed over that instant as unknown (it may have gone out).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection

from django.db import transaction
from django.db.models import QuerySet

from mailer.models import AboutKey, Delivery, Mailing

# How a row still on its way is counted once deleted: a waiting one will never be sent
# (skipped); one being handed over right now may have gone out (unknown, as after a crash).
_COUNTED_AS: dict[str, str] = {
    Delivery.Status.QUEUED: Delivery.Status.SKIPPED,
    Delivery.Status.CLAIMED: Delivery.Status.SKIPPED,
    Delivery.Status.HANDING: Delivery.Status.UNKNOWN,
}
_CHUNK = 500  # references per IN (...) list: SQLite allows 999 parameters per statement


def deliveries_delete(
    *,
    recipient_refs: Collection[str] | None = None,
    about_key: str | None = None,
    about_ids: Collection[int | str] = (),
) -> int:
    """Delete deliveries, keeping their mailings' tallies; returns how many rows went.

    - ``recipient_refs`` alone: every delivery to these recipients (the owning app erased
      them), whatever the mailing;
    - ``about_key`` and ``about_ids``: only deliveries of mailings whose ``about`` has one
      of these ids at that key (e.g. ``"campaign"``), to these recipients, or to everyone
      when ``recipient_refs`` is None (the owning app forgot who was on those lists).

    Given nothing to match (no recipients, or a key without ids), it deletes nothing. Safe
    to call again. Call inside the owning app's transaction: the mailing rows are locked
    while their tallies change, so two deletions never lose a count.
    """
    mailing_ids: list[int] | None = None
    if about_key is not None:
        mailing_ids = _mailings_about(key=about_key, ids=about_ids)
        if not mailing_ids:
            return 0
    if recipient_refs is None:
        if mailing_ids is None:
            raise ValueError("deliveries_delete needs recipients or what the mailings are about")
        return _delete(rows=Delivery.objects.filter(mailing_id__in=mailing_ids))
    refs = sorted(set(recipient_refs))
    deleted = 0
    for start in range(0, len(refs), _CHUNK):
        rows = Delivery.objects.filter(recipient_ref__in=refs[start : start + _CHUNK])
        if mailing_ids is not None:
            rows = rows.filter(mailing_id__in=mailing_ids)
        deleted += _delete(rows=rows)
    return deleted


def _mailings_about(*, key: str, ids: Collection[int | str]) -> list[int]:
    values = sorted({str(value) for value in ids})
    if not values:
        return []
    return list(
        Mailing.objects.alias(about_value=AboutKey(key))
        .filter(about_value__in=values)
        .values_list("pk", flat=True)
    )


def _delete(*, rows: QuerySet[Delivery]) -> int:
    with transaction.atomic():
        mailing_ids = sorted(set(rows.values_list("mailing_id", flat=True).order_by()))
        if not mailing_ids:
            return 0
        # Mailings first, in id order, then their rows: the order mailing_cancel takes them.
        mailings = list(
            Mailing.objects.select_for_update().filter(pk__in=mailing_ids).order_by("pk")
        )
        locked = list(
            rows.filter(mailing_id__in=mailing_ids)
            .select_for_update()
            .order_by("pk")
            .values_list("pk", "mailing_id", "status")
        )
        tallies: dict[int, Counter[str]] = defaultdict(Counter)
        for _pk, mailing_id, status in locked:
            tallies[mailing_id][_COUNTED_AS.get(status, status)] += 1
        ids = [pk for pk, _mailing_id, _status in locked]
        for start in range(0, len(ids), _CHUNK):
            Delivery.objects.filter(pk__in=ids[start : start + _CHUNK]).delete()
        for mailing in mailings:
            if mailing.pk in tallies:
                removed = Counter(mailing.removed_counts or {})
                removed.update(tallies[mailing.pk])
                Mailing.objects.filter(pk=mailing.pk).update(removed_counts=dict(removed))
    return len(ids)
