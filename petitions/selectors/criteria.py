"""Finding signatures by what staff know: IP, network, email domain or address, keyed hash,
time.

Only keyed hashes are stored, so every criterion is turned into hashes before it meets the
database. Used by the admin's search and invalidation screens, and by the organisers'
workspace, whose criteria carry their ``organisation``: every filter built from them is
then confined to that organisation's petitions, whatever the other criteria say.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from campaigns.models import Organisation
from petitions.models import Petition, Signature
from trust.identity import (
    EmailAddressInvalidError,
    email_canonical,
    email_digest,
    email_domain_digest,
)
from trust.iphash import ip_hash_candidates, ip_network_hash_candidates

# Staff may invalidate only signatures that still stand.
INVALIDATABLE_STATUSES = (Signature.Status.PENDING, Signature.Status.CONFIRMED)
# IP hashes are per address and per network (/24 for IPv4, /48 for IPv6); a wider or a
# narrower CIDR range is spread over those units, up to this many of them.
_NETWORK_PREFIX = {4: 24, 6: 48}
_MAX_RANGE_UNITS = 256
_HEX = re.compile(r"^[0-9a-f]{16,128}$")


class CriteriaError(ValueError):
    """Search or invalidation criteria that cannot be used; the message is for staff."""


@dataclass(frozen=True)
class SignatureCriteria:
    """What staff look for. ``ip`` is an address or a CIDR range, ``domain`` a bare domain,
    ``email`` one exact address (matched by its keyed digest, as de-duplication does).

    ``organisation`` is not a criterion but a scope: set, nothing outside that
    organisation's petitions matches (the workspace sets it; the admin does not).
    """

    petition: Petition | None = None
    ip: str = ""
    ip_hash: str = ""
    domain: str = ""
    email: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None
    statuses: tuple[str, ...] = ()
    organisation: Organisation | None = None

    def is_empty(self) -> bool:
        return not self.kinds()

    def kinds(self) -> list[str]:
        """Which criteria are given, by name only (for an audit entry: never their values)."""
        given = {
            "petition": self.petition is not None,
            "ip": bool(self.ip.strip()),
            "hash": bool(self.ip_hash.strip()),
            "domain": bool(self.domain.strip()),
            "email": bool(self.email.strip()),
            "time": self.created_from is not None or self.created_to is not None,
        }
        return [name for name, present in given.items() if present]


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
    if criteria.organisation is not None:
        q &= Q(petition__campaign__organisation=criteria.organisation)
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
    if criteria.email.strip():
        q &= Q(supporter__email_digest=_email_digest(criteria.email))
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


def _email_digest(email: str) -> str:
    try:
        return email_digest(email_canonical(email))
    except EmailAddressInvalidError:
        raise CriteriaError(_("This is not an email address.")) from None


def signature_criteria_record(*, criteria: SignatureCriteria) -> dict[str, Any]:
    """The criteria as stored on a batch: hashes and digests, never an address or domain."""
    record: dict[str, Any] = {}
    if criteria.organisation is not None:
        record["organisation"] = str(criteria.organisation.public_id)
    if criteria.petition is not None:
        record["petition"] = criteria.petition.slug
    if criteria.ip.strip():
        field, hashes = _ip_hashes(criteria.ip)
        record["ip_hashes" if field == "ip_hash" else "ip_network_hashes"] = hashes
    if criteria.ip_hash.strip():
        record["hash"] = _hash_clean(criteria.ip_hash)
    if criteria.domain.strip():
        record["domain_digest"] = _domain_digest(criteria.domain)
    if criteria.email.strip():
        record["email_digest"] = _email_digest(criteria.email)
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
        Signature.objects.filter(signature_criteria_q(criteria=invalidation_scope(criteria)))
        .values("petition_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    numbers = {row["petition_id"]: row["n"] for row in per_petition}
    petitions = Petition.objects.filter(pk__in=numbers).order_by("title")
    return {petition: numbers[petition.pk] for petition in petitions}


def invalidation_scope(criteria: SignatureCriteria) -> SignatureCriteria:
    """The criteria narrowed to signatures that still stand; ``CriteriaError`` if empty."""
    if criteria.is_empty():
        raise CriteriaError(
            _("Give at least one criterion: a petition, an IP, a domain or a time.")
        )
    statuses = tuple(s for s in criteria.statuses if s in INVALIDATABLE_STATUSES)
    return dataclasses.replace(criteria, statuses=statuses or INVALIDATABLE_STATUSES)


_SEARCH_PREFIXES = ("ip", "net", "domain", "hash")


def signature_search_parse(*, term: str) -> tuple[SignatureCriteria, uuid.UUID | None]:
    """Parse the admin search box: ``ip:``, ``net:``, ``domain:``, ``hash:`` or a signature id.

    Raises ``CriteriaError`` for anything else.
    """
    fields: dict[str, str] = {}
    public_id = None
    for token in term.split():
        prefix, sep, value = token.partition(":")
        prefix = prefix.lower()
        if sep and prefix in _SEARCH_PREFIXES and value:
            if prefix == "net" and "/" not in value:
                # A bare address stands for its whole network.
                value = f"{value}/{48 if ':' in value else 24}"
            fields["ip" if prefix == "net" else prefix] = value
            continue
        try:
            public_id = uuid.UUID(token)
        except ValueError:
            raise CriteriaError(
                _("Search with ip:, net:, domain:, hash: or a signature's id.")
            ) from None
    criteria = SignatureCriteria(
        ip=fields.get("ip", ""), domain=fields.get("domain", ""), ip_hash=fields.get("hash", "")
    )
    return criteria, public_id
