"""Fixed-window rate limits: exact under concurrency, in Redis or in process, failing open
when Redis is down, and stored under names that cannot be traced back after the salt is gone."""

from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from trust import iphash, ratelimit
from trust.iphash import ip_hash_key_cache_clear
from trust.models import IpHashKey
from trust.ratelimit import ratelimit_hit, ratelimit_reset, ratelimit_store_key

# Counters are named by an HMAC under the IP-hash salt, which lives in the database.
pytestmark = pytest.mark.django_db

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
    iphash._key_current()  # the salt cached here: the threads have no test database of their own
    barrier = threading.Barrier(20, timeout=30)

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
        ratelimit_store_key(key="later", window_seconds=60, window=int(clock[0] // 60))
    ]


def test_redis_keys_expire_after_their_window(redis_store, clock):
    ratelimit_hit(key="ttl", limit=1, window_seconds=60)
    client = ratelimit._redis_client()
    key = ratelimit_store_key(key="ttl", window_seconds=60, window=int(T0 // 60))
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


def test_a_window_longer_than_a_day_is_refused(backend):
    # A counter must expire before the salt that names it can be deleted.
    with pytest.raises(ValueError, match="window"):
        ratelimit_hit(key="k", limit=1, window_seconds=86_401)
    with pytest.raises(ValueError, match="window"):
        ratelimit_hit(key="k", limit=1, window_seconds=0)
    assert ratelimit_hit(key="k", limit=1, window_seconds=86_400)


def stored_keys(backend: str) -> list[str]:
    if backend == "in-process":
        return list(ratelimit._local_counts)
    client = ratelimit._redis_client()
    return [k.decode() for k in client.scan_iter(match=f"{ratelimit.KEY_PREFIX}*")]


def test_stored_counter_names_hold_no_part_of_the_key(backend, clock):
    keys = ["sign:ip4:198.51.100.7", "sign:ip6:2001:db8:1:2::/64", "sign:domain:example.co.uk"]
    for key in keys:
        hits(1, key=key)
    window = int(clock[0] // 60)
    names = {ratelimit_store_key(key=key, window_seconds=60, window=window) for key in keys}
    assert names <= set(stored_keys(backend))
    for name in names:
        assert re.fullmatch(rf"{ratelimit.KEY_PREFIX}[0-9a-f]{{32}}:60:\d+", name), name
    stored = " ".join(stored_keys(backend))
    assert "198.51.100" not in stored and "2001:db8" not in stored and "example" not in stored


def test_the_name_of_a_counter_changes_when_the_salt_rotates_and_counting_starts_again(
    backend, clock, settings
):
    settings.IP_HASH_ROTATE_DAYS = 7
    key, window = "sign:ip4:198.51.100.7", int(clock[0] // 60)
    assert hits(4, key=key) == [True, True, True, False]
    before = ratelimit_store_key(key=key, window_seconds=60, window=window)
    assert before in stored_keys(backend)
    # The period is over: the next hit makes a new salt, as signing would.
    IpHashKey.objects.update(created_at=timezone.now() - timedelta(days=8))
    ip_hash_key_cache_clear()
    assert hits(1, key=key) == [True]
    after = ratelimit_store_key(key=key, window_seconds=60, window=window)
    assert after != before
    assert after in stored_keys(backend)
    # Once the old salt is deleted (end of the fraud window), no salt still kept gives
    # the old counter's name for this key: it cannot be traced back to the address.
    IpHashKey.objects.order_by("pk").first().delete()
    message = f"ratelimit:{key}"
    kept = [iphash._digest(salt=k.salt, message=message)[:32] for k in IpHashKey.objects.all()]
    assert kept and not any(digest in before for digest in kept)
