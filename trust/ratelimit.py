"""Fixed-window counters for rate limits.

With ``REDIS_URL`` set, counters live in Redis and are shared by every process and
machine: one ``INCR`` per hit, in a ``MULTI`` with its ``EXPIREAT``, so concurrent hits
can never both see the same count and the limit holds exactly. Without it (the embedded
single-process defaults), counters live in this process's memory behind a lock: exact
within one process, but each process counts on its own, so run Redis whenever more than
one process serves requests.

A window is ``[k * window_seconds, (k + 1) * window_seconds)`` on the Unix clock, the
same for every process.

What is stored (in Redis or in memory) is never the caller's key but its HMAC under the
IP-hash key and the current *rotating* salt (``trust.iphash``). A counter therefore names
no IP or domain, and cannot be linked back to one even by someone holding
``SBOR_IP_HASH_KEY`` once that salt is deleted at the end of the fraud window; windows
are at most a day, so every counter has expired long before. When the salt rotates,
the counters of the windows then running start again from zero, once a rotation period.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings

from trust.iphash import current_salt_digest

logger = logging.getLogger(__name__)

KEY_PREFIX = "sbor:rl:"
# Salts are deleted FRAUD_WINDOW_DAYS (at least one day) after their period ends: a counter
# living at most this long has always expired by then.
MAX_WINDOW_SECONDS = 24 * 60 * 60
# Signing must not hang on a Redis that is down or slow: give up quickly and let it through.
_SOCKET_TIMEOUT_SECONDS = 0.5

# After a failure, Redis is left alone this long: a store that times out would otherwise
# add its timeout to every sign request (three limits each) for the whole outage.
_BACKOFF_SECONDS = 5.0

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()
_redis_down_until = 0.0

_local_counts: dict[str, tuple[int, float]] = {}  # key -> (hits, window end)
_local_lock = threading.Lock()
_local_next_prune = 0.0
_LOCAL_PRUNE_EVERY_SECONDS = 60.0


def _now() -> float:
    # One clock for every window; tests replace it to pin a window.
    return time.time()


def _redis_client() -> redis.Redis | None:
    url = settings.REDIS_URL
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        with _clients_lock:
            client = _clients.get(url)
            if client is None:
                client = redis.Redis.from_url(
                    url,
                    socket_timeout=_SOCKET_TIMEOUT_SECONDS,
                    socket_connect_timeout=_SOCKET_TIMEOUT_SECONDS,
                )
                _clients[url] = client
    return client


def ratelimit_store_key(*, key: str, window_seconds: int, window: int) -> str:
    """The name a counter is stored under: ``key`` hashed under the current rotating salt.

    Call it outside a transaction that may roll back (it may start a new salt).
    """
    digest = current_salt_digest(message=f"ratelimit:{key}")[:32]
    return f"{KEY_PREFIX}{digest}:{window_seconds}:{window}"


def ratelimit_hit(*, key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit on ``key`` in the current window; True while the count is <= ``limit``.

    Every call counts, including those past the limit, so exactly ``limit`` calls per
    window get True however many arrive at once. ``key`` may hold an IP or a domain: it is
    hashed under the rotating salt before it is stored (see the module's docstring).
    ``window_seconds`` is at most a day (``ValueError`` otherwise), so that no counter
    outlives the salt that names it. If Redis cannot be reached the hit is let through
    (fail open), a warning logged once per outage, and Redis left alone for a few seconds
    before the next try: an outage of the limiter must not stop or slow down signing.
    """
    if not 0 < window_seconds <= MAX_WINDOW_SECONDS:
        raise ValueError(f"a rate-limit window is 1 to {MAX_WINDOW_SECONDS} seconds")
    now = _now()
    window = int(now // window_seconds)
    window_end = (window + 1) * window_seconds
    full_key = ratelimit_store_key(key=key, window_seconds=window_seconds, window=window)
    client = _redis_client()
    if client is None:
        return _local_hit(key=full_key, window_end=window_end, now=now) <= limit
    if time.monotonic() < _redis_down_until:
        return True
    try:
        pipe = client.pipeline(transaction=True)
        pipe.incr(full_key)
        # An absolute expiry a second after the window ends: the same for every hit, so a
        # late hit cannot keep an old window's key alive.
        pipe.expireat(full_key, int(window_end) + 1)
        count, _ = pipe.execute()
    except redis.RedisError as exc:
        _redis_failed(exc)
        return True
    if _redis_down_until:
        _redis_recovered()
    return int(count) <= limit


def _redis_failed(exc: redis.RedisError) -> None:
    global _redis_down_until
    with _clients_lock:
        already_down = _redis_down_until > 0.0
        _redis_down_until = time.monotonic() + _BACKOFF_SECONDS
    if not already_down:
        # Once per outage, not once per hit. The exception's class is enough to find the
        # outage; keys stay out of the log.
        logger.warning("rate limit store unavailable, hits let through: %s", type(exc).__name__)


def _redis_recovered() -> None:
    global _redis_down_until
    with _clients_lock:
        _redis_down_until = 0.0
    logger.info("rate limit store reachable again")


def _local_hit(*, key: str, window_end: float, now: float) -> int:
    global _local_next_prune
    with _local_lock:
        if now >= _local_next_prune:
            # Drop finished windows now and then, so the dict stays as small as the traffic.
            for stale in [k for k, (_, end) in _local_counts.items() if end <= now]:
                del _local_counts[stale]
            _local_next_prune = now + _LOCAL_PRUNE_EVERY_SECONDS
        hits, _ = _local_counts.get(key, (0, window_end))
        hits += 1
        _local_counts[key] = (hits, window_end)
        return hits


def ratelimit_reset() -> None:
    """Forget every counter (ours only: keys under ``KEY_PREFIX``). For tests."""
    global _local_next_prune, _redis_down_until
    with _local_lock:
        _local_counts.clear()
        _local_next_prune = 0.0
    with _clients_lock:
        _redis_down_until = 0.0
    client = _redis_client()
    if client is None:
        return
    try:
        keys = list(client.scan_iter(match=f"{KEY_PREFIX}*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError as exc:
        logger.warning("rate limit store unavailable, counters not reset: %s", type(exc).__name__)
