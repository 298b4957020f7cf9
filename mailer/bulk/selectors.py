"""Reading mailings: progress while they go out, suppression look-ups."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field

from django.db.models import Count

from mailer.models import Delivery, Mailing, Suppression

# Rows no worker will touch again (webhooks may still move sent/unknown forward).
FINAL = (
    Delivery.Status.SENT,
    Delivery.Status.FAILED,
    Delivery.Status.SUPPRESSED,
    Delivery.Status.SKIPPED,
    Delivery.Status.CANCELLED,
    Delivery.Status.UNKNOWN,
    Delivery.Status.DELIVERED,
    Delivery.Status.BOUNCED,
    Delivery.Status.COMPLAINED,
)
PENDING = (Delivery.Status.QUEUED, Delivery.Status.CLAIMED, Delivery.Status.HANDING)


@dataclass(frozen=True)
class MailingProgress:
    """How many of a mailing's deliveries are in each status, and summaries of them.

    ``counts`` has every ``Delivery.Status`` value as a key (0 when none). ``queued``
    includes rows claimed or being handed over; ``sent`` includes rows the provider
    later reported on (delivered, bounced, complained).
    """

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def queued(self) -> int:
        return sum(self.counts.get(status, 0) for status in PENDING)

    @property
    def sent(self) -> int:
        return sum(
            self.counts.get(status, 0)
            for status in (
                Delivery.Status.SENT,
                Delivery.Status.DELIVERED,
                Delivery.Status.BOUNCED,
                Delivery.Status.COMPLAINED,
            )
        )

    @property
    def failed(self) -> int:
        return self.counts.get(Delivery.Status.FAILED, 0)

    @property
    def bounced(self) -> int:
        return self.counts.get(Delivery.Status.BOUNCED, 0)

    @property
    def complained(self) -> int:
        return self.counts.get(Delivery.Status.COMPLAINED, 0)

    @property
    def finished(self) -> bool:
        return self.queued == 0


def _empty_counts() -> dict[str, int]:
    return dict.fromkeys(Delivery.Status.values, 0)


def mailings_progress(*, mailing_ids: Collection[int]) -> dict[int, MailingProgress]:
    """Progress of several mailings in one GROUP BY (a list page); keyed by mailing id.

    Deliveries deleted since planning (people erased or released) still count, by the
    status they had (``Mailing.removed_counts``), so a finished mailing keeps its totals.
    """
    counts: dict[int, dict[str, int]] = {pk: _empty_counts() for pk in mailing_ids}
    rows = (
        Delivery.objects.filter(mailing_id__in=list(mailing_ids))
        .values_list("mailing_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for mailing_id, status, n in rows:
        counts[mailing_id][status] += n
    # Rows deleted since planning were counted when they went (mailer.bulk.removal).
    removed = Mailing.objects.filter(pk__in=list(counts)).values_list("pk", "removed_counts")
    for mailing_id, tally in removed:
        for status, n in (tally or {}).items():
            if status in counts[mailing_id]:
                counts[mailing_id][status] += int(n)
    return {pk: MailingProgress(counts=c) for pk, c in counts.items()}


def mailing_progress(*, mailing: Mailing) -> MailingProgress:
    """Progress of one mailing: counts by status, from one GROUP BY over its rows.

    Cheap enough for a page that polls every few seconds (the claiming index serves it:
    6 ms for 10 000 rows, about 50 ms for 100 000 on the 2-core benchmark machine).
    """
    return mailings_progress(mailing_ids=[mailing.pk])[mailing.pk]


def mailing_get(*, public_id: uuid.UUID | str) -> Mailing | None:
    """The mailing with this public id, or None."""
    return Mailing.objects.filter(public_id=public_id).first()


def suppressed_digests(*, address_digests: Collection[str]) -> set[str]:
    """Which of these address digests are on the suppression list (one query)."""
    if not address_digests:
        return set()
    return set(
        Suppression.objects.filter(address_digest__in=list(address_digests)).values_list(
            "address_digest", flat=True
        )
    )


def suppression_exists(*, address_digest: str) -> bool:
    """Whether this address digest is on the suppression list."""
    return Suppression.objects.filter(address_digest=address_digest).exists()


def deliveries_of_recipient(*, recipient_ref: str) -> list[Delivery]:
    """Every delivery to ``recipient_ref``, oldest first (what a person may download)."""
    return list(Delivery.objects.filter(recipient_ref=recipient_ref).order_by("pk"))
