"""Who a signer is: email normalisation, keyed digests, confirmation codes and tokens."""

from __future__ import annotations

import hashlib
import time
import uuid

import pytest
from django.core import signing

from petitions import identity

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


# --- Confirmation codes -------------------------------------------------------------------


def test_a_confirmation_code_is_eight_easy_to_read_characters():
    code = identity.confirm_code_new()
    assert len(code) == 8
    assert set(code) <= set("ABCDEFGHJKMNPQRSTVWXYZ23456789")


def test_confirmation_codes_are_random_and_owe_nothing_to_the_secret_key(settings):
    codes = {identity.confirm_code_new() for _ in range(200)}
    assert len(codes) == 200
    code = identity.confirm_code_new()
    digest = identity.confirm_code_digest(code)
    settings.SECRET_KEY = "another-secret-key-that-is-long-enough-for-django"
    # The stored digest still finds the code after a SECRET_KEY rotation.
    assert identity.confirm_code_digest(code) == digest


def test_the_code_digest_is_keyed_not_a_plain_hash(settings):
    code = identity.confirm_code_new()
    digest = identity.confirm_code_digest(code)
    # A copy of the database alone cannot be searched for the 39-bit codes.
    assert digest != hashlib.sha256(code.encode()).hexdigest()
    settings.SBOR_LOOKUP_KEY = "another-lookup-key-long-enough-for-hmac"
    assert identity.confirm_code_digest(code) != digest


def test_a_confirmation_code_is_shown_in_two_groups_of_four():
    assert identity.confirm_code_display("ABCDEF23") == "ABCD-EF23"


@pytest.mark.parametrize(
    "typed",
    [
        "ABCD-EF23",
        "ABCDEF23",
        "abcd-ef23",
        "abcdef23",
        " abcd ef23 ",
        "AB CD EF 23",
        "abcd\u2013ef23",  # en dash, as some keyboards and phones type it
        "abcd\u2014ef23",  # em dash
        "ABCD\tEF23\n",
    ],
)
def test_a_typed_code_is_accepted_with_spaces_dashes_and_lower_case(typed):
    assert identity.confirm_code_clean(typed) == "ABCDEF23"


def test_the_stored_code_digest_matches_only_the_cleaned_code():
    code = identity.confirm_code_new()
    digest = identity.confirm_code_digest(code)
    typed = identity.confirm_code_display(code).lower()
    assert identity.confirm_code_digest(identity.confirm_code_clean(typed)) == digest
    other = code[:-1] + ("2" if code[-1] != "2" else "3")
    assert identity.confirm_code_digest(other) != digest


# --- Confirmation tokens ------------------------------------------------------------------

A_DAY = 24 * 60 * 60


def test_a_confirmation_token_round_trips_to_the_signature_id():
    public_id = str(uuid.uuid4())
    token = identity.confirm_token_make(public_id)
    assert identity.confirm_token_read(token, max_age_seconds=A_DAY) == public_id


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"), id="edited"),
        pytest.param(lambda token: token[:-5], id="truncated"),
        pytest.param(lambda token: "x" + token, id="prefixed"),
        pytest.param(lambda token: "not-a-token", id="garbage"),
        pytest.param(lambda token: "", id="empty"),
    ],
)
def test_a_forged_or_damaged_token_is_rejected(forge):
    token = identity.confirm_token_make(str(uuid.uuid4()))
    with pytest.raises(signing.BadSignature):
        identity.confirm_token_read(forge(token), max_age_seconds=A_DAY)


def test_a_token_signed_for_another_purpose_is_rejected():
    public_id = str(uuid.uuid4())
    token = signing.dumps(public_id, salt="some.other.purpose")
    with pytest.raises(signing.BadSignature):
        identity.confirm_token_read(token, max_age_seconds=A_DAY)


def test_a_token_signed_with_another_secret_is_rejected(settings):
    token = identity.confirm_token_make(str(uuid.uuid4()))
    settings.SECRET_KEY = "another-secret-key-that-is-long-enough-for-django"
    with pytest.raises(signing.BadSignature):
        identity.confirm_token_read(token, max_age_seconds=A_DAY)


def test_a_properly_signed_token_without_a_signature_id_is_rejected():
    token = signing.dumps({"id": 1}, salt=identity.CONFIRM_SALT)
    with pytest.raises(signing.BadSignature):
        identity.confirm_token_read(token, max_age_seconds=A_DAY)


def test_an_expired_token_is_rejected(monkeypatch):
    public_id = str(uuid.uuid4())
    fifteen_days_ago = time.time() - 15 * A_DAY
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: fifteen_days_ago)
        token = identity.confirm_token_make(public_id)
    with pytest.raises(signing.SignatureExpired):
        identity.confirm_token_read(token, max_age_seconds=14 * A_DAY)
    # The same token is still good for a longer validity period.
    assert identity.confirm_token_read(token, max_age_seconds=16 * A_DAY) == public_id
