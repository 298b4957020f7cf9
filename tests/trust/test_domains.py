"""Registrable domains come from the Public Suffix List shipped with the package, offline."""

from __future__ import annotations

import socket

import pytest

from trust import domains, identity
from trust.domains import domain_registrable


@pytest.mark.parametrize(
    ("domain", "registrable"),
    [
        ("example.org", "example.org"),
        ("mail.example.org", "example.org"),
        ("a.b.c.example.org", "example.org"),
        ("a.example.co.uk", "example.co.uk"),
        ("b.example.co.uk", "example.co.uk"),
        ("Mail.Example.CO.UK.", "example.co.uk"),
        ("mail.yandex.ru", "yandex.ru"),
        # Wildcard and exception rules of the list: *.kawasaki.jp, !city.kawasaki.jp.
        ("a.b.c.kawasaki.jp", "b.c.kawasaki.jp"),
        ("www.city.kawasaki.jp", "city.kawasaki.jp"),
        # International domains arrive IDNA-encoded (as email_domain gives them).
        ("mail.xn--80ak6aa92e.xn--p1ai", "xn--80ak6aa92e.xn--p1ai"),
        # Only the ICANN section: a free-subdomain service is one registrant.
        ("someone.github.io", "github.io"),
        ("x.duckdns.org", "duckdns.org"),
        # An unknown top level counts as a public suffix.
        ("a.b.internal", "b.internal"),
    ],
)
def test_the_registrable_domain(domain, registrable):
    assert domain_registrable(domain=domain) == registrable


@pytest.mark.parametrize("domain", ["co.uk", "uk", "localhost", "a..b.example", "xn--p1ai"])
def test_a_domain_without_a_registrable_part_is_its_own(domain):
    assert domain_registrable(domain=domain) == domain


def test_an_empty_domain_stays_empty():
    assert domain_registrable(domain="") == ""
    assert domain_registrable(domain=" . ") == ""


def test_the_list_is_read_from_the_package_without_the_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the public suffix list must not be fetched")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    domains._suffix_list.cache_clear()
    try:
        assert domain_registrable(domain="a.example.co.uk") == "example.co.uk"
    finally:
        domains._suffix_list.cache_clear()


def test_an_international_address_in_either_spelling_has_one_registrable_hash():
    unicode_form = identity.email_registrable_digest("anna@почта.рф")
    assert identity.email_registrable_digest("boris@mail.xn--80a1acny.xn--p1ai") == unicode_form
    assert unicode_form == identity.email_domain_digest("почта.рф")
