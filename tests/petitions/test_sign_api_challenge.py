"""The sign API and proof of work: the challenge address, solutions, the threshold."""

from __future__ import annotations

import pytest

from petitions.models import Petition, Signature
from tests.factories import challenge_solution, petition_create
from tests.petitions.sign_api_helpers import anna, post, stored_rows

pytestmark = pytest.mark.django_db


# --- The challenge ------------------------------------------------------------------------


def challenge_url(petition: Petition) -> str:
    return f"/api/v1/petitions/{petition.slug}/challenge/"


def test_the_challenge_address_says_when_none_is_needed(client, petition):
    response = client.get(challenge_url(petition))

    assert response.status_code == 200
    assert response.json() == {"required": False, "challenge": None}
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies


def test_the_challenge_address_hands_out_a_new_puzzle_when_one_is_needed(client, settings):
    settings.CHALLENGE_MAX_NUMBER = 2000
    petition = petition_create(challenge_required=True)

    first, second = client.get(challenge_url(petition)), client.get(challenge_url(petition))

    assert first.status_code == 200
    assert "no-store" in first["Cache-Control"]
    body = first.json()
    assert body["required"] is True
    assert set(body["challenge"]) == {"algorithm", "challenge", "maxNumber", "salt", "signature"}
    assert body["challenge"]["maxNumber"] == 2000
    assert body["challenge"] != second.json()["challenge"]


def test_without_a_solution_a_petition_that_asks_for_one_answers_400(client):
    petition = petition_create(challenge_required=True)

    for body in [anna(), anna(altcha="bm9wZQ=="), anna(altcha=12345), anna(altcha=None)]:
        response = post(client, petition, body)
        assert response.status_code == 400
        [message] = response.json()["errors"]["altcha"]
        assert "challenge" in message
    assert stored_rows() == (0, 0, 0, 0)


def test_with_a_solution_the_signature_is_accepted_once(client, settings):
    settings.CHALLENGE_MAX_NUMBER = 2000
    petition = petition_create(challenge_required=True)
    payload = challenge_solution(petition=petition)

    assert post(client, petition, anna(altcha=payload)).status_code == 202
    replay = post(client, petition, anna(altcha=payload, email="boris@example.org"))

    assert replay.status_code == 400
    assert Signature.objects.count() == 1


def test_api_attempts_switch_the_challenge_on_like_form_attempts(client, petition, settings):
    settings.CHALLENGE_AUTO_PER_MINUTE = 2
    for n in range(2):
        assert post(client, petition, anna(email=f"s{n}@example.org")).status_code == 202

    response = post(client, petition, anna(email="third@example.org"))

    assert response.status_code == 400
    assert "altcha" in response.json()["errors"]
    assert client.get(challenge_url(petition)).json()["required"] is True


def test_an_unsolved_challenge_is_asked_for_only_after_the_fields_are_right(client):
    petition = petition_create(challenge_required=True)

    response = post(client, petition, {"name": "Anna"})

    assert set(response.json()["errors"]) == {"email"}
