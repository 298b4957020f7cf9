"""Staff review: the integrity line, finding signatures, invalidating and revalidating them.

Staff never type personal data into stored records: an IP address or a domain given as a
search criterion is turned into the keyed hashes that signatures carry, and only those
hashes are kept on an ``InvalidationBatch``.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from petitions.models import FlaggedAttemptTally, InvalidationBatch, Petition, Signature
from petitions.selectors import petition_recent_signers_forget
from petitions.services.counts import signature_statuses_change
from trust.identity import email_domain_digest
from trust.iphash import ip_hash_candidates, ip_network_hash_candidates

logger = logging.getLogger(__name__)

# The statuses the integrity line counts from rows; "confirmed" comes from the stored count.
INTEGRITY_STATUSES = (
    Signature.Status.PENDING,
    Signature.Status.WITHDRAWN,
    Signature.Status.INVALIDATED,
)
# A petition closed (or last refreshed) longer ago than this is refreshed once a day only:
# its numbers can still move (a late withdrawal, a staff decision) but rarely do.
INTEGRITY_SETTLED_AFTER = timedelta(days=1)
# Staff may invalidate only signatures that still stand.
INVALIDATABLE_STATUSES = (Signature.Status.PENDING, Signature.Status.CONFIRMED)
# IP hashes are per address and per network (/24 for IPv4, /48 for IPv6); a wider or a
# narrower CIDR range is spread over those units, up to this many of them.
_NETWORK_PREFIX = {4: 24, 6: 48}
_MAX_RANGE_UNITS = 256
_HEX = re.compile(r"^[0-9a-f]{16,128}$")


class CriteriaError(ValueError):
    """Search or invalidation criteria that cannot be used; the message is for staff."""


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
        pk: {"pending": 0, "withdrawn": 0, "invalidated": {}} for pk in petition_ids
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
        .values("petition_id", "reason")
        .annotate(n=Sum("count"))
        .order_by()
    )
    for tally in tallies:
        by_reason = integrity[tally["petition_id"]]["invalidated"]
        by_reason[tally["reason"]] = by_reason.get(tally["reason"], 0) + tally["n"]
    now = timezone.now()
    for pk in petition_ids:
        Petition.objects.filter(pk=pk).update(integrity=integrity[pk], integrity_refreshed_at=now)


# --- Finding signatures -----------------------------------------------------------------


@dataclass(frozen=True)
class SignatureCriteria:
    """What staff look for. ``ip`` is an address or a CIDR range, ``domain`` a bare domain."""

    petition: Petition | None = None
    ip: str = ""
    ip_hash: str = ""
    domain: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None
    statuses: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (
            self.petition
            or self.ip.strip()
            or self.ip_hash.strip()
            or self.domain.strip()
            or self.created_from
            or self.created_to
        )


def signatures_find(
    *,
    petition: Petition | None = None,
    ip: str = "",
    ip_hash: str = "",
    domain: str = "",
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    status: str | Iterable[str] | None = None,
) -> QuerySet[Signature]:
    """Signatures matching every criterion given (all signatures if none is).

    ``ip`` is an address (matched by its hash under every kept key) or a CIDR range
    (matched by network hashes; ranges narrower than /24 or /48 by address hashes).
    ``ip_hash`` matches an address hash, a network hash or an email-domain digest.
    ``domain`` matches addresses at that domain and, for a registrable domain
    (``example.org``, ``example.co.uk``), at any subdomain of it.
    Raises ``CriteriaError`` for an address, range or hash that cannot be used.
    """
    if isinstance(status, str):
        statuses: tuple[str, ...] = (status,)
    else:
        statuses = tuple(status or ())
    criteria = SignatureCriteria(
        petition=petition,
        ip=ip,
        ip_hash=ip_hash,
        domain=domain,
        created_from=created_from,
        created_to=created_to,
        statuses=statuses,
    )
    return Signature.objects.filter(signature_criteria_q(criteria=criteria))


def signature_criteria_q(*, criteria: SignatureCriteria) -> Q:
    """The criteria as a filter on ``Signature``; raises ``CriteriaError``."""
    q = Q()
    if criteria.petition is not None:
        q &= Q(petition=criteria.petition)
    if criteria.ip.strip():
        field, hashes = _ip_hashes(criteria.ip)
        q &= Q(**{f"{field}__in": hashes})
    if criteria.ip_hash.strip():
        digest = _hash_clean(criteria.ip_hash)
        q &= Q(ip_hash=digest) | Q(ip_network_hash=digest) | _domain_q(digest)
    if criteria.domain.strip():
        q &= _domain_q(_domain_digest(criteria.domain))
    if criteria.created_from is not None:
        q &= Q(created_at__gte=criteria.created_from)
    if criteria.created_to is not None:
        q &= Q(created_at__lt=criteria.created_to)
    if criteria.statuses:
        q &= Q(status__in=criteria.statuses)
    return q


def _ip_hashes(text: str) -> tuple[str, list[str]]:
    """The Signature field to match and the hashes an address or CIDR range stands for."""
    text = text.strip()
    try:
        if "/" not in text:
            return "ip_hash", ip_hash_candidates(ip=str(ipaddress.ip_address(text)))
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise CriteriaError(
            _("“%(value)s” is not an IP address or a CIDR range.") % {"value": text[:60]}
        ) from None
    unit = _NETWORK_PREFIX[network.version]
    if network.prefixlen <= unit:
        if 2 ** (unit - network.prefixlen) > _MAX_RANGE_UNITS:
            raise CriteriaError(_("This range is too wide to search; narrow it down."))
        subnets = network.subnets(new_prefix=unit) if network.prefixlen < unit else [network]
        hashes = [h for s in subnets for h in ip_network_hash_candidates(ip=str(s[0]))]
        return "ip_network_hash", hashes
    if network.num_addresses > _MAX_RANGE_UNITS:
        raise CriteriaError(_("Search this range by its whole network or by single addresses."))
    return "ip_hash", [h for a in network for h in ip_hash_candidates(ip=str(a))]


def _hash_clean(value: str) -> str:
    digest = value.strip().lower()
    if not _HEX.match(digest):
        raise CriteriaError(_("A hash is written in hexadecimal digits (0-9, a-f)."))
    return digest


def _domain_q(digest: str) -> Q:
    """Supporters at the domain itself or, when it is a registrable domain, at a subdomain.

    Only keyed hashes are compared. Supporters whose address was dropped before the
    registrable-domain hash existed have none, and are found by their exact domain only.
    """
    return Q(supporter__email_domain_digest=digest) | Q(supporter__email_registrable_digest=digest)


def _domain_digest(domain: str) -> str:
    domain = domain.strip().lstrip("@").strip()
    if not domain or "." not in domain or any(c.isspace() for c in domain):
        raise CriteriaError(_("“%(value)s” is not a domain.") % {"value": domain[:60]})
    return email_domain_digest(domain)


def signature_criteria_record(*, criteria: SignatureCriteria) -> dict[str, Any]:
    """The criteria as stored on a batch: hashes and digests, never an address or domain."""
    record: dict[str, Any] = {}
    if criteria.petition is not None:
        record["petition"] = criteria.petition.slug
    if criteria.ip.strip():
        field, hashes = _ip_hashes(criteria.ip)
        record["ip_hashes" if field == "ip_hash" else "ip_network_hashes"] = hashes
    if criteria.ip_hash.strip():
        record["hash"] = _hash_clean(criteria.ip_hash)
    if criteria.domain.strip():
        record["domain_digest"] = _domain_digest(criteria.domain)
    if criteria.created_from is not None:
        record["created_from"] = criteria.created_from.isoformat()
    if criteria.created_to is not None:
        record["created_to"] = criteria.created_to.isoformat()
    if criteria.statuses:
        record["statuses"] = sorted(criteria.statuses)
    return record


def signatures_invalidatable_count(*, criteria: SignatureCriteria) -> dict[Petition, int]:
    """The preview: how many signatures an invalidation would touch, per petition."""
    per_petition = (
        Signature.objects.filter(signature_criteria_q(criteria=_invalidation_scope(criteria)))
        .values("petition_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    numbers = {row["petition_id"]: row["n"] for row in per_petition}
    petitions = Petition.objects.filter(pk__in=numbers).order_by("title")
    return {petition: numbers[petition.pk] for petition in petitions}


def _invalidation_scope(criteria: SignatureCriteria) -> SignatureCriteria:
    if criteria.is_empty():
        raise CriteriaError(
            _("Give at least one criterion: a petition, an IP, a domain or a time.")
        )
    statuses = tuple(s for s in criteria.statuses if s in INVALIDATABLE_STATUSES)
    return SignatureCriteria(
        petition=criteria.petition,
        ip=criteria.ip,
        ip_hash=criteria.ip_hash,
        domain=criteria.domain,
        created_from=criteria.created_from,
        created_to=criteria.created_to,
        statuses=statuses or INVALIDATABLE_STATUSES,
    )


# --- Invalidating and revalidating ------------------------------------------------------


def signatures_invalidate(
    *, criteria: SignatureCriteria, reason: str, expected_count: int, actor: Any = None
) -> InvalidationBatch:
    """Invalidate every pending or confirmed signature matching ``criteria``, as one batch.

    ``expected_count`` is the number staff saw in the preview: if the matching signatures
    are now more or fewer, nothing changes and ``InvalidationCountChangedError`` is raised,
    so a decision is never applied to signatures nobody looked at. Counted signatures leave
    their petitions' counts at once. Raises ``CriteriaError`` for unusable criteria or an
    empty reason.
    """
    reason = reason.strip()
    if not reason:
        raise CriteriaError(_("Say why these signatures are invalidated."))
    scope = _invalidation_scope(criteria)
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
            created_by=actor if getattr(actor, "pk", None) else None,
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
