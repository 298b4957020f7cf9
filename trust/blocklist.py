"""Does a sign attempt match a block rule, or come from a disposable email domain?

Block rules are few and read on every sign request, so the whole set is cached (Django's
cache, shared by all processes with Redis) for a minute, and dropped whenever
``trust.services`` adds or removes a rule. Rules written some other way take effect when
the cache entry expires.
"""

from __future__ import annotations

import ipaddress

from disposable_email_domains import blocklist as _disposable_domains
from django.core.cache import cache

from trust.identity import email_digest, email_domain
from trust.models import BlockRule
from trust.network import ip_normalise
from trust.providers import PRIVACY_PROVIDERS

_RULES_CACHE_KEY = "trust:blockrules:v1"
_RULES_CACHE_SECONDS = 60


def _rules() -> dict[str, frozenset[str]]:
    rules: dict[str, frozenset[str]] | None = cache.get(_RULES_CACHE_KEY)
    if rules is None:
        values: dict[str, set[str]] = {kind: set() for kind in BlockRule.Kind.values}
        for kind, value in BlockRule.objects.values_list("kind", "value"):
            values.setdefault(kind, set()).add(value)
        rules = {kind: frozenset(found) for kind, found in values.items()}
        cache.set(_RULES_CACHE_KEY, rules, _RULES_CACHE_SECONDS)
    return rules


def blocklist_cache_clear() -> None:
    cache.delete(_RULES_CACHE_KEY)


def _domain_and_parents(domain: str) -> list[str]:
    """The domain and every parent but the top level: a.b.example.org, b.example.org,
    example.org."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def _network_matches(*, ip: str, networks: frozenset[str]) -> bool:
    address = ipaddress.ip_address(ip)
    for network in networks:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue  # a rule not written through the service; skip it rather than fail
    return False


def blocklist_match(*, ip: str, email: str) -> str:
    """Which kind of rule matches: "ip", "network", "domain", "address", or "" for none.

    An empty ``ip`` or ``email`` skips the rules of that kind. A domain rule also matches
    its subdomains.
    """
    rules = _rules()
    address = ip_normalise(ip) if ip else ""
    if address:
        if address in rules.get(BlockRule.Kind.IP, frozenset()):
            return "ip"
        if _network_matches(ip=address, networks=rules.get(BlockRule.Kind.NETWORK, frozenset())):
            return "network"
    if email:
        domains = rules.get(BlockRule.Kind.DOMAIN, frozenset())
        if any(d in domains for d in _domain_and_parents(email_domain(email))):
            return "domain"
        addresses = rules.get(BlockRule.Kind.ADDRESS, frozenset())
        if addresses and email_digest(email) in addresses:
            return "address"
    return ""


def disposable_domain(*, email: str) -> bool:
    """True if the address is at a throwaway-mail domain (or a subdomain of one).

    Uses the maintained list from the ``disposable-email-domains`` project; the privacy
    providers above are never disposable.
    """
    candidates = _domain_and_parents(email_domain(email))
    if any(domain in PRIVACY_PROVIDERS for domain in candidates):
        return False
    return any(domain in _disposable_domains for domain in candidates)
