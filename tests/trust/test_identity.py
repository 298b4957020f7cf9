"""Who a person is, for look-ups: email normalisation and keyed digests (trust.identity)."""

from __future__ import annotations

import hashlib

import pytest

from trust import identity

# --- Email normalisation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("Anna@Example.ORG", "anna@example.org"),
        ("  anna@example.org  ", "anna@example.org"),
        ("anna@example.org.", "anna@example.org"),
        ("Anna.Karenina@gmail.com", "annakarenina@gmail.com"),
        ("a.n.n.a+petitions@gmail.com", "anna@gmail.com"),
        ("Anna.K+one+two@GMAIL.COM", "annak@gmail.com"),
        ("anna.k@googlemail.com", "annak@gmail.com"),
        ("anna+news@googlemail.com", "anna@gmail.com"),
    ],
)
def test_gmail_addresses_ignore_case_dots_and_plus_tags(typed, normalised):
    assert identity.email_normalise(typed) == normalised


@pytest.mark.parametrize(
    "domain",
    [
        "outlook.com",
        "hotmail.com",
        "live.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "fastmail.com",
        "icloud.com",
        "me.com",
        "yandex.ru",
        "ya.ru",
        "yandex.com",
    ],
)
def test_plus_tags_are_dropped_on_providers_that_deliver_them_to_the_same_box(domain):
    assert identity.email_normalise(f"Anna.K+petition@{domain.upper()}") == f"anna.k@{domain}"


@pytest.mark.parametrize("domain", ["outlook.com", "yandex.ru", "example.org", "mail.ru"])
def test_dots_in_the_local_part_are_kept_outside_gmail(domain):
    assert identity.email_normalise(f"anna.karenina@{domain}") == f"anna.karenina@{domain}"


def test_plus_tags_are_kept_on_providers_not_known_to_alias_them():
    assert identity.email_normalise("anna+news@example.org") == "anna+news@example.org"


def test_an_international_domain_is_normalised_to_its_ascii_form():
    assert identity.email_normalise("Anna@Пример.РФ") == "anna@xn--e1afmkfd.xn--p1ai"
    assert identity.email_normalise("anna@xn--e1afmkfd.xn--p1ai") == "anna@xn--e1afmkfd.xn--p1ai"


def test_a_unicode_local_part_is_lower_cased_and_composed():
    # "é" typed as e + combining accent and as one character is the same mailbox.
    assert identity.email_normalise("Ame\u0301lie@example.org") == "am\u00e9lie@example.org"


def test_the_same_mailbox_typed_differently_has_one_digest():
    digests = {
        identity.email_digest(typed)
        for typed in ("Anna.K@gmail.com", "annak+x@googlemail.com", "ANNAK@GMAIL.COM ")
    }
    assert len(digests) == 1


def test_different_mailboxes_have_different_digests():
    assert identity.email_digest("anna.k@outlook.com") != identity.email_digest("annak@outlook.com")


# --- Keyed digest -------------------------------------------------------------------------


def test_the_digest_is_a_hex_sha256_that_never_contains_the_address():
    digest = identity.email_digest("anna@example.org")
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert "anna" not in digest


def test_the_digest_is_keyed_by_the_lookup_key(settings):
    settings.SBOR_LOOKUP_KEY = "first-lookup-key"
    first = identity.email_digest("anna@example.org")
    assert identity.email_digest("anna@example.org") == first
    settings.SBOR_LOOKUP_KEY = "second-lookup-key"
    assert identity.email_digest("anna@example.org") != first


def test_the_digest_is_not_a_plain_hash_of_the_address():
    digest = identity.email_digest("anna@example.org")
    assert digest != hashlib.sha256(b"anna@example.org").hexdigest()
