"""The client IP comes from REMOTE_ADDR or a trusted proxy's entry, never from the client."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from trust.network import client_ip, ip_normalise


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


@pytest.mark.parametrize("entry", ["unknown", "not-an-ip", "", "999.1.1.1", "<script>"])
def test_an_entry_that_is_not_an_address_falls_back_to_remote_addr(settings, entry):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request_from("192.0.2.10", f"203.0.113.9, {entry}")) == "192.0.2.10"


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


def test_no_valid_address_anywhere_gives_an_empty_string(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request_from("", "garbage")) == ""


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
