"""Writes and decisions for fraud resistance: block rules and the verdict on a sign attempt."""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trust.blocklist import blocklist_cache_clear, blocklist_match, disposable_domain
from trust.domains import domain_registrable
from trust.identity import email_digest, email_domain
from trust.models import BlockRule
from trust.network import ip_limit_units, ip_normalise
from trust.ratelimit import ratelimit_hit

logger = logging.getLogger(__name__)


class FlagReason(models.TextChoices):
    """Why ``sign_attempt_assess`` flags a sign attempt: trust's own vocabulary.

    Feature apps map these to what they store (petitions keep the same values in
    ``Signature.InvalidReason`` and ``FlaggedAttemptTally.reason``): the values are stored,
    so they never change.
    """

    RATE_LIMIT = "rate_limit", gettext_lazy("too many from one place")
    BLOCKLIST = "blocklist", gettext_lazy("blocklisted")
    DISPOSABLE = "disposable", gettext_lazy("disposable address")


_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def block_rule_value_normalise(*, kind: str, value: str) -> str:
    """The stored form of a rule's value; ``ValidationError`` if it is not valid for ``kind``.

    IPs and networks are written canonically (a network from any address inside it), domains
    in lower-case IDNA, and an address only as its keyed hash: a blocklist must not become
    a list of people's addresses.
    """
    text = value.strip()
    if kind == BlockRule.Kind.IP:
        address = ip_normalise(text)
        if not address:
            raise ValidationError(_("Enter a valid IPv4 or IPv6 address."), code="invalid")
        return address
    if kind == BlockRule.Kind.NETWORK:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValidationError(
                _("Enter a valid network, such as 203.0.113.0/24 or 2001:db8::/48."),
                code="invalid",
            ) from None
        return str(network)
    if kind == BlockRule.Kind.DOMAIN:
        domain = email_domain(f"x@{text.lstrip('@')}")
        labels = domain.split(".")
        if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
            raise ValidationError(_("Enter a domain, such as example.com."), code="invalid")
        return domain
    if kind == BlockRule.Kind.ADDRESS:
        try:
            validate_email(text)
        except ValidationError:
            raise ValidationError(_("Enter a valid email address."), code="invalid") from None
        return email_digest(text)
    raise ValidationError(_("Choose the kind of rule."), code="invalid_kind")


def block_rule_create(
    *, kind: str, value: str, note: str = "", created_by: Any = None
) -> BlockRule:
    """Add a block rule; sign attempts matching it are accepted quietly and marked fraudulent.

    Raises ``ValidationError`` for a value that does not fit ``kind`` or a rule that exists.
    Signatures made before the rule are not touched (staff invalidate those by criteria).
    """
    stored = block_rule_value_normalise(kind=kind, value=value)
    rule = BlockRule(kind=kind, value=stored, note=note.strip()[:200], created_by=created_by)
    try:
        with transaction.atomic():
            rule.save(force_insert=True)
    except IntegrityError:
        raise ValidationError(_("This rule exists already."), code="duplicate") from None
    _rules_changed()
    return rule


def block_rule_delete(*, rule: BlockRule) -> None:
    """Remove a block rule; attempts that matched it are let through from now on."""
    rule.delete()
    _rules_changed()


def _rules_changed() -> None:
    # Now, and again after commit: a request that read the rules between the two would
    # otherwise cache the old set for a whole minute.
    blocklist_cache_clear()
    transaction.on_commit(blocklist_cache_clear)


def client_ratelimit_hit(
    *, ip: str, scope: str, limit: int, window_seconds: int, wide: bool = False
) -> bool:
    """Count one hit by the client at ``ip`` against the limit named ``scope``; True while
    within ``limit`` per window.

    The client is counted per address for IPv4 and per /64 for IPv6 (per /48 with
    ``wide``: for limits over longer windows, see ``ip_limit_units``). An empty or
    unparsable ``ip`` is never let through: all such clients share one bucket. Pass what
    ``trust.network.client_ip`` gives.
    """
    burst, sustained = ip_limit_units(ip)
    return ratelimit_hit(
        key=f"{scope}:{sustained if wide else burst}", limit=limit, window_seconds=window_seconds
    )


def _domain_exempt(registrable: str) -> bool:
    exempt = {domain_registrable(domain=d) for d in settings.RATE_DOMAIN_EXEMPT}
    return registrable in exempt


def _rate_verdict(*, ip: str | None, email: str, counts_for_domain: bool) -> str:
    """Count this attempt against the limits that apply; the first one exceeded, or "".

    Every attempt counts against every per-client limit, also one already blocked, flagged
    or over a limit (not only until the first is exceeded): each counter then holds the
    number of attempts, and exactly ``limit`` of them per window pass however many arrive
    at once.

    The per-domain limit counts only attempts that pass everything else
    (``counts_for_domain`` and within the per-client limits): those that create a real
    sign attempt and mail its address. Anything a script can send for free (a honeypot
    hit, a blocked or disposable address, an attempt past its own client's limit) must not
    move a bucket that strangers share. Otherwise a script could use up the limit of a
    provider's users, and, by filling a small domain's bucket to one below the limit and
    sending one probe, learn from the public tally whether someone there signed this hour.
    """
    exceeded: list[str] = []
    if ip is not None:
        burst, sustained = ip_limit_units(ip)
        if not ratelimit_hit(
            key=f"sign:{burst}", limit=settings.RATE_IP_BURST_PER_MINUTE, window_seconds=60
        ):
            exceeded.append("ip_burst")
        if not ratelimit_hit(
            key=f"sign:{sustained}",
            limit=settings.RATE_IP_SUSTAINED_PER_HOUR,
            window_seconds=3600,
        ):
            exceeded.append("ip_sustained")
    if exceeded or not counts_for_domain:
        return exceeded[0] if exceeded else ""
    # One registrant, one bucket: a.example.co.uk and b.example.co.uk share example.co.uk's.
    registrable = domain_registrable(domain=email_domain(email)) if email else ""
    if (
        registrable
        and not _domain_exempt(registrable)
        and not ratelimit_hit(
            key=f"sign:domain:{registrable}",
            limit=settings.RATE_DOMAIN_PER_HOUR,
            window_seconds=3600,
        )
    ):
        return DOMAIN_RATE_DETAIL
    return ""


# The rule that flags an attempt over its email domain's limit. Whether it trips depends on
# other people's attempts at that domain, so its tally is for staff only: on a public
# number it would tell a stranger that someone at a one-person domain tried to sign.
DOMAIN_RATE_DETAIL = "domain_rate"


def confirm_code_attempt_allowed(*, ip: str) -> bool:
    """Count one typed confirmation code from ``ip``; False once past an hourly limit.

    Codes have about 39 bits; limits per client keep guessing one hopeless: per IPv4
    address or IPv6 /64 (``RATE_CONFIRM_CODE_PER_HOUR``), and per IPv6 /48
    (``RATE_CONFIRM_CODE_NETWORK_PER_HOUR``), so that the /64s of one allocation do not
    each bring a budget of their own. A request without a usable address shares one bucket
    with all others like it. Both limits count every attempt.
    """
    per_client = client_ratelimit_hit(
        ip=ip,
        scope="confirm-code",
        limit=settings.RATE_CONFIRM_CODE_PER_HOUR,
        window_seconds=3600,
    )
    per_network = client_ratelimit_hit(
        ip=ip,
        scope="confirm-code:network",
        limit=settings.RATE_CONFIRM_CODE_NETWORK_PER_HOUR,
        window_seconds=3600,
        wide=True,
    )
    return per_client and per_network


def sign_attempt_assess(
    *, petition_id: int, ip: str | None, email: str, automated: bool = False
) -> tuple[FlagReason | None, str]:
    """The verdict on one sign attempt: (None, "") if fine, else (``FlagReason``, detail).

    Checks, in this order: block rules (detail "ip", "network", "domain" or "address"),
    disposable domains ("disposable"), then rate limits per client ("ip_burst": per IPv4
    address or IPv6 /64 and minute; "ip_sustained": per IPv4 address or IPv6 /48 and
    hour) and per registrable email domain ("domain_rate"; large and privacy providers
    are exempt, see ``RATE_DOMAIN_EXEMPT``). Every attempt counts against the per-client
    limits whatever the verdict; only one that passes everything else counts against its
    domain's (see ``_rate_verdict``). ``automated`` says the caller already caught a
    script (a honeypot, a failed challenge): the verdict is then the caller's, and the
    attempt is counted like a blocked one. ``petition_id`` is only logged: the limits are
    site-wide, since one script may sign many petitions.

    ``ip`` is what ``trust.network.client_ip`` gave (never "" for a request). "" or None
    means no request is behind the call (an import, a test) and skips the IP checks; any
    other value that is not an address (``UNKNOWN_CLIENT``, garbage) fails closed into
    one shared bucket.
    """
    address = ip_normalise(ip) if ip else ""
    blocked = blocklist_match(ip=address, email=email)
    disposable = bool(email) and not blocked and disposable_domain(email=email)
    rate_detail = _rate_verdict(
        ip=ip or None, email=email, counts_for_domain=not (automated or blocked or disposable)
    )
    if blocked:
        reason, detail = FlagReason.BLOCKLIST, blocked
    elif disposable:
        reason, detail = FlagReason.DISPOSABLE, "disposable"
    elif rate_detail:
        reason, detail = FlagReason.RATE_LIMIT, rate_detail
    else:
        return None, ""
    # Which rule, never who: no address, domain or IP in the log.
    logger.info(
        "sign attempt flagged: petition=%s reason=%s detail=%s", petition_id, reason, detail
    )
    return reason, detail


def manage_link_request_limit(*, ip: str, email: str) -> str:
    """Count one request for a manage link; "" if within both limits, else "ip" or
    "address" (the per-client limit first, when both are exceeded).

    Every request counts against both limits (per client: an IPv4 address or an IPv6 /64,
    and per normalised address), whatever the outcome and whether or not the address has
    signed: the limits then trip at the same point for everyone. The per-address limit is
    shared by everyone who types that address, its owner included, so callers must not
    let it show (see ``petitions.services.manage_links.manage_link_request``); the per-client
    one depends only on the requester and may. A request without a usable client IP shares
    one bucket with all such requests (fails closed). ``ratelimit_hit`` keys every counter
    under the rotating salt, so no key names an IP or an address.
    """
    ip_ok = client_ratelimit_hit(
        ip=ip, scope="manage:ip", limit=settings.RATE_MANAGE_IP_PER_HOUR, window_seconds=3600
    )
    address_ok = ratelimit_hit(
        key=f"manage:address:{email_digest(email)}",
        limit=settings.RATE_MANAGE_ADDRESS_PER_HOUR,
        window_seconds=3600,
    )
    if not ip_ok:
        return "ip"
    return "" if address_ok else "address"
