"""Confirmation codes and tokens for sign attempts (petitions.tokens)."""

from __future__ import annotations

import hashlib
import time
import uuid

import pytest
from django.core import signing

from petitions import tokens

# --- Confirmation codes -------------------------------------------------------------------


def test_a_confirmation_code_is_eight_easy_to_read_characters():
    code = tokens.confirm_code_new()
    assert len(code) == 8
    assert set(code) <= set("ABCDEFGHJKMNPQRSTVWXYZ23456789")


def test_confirmation_codes_are_random_and_owe_nothing_to_the_secret_key(settings):
    codes = {tokens.confirm_code_new() for _ in range(200)}
    assert len(codes) == 200
    code = tokens.confirm_code_new()
    digest = tokens.confirm_code_digest(code)
    settings.SECRET_KEY = "another-secret-key-that-is-long-enough-for-django"
    # The stored digest still finds the code after a SECRET_KEY rotation.
    assert tokens.confirm_code_digest(code) == digest


def test_the_code_digest_is_keyed_not_a_plain_hash(settings):
    code = tokens.confirm_code_new()
    digest = tokens.confirm_code_digest(code)
    # A copy of the database alone cannot be searched for the 39-bit codes.
    assert digest != hashlib.sha256(code.encode()).hexdigest()
    settings.SBOR_LOOKUP_KEY = "another-lookup-key-long-enough-for-hmac"
    assert tokens.confirm_code_digest(code) != digest


def test_a_confirmation_code_is_shown_in_two_groups_of_four():
    assert tokens.confirm_code_display("ABCDEF23") == "ABCD-EF23"


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
    assert tokens.confirm_code_clean(typed) == "ABCDEF23"


def test_the_stored_code_digest_matches_only_the_cleaned_code():
    code = tokens.confirm_code_new()
    digest = tokens.confirm_code_digest(code)
    typed = tokens.confirm_code_display(code).lower()
    assert tokens.confirm_code_digest(tokens.confirm_code_clean(typed)) == digest
    other = code[:-1] + ("2" if code[-1] != "2" else "3")
    assert tokens.confirm_code_digest(other) != digest


# --- Confirmation tokens ------------------------------------------------------------------

A_DAY = 24 * 60 * 60


def test_a_confirmation_token_round_trips_to_the_signature_id():
    public_id = str(uuid.uuid4())
    token = tokens.confirm_token_make(public_id)
    assert tokens.confirm_token_read(token, max_age_seconds=A_DAY) == public_id


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
    token = tokens.confirm_token_make(str(uuid.uuid4()))
    with pytest.raises(signing.BadSignature):
        tokens.confirm_token_read(forge(token), max_age_seconds=A_DAY)


def test_a_token_signed_for_another_purpose_is_rejected():
    public_id = str(uuid.uuid4())
    token = signing.dumps(public_id, salt="some.other.purpose")
    with pytest.raises(signing.BadSignature):
        tokens.confirm_token_read(token, max_age_seconds=A_DAY)


def test_a_token_signed_with_another_secret_is_rejected(settings):
    token = tokens.confirm_token_make(str(uuid.uuid4()))
    settings.SECRET_KEY = "another-secret-key-that-is-long-enough-for-django"
    with pytest.raises(signing.BadSignature):
        tokens.confirm_token_read(token, max_age_seconds=A_DAY)


def test_a_properly_signed_token_without_a_signature_id_is_rejected():
    token = signing.dumps({"id": 1}, salt=tokens.CONFIRM_SALT)
    with pytest.raises(signing.BadSignature):
        tokens.confirm_token_read(token, max_age_seconds=A_DAY)


def test_an_expired_token_is_rejected(monkeypatch):
    public_id = str(uuid.uuid4())
    fifteen_days_ago = time.time() - 15 * A_DAY
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: fifteen_days_ago)
        token = tokens.confirm_token_make(public_id)
    with pytest.raises(signing.SignatureExpired):
        tokens.confirm_token_read(token, max_age_seconds=14 * A_DAY)
    # The same token is still good for a longer validity period.
    assert tokens.confirm_token_read(token, max_age_seconds=16 * A_DAY) == public_id
