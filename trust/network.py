"""The client's IP address, as far as we can trust it.

Every proxy in front of the app appends the address it received the request from to
``X-Forwarded-For``; anything further left was written by the client and may be forged.
With ``TRUSTED_PROXY_COUNT`` proxies, the N-th entry from the right is the address our
outermost proxy saw, and that is the only one we use. With 0 the header is ignored.
A request without a usable address is never let past the limits: it gets
``UNKNOWN_CLIENT``, and all such requests share one bucket.
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)

# What ``client_ip`` answers when the request carries no usable address. Not an address,
# so nothing stores or hashes it; the limits count all such requests together.
UNKNOWN_CLIENT = "unknown"


def ip_normalise(value: str) -> str:
    """``value`` as a canonical IP address string, or "" if it is not one.

    IPv6 is compressed and lower-cased, an IPv4-mapped IPv6 address (``::ffff:192.0.2.1``,
    what a dual-stack socket reports for an IPv4 client) becomes plain IPv4, and a zone
    index (``%eth0``) is dropped, so one client always gets one string, one hash and one
    rate-limit counter. ``[v6]``/``[v6]:port`` and ``v4:port`` forms, which some proxies
    write, are accepted.
    """
    text = value.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # "192.0.2.1:4711"; a bare IPv6 address has at least two
        text = text.partition(":")[0]
    text = text.partition("%")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def client_ip(request: HttpRequest) -> str:
    """The client's address as our outermost trusted proxy saw it, or ``UNKNOWN_CLIENT``.

    Falls back to ``REMOTE_ADDR`` when the header has fewer entries than there are trusted
    proxies (a request that did not pass through them all), never to an entry further
    left, which the client could have written. When the address that should be used is
    empty or not an address (the trusted entry, or ``REMOTE_ADDR`` without proxies), the
    answer is ``UNKNOWN_CLIENT``: never "", which services read as "no request behind this
    call", and never a guess. Every limit then counts the request in one shared bucket
    (see ``ip_limit_units``).
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    chosen = request.META.get("REMOTE_ADDR", "")
    if proxies > 0:
        # Several X-Forwarded-For headers arrive joined with commas. Empty entries keep
        # their place, so that counting from the right stays exact; no header at all is
        # no entry (a request that did not come through the proxies), not one empty entry.
        header = request.META.get("HTTP_X_FORWARDED_FOR", "")
        entries = header.split(",") if header.strip() else []
        if len(entries) >= proxies:
            chosen = entries[-proxies]
    return ip_normalise(chosen) or UNKNOWN_CLIENT


def ip_limit_units(ip: str) -> tuple[str, str]:
    """The (burst, sustained) units that rate limits count ``ip`` in.

    IPv4: the address for both. IPv6: its /64 for the burst limit (one subscriber's network:
    a client can pick any address in it) and its /48 for the sustained one (one site's
    allocation), so rotating addresses or /64s inside one allocation gains nothing. An
    IPv4-mapped IPv6 address counts as its IPv4 address. Anything that is not an address
    ("", ``UNKNOWN_CLIENT``, garbage) fails closed: every such client shares one unit, and
    a warning says so (without the value: it came from the request).
    """
    address = ip_normalise(ip)
    if not address:
        logger.warning(
            "client address missing or unparsable: counted in the shared '%s' rate-limit "
            "bucket (check SBOR_TRUSTED_PROXY_COUNT)",
            UNKNOWN_CLIENT,
        )
        return f"ip:{UNKNOWN_CLIENT}", f"ip:{UNKNOWN_CLIENT}"
    parsed = ipaddress.ip_address(address)
    if parsed.version == 4:
        return f"ip4:{address}", f"ip4:{address}"
    return (
        f"ip6:{ipaddress.ip_network(f'{address}/64', strict=False)}",
        f"ip6:{ipaddress.ip_network(f'{address}/48', strict=False)}",
    )
