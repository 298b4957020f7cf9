"""Limits that can't be stepped around.

IPv6 clients are counted per /64 (burst) and per /48 (sustained), email domains per
registrable domain, a request without a usable client address in one shared bucket, and
no counter's name holds an address or a domain. These run on whatever store is configured:
Redis on the PostgreSQL + Redis run, process memory on the embedded defaults.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache

from petitions.models import Petition
from tests.factories import block_rule_create, petition_create
from trust import ratelimit
from trust.blocklist import blocklist_match
from trust.models import BlockRule
from trust.network import UNKNOWN_CLIENT
from trust.ratelimit import ratelimit_store_key
from trust.services import client_ratelimit_hit, sign_attempt_assess

pytestmark = pytest.mark.django_db

# A moment well inside a minute and an hour: no test straddles a window boundary.
NOW = 1_800_000_000.0 + 5


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "_now", lambda: NOW)


@pytest.fixture(autouse=True)
def generous_limits(settings: Any) -> None:
    """Each test tightens the one limit it is about."""
    settings.RATE_IP_BURST_PER_MINUTE = 1000
    settings.RATE_IP_SUSTAINED_PER_HOUR = 1000
    settings.RATE_DOMAIN_PER_HOUR = 1000
    settings.RATE_DOMAIN_EXEMPT = []
    settings.CHALLENGE_AUTO_PER_MINUTE = 100_000


def counter(key: str, *, window_seconds: int) -> int:
    """How many hits the configured store holds for ``key`` in the current window."""
    name = ratelimit_store_key(
        key=key, window_seconds=window_seconds, window=int(NOW // window_seconds)
    )
    client = ratelimit._redis_client()
    if client is None:
        return ratelimit._local_counts.get(name, (0, 0.0))[0]
    return int(client.get(name) or 0)


def verdict(ip: str | None, email: str = "anna@example.org") -> str:
    """The detail of the verdict on one attempt: "" for a clean one."""
    return sign_attempt_assess(petition_id=1, ip=ip, email=email)[1]


# --- IPv6 per /64 and /48, IPv4 per address -----------------------------------------------


def test_ipv6_addresses_differing_only_in_their_last_64_bits_share_the_burst_limit(settings):
    settings.RATE_IP_BURST_PER_MINUTE = 3
    same_64 = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"]
    assert [verdict(ip) for ip in same_64] == ["", "", ""]
    assert verdict("2001:db8:1:2:1234:5678:9abc:def0") == "ip_burst"
    # Another /64 of the same /48 has a burst budget of its own.
    assert verdict("2001:db8:1:3::1") == ""


def test_different_slash_64s_inside_one_slash_48_share_the_sustained_limit(settings):
    settings.RATE_IP_SUSTAINED_PER_HOUR = 3
    assert [verdict(f"2001:db8:1:{n:x}::1") for n in (1, 2, 0xFFFF)] == ["", "", ""]
    assert verdict("2001:db8:1:abcd::1") == "ip_sustained"
    # Another /48 is another site.
    assert verdict("2001:db8:2:1::1") == ""


def test_ipv4_is_limited_per_address_for_both_limits(settings):
    settings.RATE_IP_BURST_PER_MINUTE = 2
    assert [verdict("198.51.100.7") for _ in range(3)] == ["", "", "ip_burst"]
    assert verdict("198.51.100.8") == ""
    settings.RATE_IP_BURST_PER_MINUTE = 1000
    settings.RATE_IP_SUSTAINED_PER_HOUR = 3
    assert verdict("198.51.100.7") == "ip_sustained"  # its fourth attempt this hour
    assert verdict("198.51.100.8") == ""  # its second


def test_an_ipv4_mapped_ipv6_address_counts_as_the_ipv4_address(settings):
    settings.RATE_IP_BURST_PER_MINUTE = 2
    assert verdict("198.51.100.7") == ""
    assert verdict("::ffff:198.51.100.7") == ""
    assert verdict("::ffff:c633:6407") == "ip_burst"  # the same address, written in hex


# --- Email domains per registrable domain ---------------------------------------------------


def test_subdomains_of_one_registrable_domain_share_the_domain_limit(settings):
    settings.RATE_DOMAIN_PER_HOUR = 2
    emails = ["a@a.example.co.uk", "b@b.example.co.uk", "c@Mail.Example.CO.UK"]
    assert [verdict(f"198.51.100.{n}", email) for n, email in enumerate(emails)] == [
        "",
        "",
        "domain_rate",
    ]
    # The public suffix is not a bucket: another registrant under co.uk is counted apart.
    assert verdict("198.51.100.50", "d@other.co.uk") == ""


def test_an_international_domain_shares_its_limit_in_either_spelling(settings):
    settings.RATE_DOMAIN_PER_HOUR = 2
    assert verdict("198.51.100.1", "a@почта.рф") == ""
    assert verdict("198.51.100.2", "b@mail.xn--80a1acny.xn--p1ai") == ""
    assert verdict("198.51.100.3", "c@Почта.РФ") == "domain_rate"


def test_the_exemption_list_works_on_registrable_domains(settings):
    settings.RATE_DOMAIN_PER_HOUR = 1
    settings.RATE_DOMAIN_EXEMPT = ["yandex.ru"]
    emails = [f"p{n}@{host}" for n, host in enumerate(["yandex.ru", "mail.yandex.ru"] * 2)]
    assert [verdict(f"198.51.100.{n}", e) for n, e in enumerate(emails)] == [""] * 4
    # A name that merely contains the provider is someone else's registrable domain.
    assert verdict("198.51.100.60", "x@yandex.ru.evil.example") == ""
    assert verdict("198.51.100.61", "y@mx.yandex.ru.evil.example") == "domain_rate"


def test_a_domain_block_rule_keeps_matching_subdomains_below_a_public_suffix():
    block_rule_create(kind=BlockRule.Kind.DOMAIN, value="example.co.uk")
    block_rule_create(kind=BlockRule.Kind.DOMAIN, value="a.example.org")
    assert blocklist_match(ip="", email="x@deep.a.example.co.uk") == "domain"
    assert blocklist_match(ip="", email="x@example.co.uk") == "domain"
    assert blocklist_match(ip="", email="x@a.example.org") == "domain"
    # A rule for a subdomain does not widen to its registrable domain or siblings.
    assert blocklist_match(ip="", email="x@b.example.org") == ""
    assert blocklist_match(ip="", email="x@example.org") == ""


# --- No usable client address: one shared bucket, never a bypass ---------------------------


def test_unusable_client_addresses_share_one_bucket_and_each_is_logged(settings, caplog):
    settings.RATE_IP_BURST_PER_MINUTE = 3
    with caplog.at_level(logging.WARNING, logger="trust.network"):
        details = [verdict(ip) for ip in (UNKNOWN_CLIENT, "garbage", "999.1.1.1", "<x>")]
    assert details == ["", "", "", "ip_burst"]
    assert caplog.text.count("shared 'unknown' rate-limit bucket") == 4
    assert "garbage" not in caplog.text and "999.1.1.1" not in caplog.text
    # A client with an address is not caught in that bucket.
    assert verdict("198.51.100.7") == ""


def test_a_call_with_no_request_behind_it_skips_only_the_ip_limits(settings):
    settings.RATE_IP_BURST_PER_MINUTE = 1
    settings.RATE_DOMAIN_PER_HOUR = 2
    assert [verdict(None, "a@small.example"), verdict("", "b@small.example")] == ["", ""]
    assert verdict(None, "c@small.example") == "domain_rate"
    assert counter("sign:ip:unknown", window_seconds=60) == 0


def test_the_generic_client_limit_fails_closed_and_counts_ipv6_per_network(settings):
    def hit(ip: str, *, wide: bool = False) -> bool:
        return client_ratelimit_hit(ip=ip, scope="t", limit=2, window_seconds=60, wide=wide)

    assert [hit(""), hit("garbage"), hit(UNKNOWN_CLIENT)] == [True, True, False]
    assert [hit("2001:db8:1:2::1"), hit("2001:db8:1:2::2"), hit("2001:db8:1:2::3")] == [
        True,
        True,
        False,
    ]
    assert hit("2001:db8:1:3::1")  # another /64
    assert [hit("2001:db8:9:1::1", wide=True), hit("2001:db8:9:2::1", wide=True)] == [True, True]
    assert not hit("2001:db8:9:3::1", wide=True)  # the same /48


# --- Every caller goes through it: the sign form, the sign API, typed codes ------------------


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the prisoners of conscience")


def sign_form(client, petition: Petition, n: int, **extra: Any):
    data = {"name": f"Signer {n}", "email": f"signer{n}@example.org", "display": "hidden"}
    return client.post(f"/p/{petition.slug}/sign/", data, **extra)


def sign_api(client, petition: Petition, n: int, **extra: Any):
    body = {"name": f"Signer {n}", "email": f"signer{n}@example.org"}
    url = f"/api/v1/petitions/{petition.slug}/signatures/"
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


@pytest.mark.parametrize("sign", [sign_form, sign_api], ids=["form", "api"])
def test_signing_without_a_usable_address_counts_in_the_shared_bucket(
    client, petition, settings, caplog, sign
):
    settings.TRUSTED_PROXY_COUNT = 1
    garbage = "203.0.113.9, not-an-address-<script>"
    with caplog.at_level(logging.WARNING, logger="trust.network"):
        answers = [
            sign(client, petition, 1, REMOTE_ADDR="unknown"),
            sign(client, petition, 2, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=garbage),
            sign(client, petition, 3, REMOTE_ADDR="", HTTP_X_FORWARDED_FOR=""),
        ]
    # Accepted as any signature is: the limit decides quietly, as for any client.
    assert {answer.status_code for answer in answers} <= {302, 202}
    assert counter("sign:ip:unknown", window_seconds=60) == 3
    assert counter("sign:ip:unknown", window_seconds=3600) == 3
    assert "not-an-address" not in caplog.text
    assert "shared 'unknown' rate-limit bucket" in caplog.text
    # Neither the proxy's own address nor the forged left entry was counted instead.
    assert counter("sign:ip4:10.0.0.2", window_seconds=60) == 0
    assert counter("sign:ip4:203.0.113.9", window_seconds=60) == 0


def test_signing_from_ipv6_counts_the_slash_64_and_the_slash_48(client, petition):
    sign_form(client, petition, 1, REMOTE_ADDR="2001:db8:1:2::1")
    sign_api(client, petition, 2, REMOTE_ADDR="2001:db8:1:2::2")
    sign_form(client, petition, 3, REMOTE_ADDR="2001:db8:1:3::1")
    assert counter("sign:ip6:2001:db8:1:2::/64", window_seconds=60) == 2
    assert counter("sign:ip6:2001:db8:1:3::/64", window_seconds=60) == 1
    assert counter("sign:ip6:2001:db8:1::/48", window_seconds=3600) == 3


def confirm_code(client, petition: Petition, **extra: Any):
    return client.post(f"/p/{petition.slug}/confirm/", {"code": "ABCD-EFGH"}, **extra)


def test_typed_codes_without_a_usable_address_share_one_limit(client, petition, settings):
    settings.RATE_CONFIRM_CODE_PER_HOUR = 2
    assert confirm_code(client, petition, REMOTE_ADDR="").status_code == 400
    assert confirm_code(client, petition, REMOTE_ADDR="unknown").status_code == 400
    assert confirm_code(client, petition, REMOTE_ADDR="garbage").status_code == 429
    assert confirm_code(client, petition, REMOTE_ADDR="198.51.100.7").status_code == 400


def test_typed_codes_from_the_slash_64s_of_one_slash_48_share_a_wider_limit(
    client, petition, settings
):
    settings.RATE_CONFIRM_CODE_PER_HOUR = 2
    settings.RATE_CONFIRM_CODE_NETWORK_PER_HOUR = 5
    # Twenty /64s of one /48, one guess each: only the first five are looked at.
    answers = [
        confirm_code(client, petition, REMOTE_ADDR=f"2001:db8:7:{n:x}::1").status_code
        for n in range(20)
    ]
    assert answers == [400] * 5 + [429] * 15
    # Another /48 has a budget of its own, and IPv4 clients are not caught in it.
    assert confirm_code(client, petition, REMOTE_ADDR="2001:db8:8:1::1").status_code == 400
    assert confirm_code(client, petition, REMOTE_ADDR="198.51.100.7").status_code == 400


def test_the_wider_code_limit_is_four_times_the_narrow_one_by_default():
    assert (
        django_settings.RATE_CONFIRM_CODE_NETWORK_PER_HOUR
        == 4 * django_settings.RATE_CONFIRM_CODE_PER_HOUR
    )


def test_typed_codes_from_one_ipv6_slash_64_share_one_limit(client, petition, settings):
    settings.RATE_CONFIRM_CODE_PER_HOUR = 2
    assert confirm_code(client, petition, REMOTE_ADDR="2001:db8:1:2::1").status_code == 400
    assert confirm_code(client, petition, REMOTE_ADDR="2001:db8:1:2::2").status_code == 400
    assert confirm_code(client, petition, REMOTE_ADDR="2001:db8:1:2::3").status_code == 429
    assert confirm_code(client, petition, REMOTE_ADDR="2001:db8:1:3::1").status_code == 400


# --- No key names an address or a domain ----------------------------------------------------


def all_stored_keys() -> list[str]:
    """Every rate-limit counter's name and, with Redis, every key in its database (the
    cache and the broker share it)."""
    client = ratelimit._redis_client()
    if client is None:
        return list(ratelimit._local_counts) + [str(k) for k in getattr(cache, "_cache", {})]
    return [key.decode(errors="replace") for key in client.scan_iter(match="*", count=1000)]


def test_no_stored_key_holds_a_client_address_or_an_email_domain(client, petition, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    sign_form(client, petition, 1, REMOTE_ADDR="198.51.100.77")
    sign_api(client, petition, 2, REMOTE_ADDR="2001:db8:abcd:12::7")
    data = {"name": "Anna", "email": "anna@mail.limits-test.example.co.uk", "display": "hidden"}
    client.post(
        f"/p/{petition.slug}/sign/",
        data,
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.66",
    )
    confirm_code(client, petition, REMOTE_ADDR="192.0.2.55")
    keys = all_stored_keys()
    # Two per client (minute, hour), one per domain, one for the petition, two for the code
    # (per client, per network).
    assert sum(key.startswith(ratelimit.KEY_PREFIX) for key in keys) == 11
    text = "\n".join(keys)
    for secret in (
        "198.51.100.77",
        "2001:db8",
        "abcd:12",
        "203.0.113.66",
        "192.0.2.55",
        "limits-test",
        "example.co.uk",
        "anna",
        "signer",
    ):
        assert secret not in text
