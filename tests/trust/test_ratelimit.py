"""Fixed-window rate limits: exact under concurrency, in Redis or in process, and failing open."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings as django_settings

from trust import ratelimit
from trust.ratelimit import ratelimit_hit, ratelimit_reset

# A moment well inside a minute and an hour, so no test straddles a window boundary.
T0 = 1_800_000_000.0 + 5


@pytest.fixture
def clock(monkeypatch):
    now = [T0]
    monkeypatch.setattr(ratelimit, "_now", lambda: now[0])
    return now


# The Redis store is tested against a real Redis even in the run on the embedded defaults:
# the configured one, or a database of its own on the local server that CI always runs.
TEST_REDIS_URL = django_settings.REDIS_URL or "redis://127.0.0.1:6379/13"


@pytest.fixture
def redis_store(settings):
    settings.REDIS_URL = TEST_REDIS_URL
    ratelimit_reset()
    yield
    ratelimit_reset()


@pytest.fixture(params=["redis", "in-process"])
def backend(request, settings):
    """Each test runs on Redis and on the in-process fallback."""
    settings.REDIS_URL = TEST_REDIS_URL if request.param == "redis" else ""
    ratelimit_reset()
    yield request.param
    ratelimit_reset()


def hits(count: int, *, key: str = "k", limit: int = 3, window: int = 60) -> list[bool]:
    return [ratelimit_hit(key=key, limit=limit, window_seconds=window) for _ in range(count)]


def test_the_first_hits_up_to_the_limit_pass_and_the_rest_do_not(backend, clock):
    assert hits(5) == [True, True, True, False, False]


def test_a_new_window_starts_from_zero(backend, clock):
    assert hits(4) == [True, True, True, False]
    clock[0] += 60
    assert hits(4) == [True, True, True, False]


def test_the_window_is_aligned_to_the_clock_not_to_the_first_hit(backend, clock):
    clock[0] = 1_800_000_000.0 + 59  # one second before the minute ends
    assert hits(3) == [True, True, True]
    clock[0] += 1
    assert hits(1) == [True]


def test_keys_and_window_lengths_are_counted_separately(backend, clock):
    assert hits(3, key="a") == [True] * 3
    assert hits(1, key="b") == [True]
    assert hits(1, key="a", window=3600) == [True]
    assert hits(1, key="a") == [False]


def test_reset_forgets_every_counter(backend, clock):
    hits(5)
    ratelimit_reset()
    assert hits(1) == [True]


def test_concurrent_hits_let_exactly_the_limit_through(backend, clock):
    barrier = threading.Barrier(20)

    def hit(_: int) -> bool:
        barrier.wait()
        return ratelimit_hit(key="burst", limit=25, window_seconds=60)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(hit, range(200)))
    assert results.count(True) == 25


def test_in_process_counters_of_finished_windows_are_pruned(settings, clock):
    settings.REDIS_URL = ""
    for n in range(10):
        ratelimit_hit(key=f"k{n}", limit=1, window_seconds=60)
    assert len(ratelimit._local_counts) == 10
    clock[0] += 3600
    ratelimit_hit(key="later", limit=1, window_seconds=60)
    assert list(ratelimit._local_counts) == [
        f"{ratelimit.KEY_PREFIX}later:60:{int(clock[0] // 60)}"
    ]


def test_redis_keys_expire_after_their_window(redis_store, clock):
    ratelimit_hit(key="ttl", limit=1, window_seconds=60)
    client = ratelimit._redis_client()
    [key] = list(client.scan_iter(match=f"{ratelimit.KEY_PREFIX}ttl:*"))
    window_end = (int(T0 // 60) + 1) * 60
    assert client.expiretime(key) == window_end + 1


def test_an_unreachable_redis_lets_hits_through_and_logs_once_without_the_key(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    with caplog.at_level(logging.WARNING, logger="trust.ratelimit"):
        assert hits(5, key="ip:secret-looking-key", limit=1) == [True] * 5
    assert caplog.text.count("rate limit store unavailable") == 1
    assert "secret-looking-key" not in caplog.text


def test_after_an_outage_redis_is_used_again(redis_store, clock, caplog):
    ratelimit._redis_down_until = time.monotonic() - 1  # an outage whose back-off is over
    with caplog.at_level(logging.INFO, logger="trust.ratelimit"):
        assert hits(3, limit=2) == [True, True, False]
    assert "reachable again" in caplog.text
    assert ratelimit._redis_down_until == 0.0
