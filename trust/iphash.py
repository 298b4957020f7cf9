"""Keyed hashes of client IPs, under salts that rotate and are then destroyed.

A signature keeps ``HMAC-SHA256(SBOR_IP_HASH_KEY + salt, ip)`` and the same for its
network (/24 for IPv4, /48 for IPv6), where the salt is the current ``IpHashKey`` row. A
new salt starts every ``IP_HASH_ROTATE_DAYS``, so the same address hashes differently
from one period to the next. Staff searching for an address get its hash under every salt
still kept. After ``FRAUD_WINDOW_DAYS`` the app that stored the hashes empties them and
calls ``ip_hash_keys_drop`` to delete the salts that made them (petitions' periodic
``ip_hashes_drop`` does both), so not even someone holding ``SBOR_IP_HASH_KEY`` can test an
address against an old hash.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from trust.models import IpHashKey
from trust.network import ip_normalise

# How long a process reuses the current salt before looking again. Short, so that after a
# rotation every process moves to the newest salt within a minute.
_KEY_CACHE_SECONDS = 60.0
_KEY_CACHE_AFTER_CREATE_SECONDS = 1.0
_cached_key: tuple[float, int, str, float] | None = None  # (until, pk, salt, created ts)
_cache_lock = threading.Lock()


def _key_rotate_age() -> timedelta:
    return timedelta(days=settings.IP_HASH_ROTATE_DAYS)


def _key_current() -> str:
    """The salt of the current period's key, making one when the newest is too old.

    Processes that rotate at the same moment each create a row. All of them then settle
    on the first row of the period (the lowest id made within the rotation age), so that
    they hash addresses, and name rate-limit counters, alike: otherwise each would count
    a client's hits under its own salt for as long as it caches it. The others' rows stay
    unused until they age out.
    """
    global _cached_key
    now = timezone.now()
    cached = _cached_key
    if (
        cached is not None
        and cached[0] > time.monotonic()
        and cached[3] > (now - _key_rotate_age()).timestamp()
    ):
        return cached[2]
    current = _period_first_key(now=now)
    cache_seconds = _KEY_CACHE_SECONDS
    if current is None:
        IpHashKey.objects.create(salt=secrets.token_hex(32), created_at=now)
        current = _period_first_key(now=now)
        assert current is not None
        # A racing process's row may commit just after this read, with a lower id: look
        # again soon, so that a split between processes heals within a second.
        cache_seconds = _KEY_CACHE_AFTER_CREATE_SECONDS
    with _cache_lock:
        _cached_key = (
            time.monotonic() + cache_seconds,
            current.pk,
            current.salt,
            current.created_at.timestamp(),
        )
    return current.salt


def _period_first_key(*, now: datetime) -> IpHashKey | None:
    return IpHashKey.objects.filter(created_at__gt=now - _key_rotate_age()).order_by("pk").first()


def ip_hash_key_cache_clear() -> None:
    """Forget the salt cached in this process (tests roll rows back under it)."""
    global _cached_key
    with _cache_lock:
        _cached_key = None


def _network(ip: str) -> str:
    prefix = 24 if ipaddress.ip_address(ip).version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _digest(*, salt: str, message: str) -> str:
    key = (settings.SBOR_IP_HASH_KEY + salt).encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _hashes_under(*, salt: str, ip: str) -> tuple[str, str]:
    return (
        _digest(salt=salt, message=f"ip:{ip}"),
        _digest(salt=salt, message=f"net:{_network(ip)}"),
    )


def ip_hashes(*, ip: str) -> tuple[str, str]:
    """(hash of the address, hash of its network) under the current key; ("", "") for no IP.

    Call it outside a transaction that may roll back: when it rotates the key, the new row
    must outlive the request (the process caches it for a minute).
    """
    normalised = ip_normalise(ip)
    if not normalised:
        return "", ""
    return _hashes_under(salt=_key_current(), ip=normalised)


def current_salt_digest(*, message: str) -> str:
    """HMAC-SHA256 of ``message`` under the IP-hash key and the current salt.

    For values that must not link back to a person once the salt is gone, such as
    rate-limit keys. Callers put a purpose prefix in ``message`` (never ``ip:`` or
    ``net:``), so such a digest never equals a stored IP hash. Call it outside a
    transaction that may roll back, like ``ip_hashes``.
    """
    return _digest(salt=_key_current(), message=message)


def _kept_salts() -> list[str]:
    return list(IpHashKey.objects.order_by("-created_at", "-pk").values_list("salt", flat=True))


def ip_hash_candidates(*, ip: str) -> list[str]:
    """The hashes ``ip`` has under every key still kept: what a stored ``ip_hash`` may be."""
    normalised = ip_normalise(ip)
    if not normalised:
        return []
    return [_hashes_under(salt=salt, ip=normalised)[0] for salt in _kept_salts()]


def ip_network_hash_candidates(*, ip: str) -> list[str]:
    """The hashes of ``ip``'s network under every key kept: what an ``ip_network_hash`` may be."""
    normalised = ip_normalise(ip)
    if not normalised:
        return []
    return [_hashes_under(salt=salt, ip=normalised)[1] for salt in _kept_salts()]


def ip_hash_keys_drop(*, hashes_emptied_before: datetime) -> int:
    """Delete the salts no kept hash needs, once every hash made before
    ``hashes_emptied_before`` has been emptied; returns how many were deleted.

    A key made at T hashes until T + rotation, so it may go once the hashes made up to
    then are gone. Safe to run at any time and any number of times.
    """
    deleted, _ = IpHashKey.objects.filter(
        created_at__lt=hashes_emptied_before - _key_rotate_age()
    ).delete()
    return deleted
