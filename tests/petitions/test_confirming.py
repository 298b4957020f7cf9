"""Confirming a signature by link or by code, and the links and codes that must not work."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from petitions import tokens
from petitions.models import SignAttempt, Signature
from tests.factories import latest_attempt, petition_create
from tests.html import elements
from tests.petitions.signing_helpers import code_confirm, code_of, confirm_link_path, page, sign

pytestmark = pytest.mark.django_db

A_DAY = 24 * 60 * 60


def token_made_days_ago(signature: Signature, days: float, monkeypatch) -> str:
    then = time.time() - days * A_DAY
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: then)
        return tokens.confirm_token_make(str(latest_attempt(signature).public_id))


# --- Confirming by link -------------------------------------------------------------------


def test_opening_the_link_shows_a_confirm_button_and_confirms_nothing(client, signed):
    path = confirm_link_path(mail.outbox[0])
    for _ in range(2):  # mail scanners may open a link more than once
        response = client.get(path)
        assert response.status_code == 200
        html = page(response)
        assert "Confirm your signature" in html
        (form,) = elements(html, "form", action=path)
        assert form["method"] == "post"
        assert "Confirm my signature" in html
    signed.refresh_from_db()
    assert signed.status == Signature.Status.PENDING
    assert signed.confirmed_at is None


def test_pressing_confirm_confirms_and_shows_the_confirmed_page(client, petition, signed):
    response = client.post(confirm_link_path(mail.outbox[0]))
    assert response.status_code == 302
    assert response["Location"] == f"/p/{petition.slug}/confirmed/"
    signed.refresh_from_db()
    assert signed.status == Signature.Status.CONFIRMED
    assert signed.confirmed_at is not None
    confirmed = client.get(response["Location"])
    assert "Your signature is confirmed" in page(confirmed)


def test_confirming_twice_is_harmless(client, petition, signed):
    path = confirm_link_path(mail.outbox[0])
    client.post(path)
    signed.refresh_from_db()
    first_confirmed_at = signed.confirmed_at

    again = client.post(path)
    assert again.status_code == 302
    assert again["Location"] == f"/p/{petition.slug}/confirmed/"
    signed.refresh_from_db()
    assert signed.status == Signature.Status.CONFIRMED
    assert signed.confirmed_at == first_confirmed_at
    assert Signature.objects.count() == 1

    reopened = client.get(path)
    assert reopened.status_code == 200
    assert "Your signature is already confirmed" in page(reopened)
    assert not elements(page(reopened), "form", action=path)


# --- Confirming by code -------------------------------------------------------------------


def test_the_code_page_shows_a_form(client, petition):
    response = client.get(f"/p/{petition.slug}/confirm/")
    assert response.status_code == 200
    (form,) = elements(page(response), "form", action=f"/p/{petition.slug}/confirm/")
    assert form["method"] == "post"
    assert elements(page(response), "input", name="code")


@pytest.mark.parametrize(
    "typing",
    [
        pytest.param(lambda code: code, id="as-shown"),
        pytest.param(lambda code: code.lower(), id="lowercase"),
        pytest.param(lambda code: code.replace("-", ""), id="without-dash"),
        pytest.param(lambda code: code.replace("-", "").lower(), id="lowercase-without-dash"),
        pytest.param(lambda code: f" {code.replace('-', ' ')} ", id="with-spaces"),
    ],
)
def test_typing_the_code_confirms_the_signature(client, petition, signed, typing):
    code = code_of(signed)
    assert code in mail.outbox[0].body
    response = code_confirm(client, petition, typing(code))
    assert response["Location"] == f"/p/{petition.slug}/confirmed/"
    signed.refresh_from_db()
    assert signed.status == Signature.Status.CONFIRMED


def test_a_valid_code_shows_the_review_and_confirms_nothing_by_itself(client, petition, signed):
    typed = client.post(f"/p/{petition.slug}/confirm/", {"code": code_of(signed)})

    assert typed.status_code == 302
    review = page(client.get(typed["Location"]))
    assert "Confirm my signature" in review
    (name,) = elements(review, "input", name="name")
    assert name["value"] == latest_attempt(signed).name
    signed.refresh_from_db()
    assert signed.status == Signature.Status.PENDING


def test_typing_the_code_again_after_confirming_is_harmless(client, petition, signed):
    code = code_of(signed)
    code_confirm(client, petition, code)
    again = client.post(f"/p/{petition.slug}/confirm/", {"code": code})
    assert again.status_code == 302
    assert Signature.objects.get().status == Signature.Status.CONFIRMED


CODE_INVALID = "This code is not valid or has expired."


def assert_code_refused(response, signature: Signature) -> None:
    assert response.status_code == 400
    html = page(response)
    assert CODE_INVALID in html
    (field,) = elements(html, "input", name="code")
    assert field.get("aria-invalid") == "true"
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING
    assert signature.confirmed_at is None


def test_a_wrong_code_is_refused_with_a_clear_message(client, petition, signed):
    code = code_of(signed)
    wrong = ("B" if code[0] != "B" else "C") + code[1:]
    response = client.post(f"/p/{petition.slug}/confirm/", {"code": wrong})
    assert_code_refused(response, signed)


def test_guessing_codes_is_stopped_after_the_hourly_limit_even_for_the_right_code(
    client, petition, signed, settings
):
    settings.RATE_CONFIRM_CODE_PER_HOUR = 3
    code = code_of(signed)
    wrong = ("B" if code[0] != "B" else "C") + code[1:]
    for _ in range(3):
        assert_code_refused(client.post(f"/p/{petition.slug}/confirm/", {"code": wrong}), signed)
    response = client.post(f"/p/{petition.slug}/confirm/", {"code": code})
    assert response.status_code == 429
    assert "Too many codes were tried from your connection." in page(response)
    (field,) = elements(page(response), "input", name="code")
    assert field.get("value") == code  # what they typed stays
    signed.refresh_from_db()
    assert signed.status == Signature.Status.PENDING
    # Another connection is not affected.
    other = client.post(f"/p/{petition.slug}/confirm/", {"code": code}, REMOTE_ADDR="192.0.2.9")
    assert other.status_code == 302


def test_a_code_for_another_petition_is_refused(client, petition, signed):
    other = petition_create(campaign=petition.campaign)
    response = client.post(f"/p/{other.slug}/confirm/", {"code": code_of(signed)})
    assert response.status_code == 400
    assert CODE_INVALID in page(response)
    signed.refresh_from_db()
    assert signed.status == Signature.Status.PENDING


def test_an_expired_code_is_refused(client, petition, signed, settings):
    code = code_of(signed)
    SignAttempt.objects.update(
        created_at=timezone.now() - timedelta(days=settings.CONFIRM_MAX_AGE_DAYS, minutes=1)
    )
    response = client.post(f"/p/{petition.slug}/confirm/", {"code": code})
    assert_code_refused(response, signed)


def test_signing_again_after_the_code_expired_mails_a_new_code_that_works(
    client, petition, signed, settings
):
    old_code = code_of(signed)
    SignAttempt.objects.update(
        created_at=timezone.now() - timedelta(days=settings.CONFIRM_MAX_AGE_DAYS, minutes=1)
    )
    sign(client, petition)
    new_code = code_of(signed)
    assert new_code != old_code
    assert new_code in mail.outbox[1].body
    assert_code_refused(client.post(f"/p/{petition.slug}/confirm/", {"code": old_code}), signed)
    code_confirm(client, petition, new_code)
    signed.refresh_from_db()
    assert signed.status == Signature.Status.CONFIRMED


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Please enter the code from the email."),
        ("A" * 21, "The code has eight characters, for example ABCD-EF23."),
        ("<script>alert(1)</script>", "The code has eight characters"),
    ],
)
def test_a_malformed_code_is_refused_with_a_clear_message(client, petition, signed, typed, message):
    response = client.post(f"/p/{petition.slug}/confirm/", {"code": typed})
    assert response.status_code == 400
    assert message in page(response)
    assert "<script>alert" not in page(response)
    signed.refresh_from_db()
    assert signed.status == Signature.Status.PENDING


# --- Links that do not work ---------------------------------------------------------------

LINK_INVALID = "This link is invalid or has expired"


def assert_link_refused(client: Client, path: str, signature: Signature) -> None:
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 400
        assert LINK_INVALID in page(response)
        assert not elements(page(response), "form", action=path)
    signature.refresh_from_db()
    assert signature.status != Signature.Status.CONFIRMED
    assert signature.confirmed_at is None


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"), id="edited"),
        pytest.param(lambda token: token[:-6], id="truncated"),
        pytest.param(lambda token: "AAAA" + token[4:], id="other-payload"),
        pytest.param(lambda token: "garbage", id="garbage"),
    ],
)
def test_a_tampered_link_is_refused_and_confirms_nothing(client, signed, forge):
    token = confirm_link_path(mail.outbox[0]).split("/")[2]
    assert_link_refused(client, f"/confirm/{forge(token)}/", signed)


def test_a_link_signed_with_another_key_is_refused(client, signed):
    forged = signing.dumps(str(signed.public_id), salt=tokens.CONFIRM_SALT, key="guessed-key")
    assert_link_refused(client, f"/confirm/{forged}/", signed)


def test_a_link_for_an_unknown_signature_is_refused(client, signed):
    unknown = tokens.confirm_token_make("00000000-0000-0000-0000-000000000000")
    not_a_uuid = tokens.confirm_token_make("not-a-uuid")
    assert_link_refused(client, f"/confirm/{unknown}/", signed)
    assert_link_refused(client, f"/confirm/{not_a_uuid}/", signed)


def test_an_expired_link_is_refused_and_confirms_nothing(client, signed, settings, monkeypatch):
    token = token_made_days_ago(signed, settings.CONFIRM_MAX_AGE_DAYS + 1, monkeypatch)
    assert_link_refused(client, f"/confirm/{token}/", signed)


def test_the_link_lifetime_follows_the_setting(client, signed, settings, monkeypatch):
    token = token_made_days_ago(signed, 2, monkeypatch)
    settings.CONFIRM_MAX_AGE_DAYS = 1
    assert_link_refused(client, f"/confirm/{token}/", signed)
    settings.CONFIRM_MAX_AGE_DAYS = 3
    assert client.post(f"/confirm/{token}/").status_code == 302
    signed.refresh_from_db()
    assert signed.status == Signature.Status.CONFIRMED


@pytest.mark.parametrize("status", [Signature.Status.WITHDRAWN, Signature.Status.INVALIDATED])
def test_a_withdrawn_or_invalidated_signature_cannot_be_confirmed_by_link(client, signed, status):
    Signature.objects.update(status=status)
    path = confirm_link_path(mail.outbox[0])
    response = client.post(path)
    assert response.status_code == 400
    assert LINK_INVALID in page(response)
    signed.refresh_from_db()
    assert signed.status == status
    assert signed.confirmed_at is None


@pytest.mark.parametrize("status", [Signature.Status.WITHDRAWN, Signature.Status.INVALIDATED])
def test_a_withdrawn_or_invalidated_signature_cannot_be_confirmed_by_code(
    client, petition, signed, status
):
    Signature.objects.update(status=status)
    response = client.post(f"/p/{petition.slug}/confirm/", {"code": code_of(signed)})
    assert response.status_code == 400
    assert "This signature can no longer be confirmed." in page(response)
    signed.refresh_from_db()
    assert signed.status == status
