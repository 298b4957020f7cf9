"""Keeping bulk mail within the provider's quota, across every worker at once.

A token bucket in Redis (GCRA: one key holding the "theoretical arrival time"), so two
workers, or twenty, share one budget of ``MAILER_BULK_RATE`` messages per second with a
burst of at most one second's worth. A caller reserves its messages and is told how long
to wait before sending them; nobody is refused, so the budget is shared in turn.

If Redis cannot be reached, each limiter falls back to a budget of its own of
``MAILER_BULK_RATE / MAILER_BULK_TASKS`` and logs that once: the total stays within the
quota as long as no more send tasks run at once than that setting says.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

KEY = "sbor:mailer:bulk-rate"

# Reserve ARGV[1] seconds of sending (messages / rate); the burst tolerance ARGV[2] is one
# second. Redis's own clock, so workers whose clocks differ still share one timeline.
# Returns the seconds to wait before the reserved messages may go, as a string (Lua
# numbers become integers on the way back).
_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + tonumber(ARGV[1])
local ttl = math.ceil((new_tat - now) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', new_tat), 'PX', ttl)
local wait = new_tat - tonumber(ARGV[2]) - now
if wait < 0 then wait = 0 end
return string.format('%.6f', wait)
"""

BURST_SECONDS = 1.0


class LocalBucket:
    """The same bucket in this process only (tests, and when Redis is down)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tat = 0.0
        self._lock = threading.Lock()

    def reserve(self, messages: int) -> float:
        with self._lock:
            now = time.monotonic()
            self._tat = max(self._tat, now) + messages / self.rate
            return max(0.0, self._tat - BURST_SECONDS - now)


class RateLimiter:
    """``acquire(n)`` blocks until ``n`` more messages may go; shared through Redis."""

    def __init__(self, *, rate: float, redis_url: str = "", key: str = KEY) -> None:
        self.rate = rate
        self.key = key
        self._client: Any = None
        self._script: Any = None
        self._local = LocalBucket(rate / max(1, settings.MAILER_BULK_TASKS)) if rate else None
        self._warned = False
        if rate and redis_url:
            import redis

            timeout = settings.REDIS_TIMEOUT_SECONDS
            self._client = redis.Redis.from_url(
                redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
            self._script = self._client.register_script(_RESERVE)

    def reserve(self, messages: int) -> float:
        """Reserve ``messages`` sends; the seconds to wait before making them."""
        if not self.rate or messages <= 0:
            return 0.0
        if self._script is not None:
            try:
                wait = float(self._script(keys=[self.key], args=[messages / self.rate, 1.0]))
            except Exception:
                self._warn_once()
            else:
                self._warned = False
                return wait
        assert self._local is not None
        return self._local.reserve(messages)

    def acquire(self, messages: int = 1) -> float:
        """Wait until ``messages`` more may go; returns how long it waited."""
        wait = self.reserve(messages)
        if wait > 0:
            time.sleep(wait)
        return wait

    def _warn_once(self) -> None:
        if not self._warned:
            logger.warning(
                "bulk mail rate: Redis unreachable, keeping to a local share of the quota"
            )
            self._warned = True


_limiter: RateLimiter | None = None


def rate_limiter() -> RateLimiter:
    """The process's limiter for ``MAILER_BULK_RATE`` (rebuilt when the setting changes)."""
    global _limiter
    if _limiter is None or _limiter.rate != settings.MAILER_BULK_RATE:
        _limiter = RateLimiter(rate=settings.MAILER_BULK_RATE, redis_url=settings.REDIS_URL)
    return _limiter
