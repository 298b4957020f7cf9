"""A Redis cache that degrades to "nothing cached" while Redis is down, instead of failing.

Sbor caches only what it can rebuild (recent signers, the site switches, the block rules,
the automatic-challenge flag), so an unreachable cache must cost a database read, never
an error page. ``ResilientRedisCache`` is Django's ``RedisCache`` with every operation
fenced:

* Reads answer as on a miss (``get`` gives the default, ``get_many`` nothing); writes and
  deletes are dropped.
* ``add`` answers True, as if the value had been stored: Sbor uses it for once-only markers
  (a spent proof-of-work challenge), and like the rate limits (``trust.ratelimit``) these
  fail open, so an outage of the cache never stops signing. Replays are possible for the
  length of the outage, as going over a rate limit is.
* After a failure Redis is left alone for ``BACKOFF_SECONDS``: a Redis that times out would
  otherwise add its timeout to every cache call of every request for the whole outage. One
  warning is logged per back-off period, with the error's class only (keys stay out of logs).

Short socket timeouts (``OPTIONS`` in ``settings.CACHES``) bound a Redis that accepts
connections but does not answer.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = 5.0

_state_lock = threading.Lock()
# Per Redis location: until when (time.monotonic()) it is left alone. Django makes one
# cache object per thread, so the state lives here, shared by every thread of the process.
_down_until: dict[str, float] = {}

_T = TypeVar("_T")


def cache_outages_forget() -> None:
    """Try Redis again on the next call, whatever failed before. For tests."""
    with _state_lock:
        _down_until.clear()


def _fenced(fallback: Callable[..., Any]) -> Callable[[Callable[..., _T]], Callable[..., _T]]:
    """Run the cache operation; on a Redis error (or during the back-off) answer ``fallback``."""

    def decorator(method: Callable[..., _T]) -> Callable[..., _T]:
        @functools.wraps(method)
        def wrapper(self: ResilientRedisCache, *args: Any, **kwargs: Any) -> _T:
            if self._in_backoff():
                return fallback(*args, **kwargs)
            try:
                result = method(self, *args, **kwargs)
            except redis.RedisError as exc:
                self._failed(exc)
                return fallback(*args, **kwargs)
            self._succeeded()
            return result

        return wrapper

    return decorator


def _incr_missing(key: str, delta: int = 1, version: int | None = None) -> int:
    # What Django's incr does for a key that is not there.
    raise ValueError(f"Key {key!r} not found.")


class ResilientRedisCache(RedisCache):
    """Django's Redis cache, answering as an empty cache while Redis cannot be reached."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._location_key = server

    def _in_backoff(self) -> bool:
        until = _down_until.get(self._location_key)
        return until is not None and time.monotonic() < until

    def _failed(self, exc: redis.RedisError) -> None:
        now = time.monotonic()
        with _state_lock:
            # Threads that failed together start one back-off period, and log it once.
            already = _down_until.get(self._location_key, 0.0) > now
            if not already:
                _down_until[self._location_key] = now + BACKOFF_SECONDS
        if already:
            return
        logger.warning(
            "cache unavailable, serving without it for %.0fs: %s",
            BACKOFF_SECONDS,
            type(exc).__name__,
        )

    def _succeeded(self) -> None:
        if self._location_key not in _down_until:
            return
        with _state_lock:
            recovered = _down_until.pop(self._location_key, None) is not None
        if recovered:
            logger.info("cache reachable again")

    @_fenced(lambda *args, **kwargs: True)
    def add(self, *args: Any, **kwargs: Any) -> bool:
        return super().add(*args, **kwargs)

    @_fenced(lambda key, default=None, version=None: default)
    def get(self, *args: Any, **kwargs: Any) -> Any:
        return super().get(*args, **kwargs)

    @_fenced(lambda *args, **kwargs: None)
    def set(self, *args: Any, **kwargs: Any) -> None:
        super().set(*args, **kwargs)

    @_fenced(lambda *args, **kwargs: False)
    def touch(self, *args: Any, **kwargs: Any) -> bool:
        return super().touch(*args, **kwargs)

    @_fenced(lambda *args, **kwargs: False)
    def delete(self, *args: Any, **kwargs: Any) -> bool:
        return super().delete(*args, **kwargs)

    @_fenced(lambda *args, **kwargs: {})
    def get_many(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return super().get_many(*args, **kwargs)

    @_fenced(lambda *args, **kwargs: False)
    def has_key(self, *args: Any, **kwargs: Any) -> bool:
        return super().has_key(*args, **kwargs)

    @_fenced(_incr_missing)
    def incr(self, *args: Any, **kwargs: Any) -> int:
        return super().incr(*args, **kwargs)

    @_fenced(lambda data, *args, **kwargs: list(data))
    def set_many(self, *args: Any, **kwargs: Any) -> list[str]:
        return super().set_many(*args, **kwargs)

    @_fenced(lambda *args, **kwargs: None)
    def delete_many(self, *args: Any, **kwargs: Any) -> None:
        super().delete_many(*args, **kwargs)

    @_fenced(lambda *args, **kwargs: None)
    def clear(self) -> None:
        super().clear()
