"""The client's IP address, as far as we can trust it.

Every proxy in front of the app appends the address it received the request from to
``X-Forwarded-For``; anything further left was written by the client and may be forged.
With ``TRUSTED_PROXY_COUNT`` proxies, the N-th entry from the right is the address our
outermost proxy saw, and that is the only one we use. With 0 the header is ignored.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


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
    """The client's address as our outermost trusted proxy saw it; "" if none is valid.

    Falls back to ``REMOTE_ADDR`` when the header has fewer entries than there are trusted
    proxies (a request that did not pass through them all) or when the chosen entry is not
    an address, never to an entry further left, which the client could have written.
    """
    remote = ip_normalise(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    # Several X-Forwarded-For headers arrive joined with commas. Empty entries keep their
    # place, so that counting from the right stays exact.
    entries = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(entries) < proxies:
        return remote
    return ip_normalise(entries[-proxies]) or remote
