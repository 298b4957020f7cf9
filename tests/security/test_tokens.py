"""Confirmation links and codes cannot be forged, replayed after expiry, aimed at another
petition, or turned to another purpose. A bad token gets the 400 page and changes nothing."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.core import signing
from django.utils import timezone

from petitions import tokens
from petitions.models import Petition, SignAttempt, Signature
from petitions.services import erasure
from tests.factories import latest_attempt, petition_create, signature_create

pytestmark = pytest.mark.django_db

A_DAY = 24 * 60 * 60


@pytest.fixture
def petition() -> Petition:
    return petition_create(slug="release-now")


@pytest.fixture
def signature(petition) -> Signature:
    return signature_create(petition=petition, email="signer@example.org")


def token_at(signature: Signature, *, seconds_ago: float, monkeypatch) -> str:
    """A genuine confirmation token, as if made ``seconds_ago``."""
    then = time.time() - seconds_ago
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: then)
        return tokens.confirm_token_make(str(latest_attempt(signature).public_id))


def tampered(token: str) -> str:
    """The token with the last character of its signature changed."""
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


def payload_swapped(token: str, other: str) -> str:
    """``token``'s timestamp and signature with ``other``'s payload (another id)."""
    return other.split(":", 1)[0] + ":" + token.split(":", 1)[1]


def assert_refused(client, token: str, signature: Signature) -> None:
    """Neither opening the link nor pressing its button confirms anything."""
    for response in (client.get(f"/confirm/{token}/"), client.post(f"/confirm/{token}/")):
        assert response.status_code == 400
        assert "This link is invalid or has expired" in response.content.decode()
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING
    assert signature.confirmed_at is None


def token_of(signature: Signature) -> str:
    return tokens.confirm_token_make(str(latest_attempt(signature).public_id))


FORGERIES = {
    "tampered signature": lambda sig: tampered(
        tokens.confirm_token_make(str(latest_attempt(sig).public_id))
    ),
    "no signature": lambda sig: tokens.confirm_token_make(
        str(latest_attempt(sig).public_id)
    ).rsplit(":", 1)[0],
    "signed for another purpose": lambda sig: signing.dumps(
        str(sig.public_id), salt="sbor.petitions.other"
    ),
    "a manage link's token": lambda sig: tokens.manage_token_make(str(sig.public_id)),
    "no salt": lambda sig: signing.dumps(str(sig.public_id)),
    "another secret key": lambda sig: signing.dumps(
        str(sig.public_id), key="another-secret-key-" * 3, salt=tokens.CONFIRM_SALT
    ),
    "the bare id": lambda sig: str(sig.public_id),
    "the database id": lambda sig: str(sig.pk),
    "the code": lambda sig: latest_attempt(sig).confirm_code,
    "empty payload": lambda sig: signing.dumps("", salt=tokens.CONFIRM_SALT),
    "a payload that is not a string": lambda sig: signing.dumps(
        {"id": str(sig.public_id)}, salt=tokens.CONFIRM_SALT
    ),
    "a numeric id, properly signed": lambda sig: signing.dumps(
        str(sig.pk), salt=tokens.CONFIRM_SALT
    ),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_confirmation_token_confirms_nothing(client, signature, forge):
    assert_refused(client, forge(signature), signature)


def test_my_tokens_signature_does_not_vouch_for_another_signers_id(client, signature):
    mine = signature_create(petition=signature.petition, email="attacker@example.org")
    victims = tokens.confirm_token_make(str(latest_attempt(signature).public_id))
    # The victim's id with the timestamp and signature of my own genuine token: only if
    # the signature did not cover the payload could this pass.
    forged = payload_swapped(
        tokens.confirm_token_make(str(latest_attempt(mine).public_id)), victims
    )
    assert forged.split(":")[0] == victims.split(":")[0]

    assert_refused(client, forged, signature)


def test_a_genuine_token_does_confirm(client, signature):
    # The control for the forgeries above: the same steps with the real token work.
    token = tokens.confirm_token_make(str(latest_attempt(signature).public_id))

    assert client.post(f"/confirm/{token}/").status_code == 302

    signature.refresh_from_db()
    assert signature.status == Signature.Status.CONFIRMED


def test_an_expired_token_confirms_nothing(client, signature, monkeypatch):
    max_age = settings.CONFIRM_MAX_AGE_DAYS * A_DAY
    token = token_at(signature, seconds_ago=max_age + 60, monkeypatch=monkeypatch)

    assert_refused(client, token, signature)


def test_a_token_just_inside_its_lifetime_still_works(client, signature, monkeypatch):
    max_age = settings.CONFIRM_MAX_AGE_DAYS * A_DAY
    token = token_at(signature, seconds_ago=max_age - 60, monkeypatch=monkeypatch)

    assert client.post(f"/confirm/{token}/").status_code == 302


def test_a_shorter_lifetime_setting_expires_tokens_already_sent(client, signature, settings):
    token = tokens.confirm_token_make(str(latest_attempt(signature).public_id))
    settings.CONFIRM_MAX_AGE_DAYS = 1

    with pytest.MonkeyPatch.context() as patch:
        later = time.time() + 2 * A_DAY
        patch.setattr(signing.time, "time", lambda: later)
        response = client.post(f"/confirm/{token}/")

    assert response.status_code == 400
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING


def test_the_token_of_a_deleted_signature_confirms_nothing(client, signature):
    token = tokens.confirm_token_make(str(latest_attempt(signature).public_id))
    Signature.objects.filter(pk=signature.pk).delete()

    for response in (client.get(f"/confirm/{token}/"), client.post(f"/confirm/{token}/")):
        assert response.status_code == 400
    assert not Signature.objects.filter(status=Signature.Status.CONFIRMED).exists()


def test_the_token_of_an_erased_signer_confirms_nothing(client, signature):
    token = tokens.confirm_token_make(str(latest_attempt(signature).public_id))
    assert signature.supporter is not None
    erasure.supporter_erase(supporter=signature.supporter)

    response = client.post(f"/confirm/{token}/")

    assert response.status_code == 400
    signature.refresh_from_db()
    assert signature.status == Signature.Status.WITHDRAWN


def test_a_confirmation_token_does_not_open_the_manage_page(client, signature):
    token = tokens.confirm_token_make(str(latest_attempt(signature).public_id))
    assert signature.supporter is not None
    supporter_token = tokens.confirm_token_make(str(signature.supporter.public_id))

    for forged in (token, supporter_token):
        response = client.get(f"/manage/{forged}/")
        assert response.status_code == 400
        assert "signer@example.org" not in response.content.decode()


# --- Codes ---------------------------------------------------------------------------------


def code_of(signature: Signature) -> str:
    return tokens.confirm_code_display(latest_attempt(signature).confirm_code)


def test_a_code_for_one_petition_is_refused_on_another(client, signature):
    other = petition_create(slug="another-petition")

    response = client.post(f"/p/{other.slug}/confirm/", {"code": code_of(signature)})

    assert response.status_code == 400
    assert "This code is not valid or has expired" in response.content.decode()
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING


def test_a_code_for_one_petition_confirms_only_there(client, signature):
    other_signature = signature_create(
        petition=petition_create(slug="another-petition"), email="signer@example.org"
    )

    response = client.post(f"/p/{signature.petition.slug}/confirm/", {"code": code_of(signature)})

    assert response.status_code == 302
    other_signature.refresh_from_db()
    assert other_signature.status == Signature.Status.PENDING


def test_an_expired_code_is_refused(client, signature):
    code = code_of(signature)
    SignAttempt.objects.update(
        created_at=timezone.now()
        - timezone.timedelta(days=settings.CONFIRM_MAX_AGE_DAYS, minutes=1)
    )

    response = client.post(f"/p/{signature.petition.slug}/confirm/", {"code": code})

    assert response.status_code == 400
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING


@pytest.mark.parametrize(
    "code",
    ["", "AAAA-AAAA", "0000-0000", "' OR 1=1 --", "%", "_" * 8, "*", "\x00" * 8],
    ids=["empty", "wrong", "digits", "sql", "like-percent", "like-underscore", "star", "nul"],
)
def test_a_guessed_or_hostile_code_confirms_nothing(client, signature, code):
    response = client.post(f"/p/{signature.petition.slug}/confirm/", {"code": code})

    assert response.status_code == 400
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING


def test_a_code_owes_nothing_to_the_secret_key_and_is_stored_only_as_a_keyed_digest(
    client, signature, settings
):
    attempt = latest_attempt(signature)
    code = code_of(signature)
    assert attempt.confirm_code_digest == tokens.confirm_code_digest(attempt.confirm_code)
    assert attempt.confirm_code not in attempt.confirm_code_digest

    settings.SECRET_KEY = "another-secret-key-that-is-long-enough-0123456789"
    settings.SECRET_KEY_FALLBACKS = []

    response = client.post(f"/p/{signature.petition.slug}/confirm/", {"code": code})
    assert response.status_code == 302  # to the review page, under the new key
    assert client.post(response["Location"]).status_code == 302
    signature.refresh_from_db()
    assert signature.status == Signature.Status.CONFIRMED


def test_two_attempts_on_a_petition_never_share_a_code(signature, monkeypatch):
    """A drawn code that the petition already has is refused by the database and drawn
    again, so a typed code can never name someone else's attempt."""
    taken = latest_attempt(signature).confirm_code
    draws = iter([taken, taken, "NEWCDE23"])
    monkeypatch.setattr(tokens, "confirm_code_new", lambda: next(draws))

    other = signature_create(petition=signature.petition, email="other@example.org")

    assert latest_attempt(other).confirm_code == "NEWCDE23"
    assert (
        SignAttempt.objects.filter(confirm_code_digest=tokens.confirm_code_digest(taken)).count()
        == 1
    )


def test_the_same_code_on_another_petition_confirms_only_its_own_signature(
    client, signature, monkeypatch
):
    taken = latest_attempt(signature).confirm_code
    monkeypatch.setattr(tokens, "confirm_code_new", lambda: taken)
    elsewhere = signature_create(petition=petition_create(), email="other@example.org")

    response = client.post(f"/p/{elsewhere.petition.slug}/confirm/", {"code": taken})
    assert response.status_code == 302  # to the review page of elsewhere's attempt
    client.post(response["Location"])

    elsewhere.refresh_from_db()
    signature.refresh_from_db()
    assert elsewhere.status == Signature.Status.CONFIRMED
    assert signature.status == Signature.Status.PENDING
