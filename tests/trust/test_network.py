"""The client IP comes from REMOTE_ADDR or a trusted proxy's entry, never from the client;
without a usable one it is the unknown client, which the limits never let through unlimited."""

from __future__ import annotations

import logging

import pytest
from django.test import RequestFactory

from trust.network import UNKNOWN_CLIENT, client_ip, ip_limit_units, ip_normalise


def request_from(remote_addr: str, forwarded_for: str | None = None):
    headers = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().post("/p/x/sign/", **headers)


def test_without_trusted_proxies_the_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = request_from("198.51.100.7", "203.0.113.99")
    assert client_ip(request) == "198.51.100.7"


def test_with_one_proxy_the_rightmost_entry_is_used_and_a_forged_left_one_never(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client sent "203.0.113.99" itself; our proxy appended what it saw.
    request = request_from("10.0.0.2", "203.0.113.99, 198.51.100.7")
    assert client_ip(request) == "198.51.100.7"


def test_with_two_proxies_the_outer_proxys_entry_is_used(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    request = request_from("10.0.0.3", "203.0.113.99, 198.51.100.7, 10.0.0.2")
    assert client_ip(request) == "198.51.100.7"


def test_a_forged_header_cannot_choose_the_address_however_many_entries_it_has(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    forged = ", ".join(f"203.0.113.{n}" for n in range(50))
    request = request_from("10.0.0.2", f"{forged}, 198.51.100.7")
    assert client_ip(request) == "198.51.100.7"


@pytest.mark.parametrize(
    "header",
    [
        None,  # the request did not come through the proxy at all
        "",
        "198.51.100.7",  # fewer entries than trusted proxies
    ],
)
def test_too_few_entries_fall_back_to_remote_addr(settings, header):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request_from("192.0.2.10", header)) == "192.0.2.10"


@pytest.mark.parametrize("header", [None, "", "  "])
def test_with_one_proxy_a_request_without_the_header_is_counted_by_remote_addr(settings, header):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request_from("192.0.2.10", header)) == "192.0.2.10"


@pytest.mark.parametrize("entry", ["unknown", "not-an-ip", "", "999.1.1.1", "<script>"])
def test_a_trusted_entry_that_is_not_an_address_is_the_unknown_client(settings, entry):
    # Not REMOTE_ADDR (our proxy's own address) and never an entry further left.
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request_from("192.0.2.10", f"203.0.113.9, {entry}")) == UNKNOWN_CLIENT


def test_ipv6_is_compressed_and_lower_cased(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_from("2001:DB8:0:0:0:0:0:1")) == "2001:db8::1"


def test_an_ipv4_mapped_ipv6_address_counts_as_the_ipv4_address(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_from("::ffff:198.51.100.7")) == "198.51.100.7"


def test_ipv6_from_a_proxy_is_used_with_or_without_brackets_and_port(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request_from("10.0.0.2", "[2001:db8::7]:4711")) == "2001:db8::7"
    assert client_ip(request_from("10.0.0.2", "2001:db8::7")) == "2001:db8::7"
    assert client_ip(request_from("10.0.0.2", "198.51.100.7:4711")) == "198.51.100.7"


def test_no_valid_address_anywhere_gives_the_unknown_client_never_an_empty_string(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request_from("", "garbage")) == UNKNOWN_CLIENT


@pytest.mark.parametrize("remote_addr", ["", "unknown", "garbage", "999.1.1.1"])
def test_without_proxies_an_unusable_remote_addr_is_the_unknown_client(settings, remote_addr):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_from(remote_addr, "198.51.100.7")) == UNKNOWN_CLIENT


# --- The units rate limits count in --------------------------------------------------------


def test_an_ipv4_address_is_its_own_unit_for_both_limits():
    assert ip_limit_units("198.51.100.7") == ("ip4:198.51.100.7", "ip4:198.51.100.7")
    assert ip_limit_units("198.51.100.8") != ip_limit_units("198.51.100.7")


def test_an_ipv4_mapped_ipv6_address_counts_as_ipv4():
    assert ip_limit_units("::ffff:198.51.100.7") == ip_limit_units("198.51.100.7")


def test_ipv6_addresses_count_per_slash_64_for_the_burst_and_per_slash_48_sustained():
    a = ip_limit_units("2001:db8:1:2:aaaa:bbbb:cccc:dddd")
    same_64 = ip_limit_units("2001:db8:1:2::1")
    other_64_same_48 = ip_limit_units("2001:db8:1:ffff::1")
    other_48 = ip_limit_units("2001:db8:2:2::1")
    assert a == same_64 == ("ip6:2001:db8:1:2::/64", "ip6:2001:db8:1::/48")
    assert other_64_same_48[0] != a[0] and other_64_same_48[1] == a[1]
    assert other_48[0] != a[0] and other_48[1] != a[1]


@pytest.mark.parametrize("value", ["", UNKNOWN_CLIENT, "garbage<script>", "999.1.1.1"])
def test_no_usable_address_fails_closed_into_one_unit_with_a_warning_naming_no_value(value, caplog):
    with caplog.at_level(logging.WARNING, logger="trust.network"):
        units = ip_limit_units(value)
    assert units == ("ip:unknown", "ip:unknown")
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "shared 'unknown' rate-limit bucket" in record.getMessage()
    if value not in ("", UNKNOWN_CLIENT):
        assert value not in caplog.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (" 192.0.2.1 ", "192.0.2.1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::FFFF:192.0.2.1", "192.0.2.1"),
        ("192.0.2", ""),
        ("1.2.3.4.5", ""),
        ("", ""),
    ],
)
def test_ip_normalise(value, expected):
    assert ip_normalise(value) == expected
