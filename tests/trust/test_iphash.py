"""IP addresses are kept only as keyed hashes under rotating salts, and dropped in time."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from trust import iphash
from trust.iphash import (
    ip_hash_candidates,
    ip_hash_key_cache_clear,
    ip_hash_keys_drop,
    ip_hashes,
    ip_network_hash_candidates,
)
from trust.models import IpHashKey

pytestmark = pytest.mark.django_db


def age_every_key(days: float) -> None:
    IpHashKey.objects.update(created_at=timezone.now() - timedelta(days=days))
    ip_hash_key_cache_clear()


def test_the_first_hash_creates_a_key_and_later_ones_reuse_it():
    first = ip_hashes(ip="198.51.100.7")
    second = ip_hashes(ip="198.51.100.7")
    assert first == second
    assert IpHashKey.objects.count() == 1
    ip_hash, network_hash = first
    assert len(ip_hash) == len(network_hash) == 64
    assert "198.51.100.7" not in ip_hash + network_hash


def test_addresses_in_one_network_share_the_network_hash_only():
    a_hash, a_net = ip_hashes(ip="198.51.100.7")
    b_hash, b_net = ip_hashes(ip="198.51.100.250")
    c_hash, c_net = ip_hashes(ip="198.51.101.7")
    assert a_net == b_net != c_net
    assert len({a_hash, b_hash, c_hash}) == 3


def test_ipv6_networks_are_slash_48():
    _, a_net = ip_hashes(ip="2001:db8:1:aaaa::1")
    _, b_net = ip_hashes(ip="2001:db8:1:bbbb::2")
    _, c_net = ip_hashes(ip="2001:db8:2::1")
    assert a_net == b_net != c_net


def test_an_ipv4_mapped_address_hashes_like_the_ipv4_address():
    assert ip_hashes(ip="::ffff:198.51.100.7") == ip_hashes(ip="198.51.100.7")


def test_no_address_gives_no_hash_and_no_key():
    assert ip_hashes(ip="") == ("", "")
    assert ip_hashes(ip="not an address") == ("", "")
    assert ip_hash_candidates(ip="") == []
    assert not IpHashKey.objects.exists()


def test_the_same_address_hashes_differently_once_the_key_rotates(settings):
    settings.IP_HASH_ROTATE_DAYS = 7
    before = ip_hashes(ip="198.51.100.7")
    age_every_key(days=8)
    after = ip_hashes(ip="198.51.100.7")
    assert IpHashKey.objects.count() == 2
    assert before[0] != after[0] and before[1] != after[1]


def test_a_process_notices_a_rotation_due_even_with_the_key_cached(settings):
    settings.IP_HASH_ROTATE_DAYS = 7
    ip_hashes(ip="198.51.100.7")
    # Another process would see the same rows; here the cache still holds the old key.
    IpHashKey.objects.update(created_at=timezone.now() - timedelta(days=8))
    cached = iphash._cached_key
    assert cached is not None
    iphash._cached_key = (cached[0], cached[1], cached[2], cached[3] - 8 * 86400)
    ip_hashes(ip="198.51.100.7")
    assert IpHashKey.objects.count() == 2


def test_two_keys_of_one_period_are_tolerated_and_every_process_uses_the_first():
    # Two processes rotated at the same moment; both settle on the same key, so their
    # hashes (and rate-limit counters) agree.
    first = IpHashKey.objects.create(salt="a" * 64)
    IpHashKey.objects.create(salt="b" * 64)
    expected = iphash._hashes_under(salt=first.salt, ip="198.51.100.7")
    assert ip_hashes(ip="198.51.100.7") == expected
    assert expected[0] in ip_hash_candidates(ip="198.51.100.7")


def test_a_process_that_made_the_key_looks_again_within_a_second():
    # A racing process's key may commit just after ours with a lower id: whoever made a
    # key checks again soon, so that both settle on the same one.
    def cached_for() -> float:
        cached = iphash._cached_key
        assert cached is not None
        return cached[0] - time.monotonic()

    ip_hashes(ip="198.51.100.7")
    assert cached_for() <= 1.0
    ip_hash_key_cache_clear()
    ip_hashes(ip="198.51.100.7")  # the key exists now: read, not made
    assert cached_for() > 30


def test_candidates_find_hashes_made_under_every_kept_key(settings):
    settings.IP_HASH_ROTATE_DAYS = 7
    old_hash, old_net = ip_hashes(ip="198.51.100.7")
    age_every_key(days=8)
    new_hash, new_net = ip_hashes(ip="198.51.100.7")
    assert set(ip_hash_candidates(ip="198.51.100.7")) == {old_hash, new_hash}
    assert set(ip_network_hash_candidates(ip="198.51.100.99")) == {old_net, new_net}
    assert old_hash not in ip_hash_candidates(ip="198.51.100.8")


def test_dropping_keys_deletes_only_those_no_kept_hash_needs(settings):
    settings.IP_HASH_ROTATE_DAYS = 7
    now = timezone.now()
    # Hashes made before 30 days ago are gone. A key from 35 days ago hashed until 28 days
    # ago, so hashes it made are still kept; one from 38 days ago hashed nothing kept.
    ancient = IpHashKey.objects.create(salt="a" * 64, created_at=now - timedelta(days=38))
    older = IpHashKey.objects.create(salt="o" * 64, created_at=now - timedelta(days=35))

    assert ip_hash_keys_drop(hashes_emptied_before=now - timedelta(days=30)) == 1

    assert not IpHashKey.objects.filter(pk=ancient.pk).exists()
    assert IpHashKey.objects.filter(pk=older.pk).exists()
    # Safe to run again: nothing left to do.
    assert ip_hash_keys_drop(hashes_emptied_before=now - timedelta(days=30)) == 0


def test_after_its_key_is_dropped_an_old_hash_cannot_be_found_again(settings):
    settings.IP_HASH_ROTATE_DAYS = 7
    old_hash, _ = ip_hashes(ip="198.51.100.7")
    age_every_key(days=38)
    ip_hash_keys_drop(hashes_emptied_before=timezone.now() - timedelta(days=30))
    assert old_hash not in ip_hash_candidates(ip="198.51.100.7")
    # Hashing goes on under a fresh key.
    assert ip_hashes(ip="198.51.100.7")[0] not in ("", old_hash)
