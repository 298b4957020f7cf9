"""The signing gate: the one place that decides whether a sign request may go on.

The sign form and the API turn its errors into their own answers (tested in test_pause,
test_challenge, test_sign_api); here the gate is asked directly, as a later caller would.
"""

from __future__ import annotations

import pytest

from petitions import services
from petitions.models import Petition
from tests.factories import challenge_solution, petition_create
from trust.site import site_settings_update

pytestmark = pytest.mark.django_db


def test_an_open_petition_lets_a_request_in():
    services.signing_gate_enter(petition=petition_create())


def test_a_pause_refuses_every_request_with_the_staff_message():
    site_settings_update(signing_paused=True, pause_message="Back on Monday.")

    with pytest.raises(services.SigningPausedError) as refused:
        services.signing_gate_enter(petition=petition_create())

    assert refused.value.message == "Back on Monday."


def test_a_pause_without_a_message_gives_the_standard_one():
    site_settings_update(signing_paused=True, pause_message="")

    with pytest.raises(services.SigningPausedError) as refused:
        services.signing_gate_enter(petition=petition_create())

    assert refused.value.message == "Signing is paused for a while. Please come back later."


def test_a_pause_is_checked_before_whether_the_petition_is_open():
    site_settings_update(signing_paused=True, pause_message="")

    with pytest.raises(services.SigningPausedError):
        services.signing_gate_enter(petition=petition_create(status=Petition.Status.CLOSED))


def test_a_closed_petition_refuses_a_request():
    with pytest.raises(services.PetitionClosedError):
        services.signing_gate_enter(petition=petition_create(status=Petition.Status.CLOSED))


def test_a_petition_without_a_challenge_needs_no_solution():
    services.signing_challenge_check(petition=petition_create(), payload="")


@pytest.mark.parametrize("payload", ["", "not a solution", None, 12, ["a"]])
def test_a_petition_with_a_challenge_refuses_a_missing_or_wrong_solution(payload):
    petition = petition_create(challenge_required=True)

    with pytest.raises(services.ChallengeFailedError):
        services.signing_challenge_check(petition=petition, payload=payload)


def test_a_petition_with_a_challenge_takes_a_solved_one_once():
    petition = petition_create(challenge_required=True)
    solution = challenge_solution(petition=petition)

    services.signing_challenge_check(petition=petition, payload=solution)
    with pytest.raises(services.ChallengeFailedError):
        services.signing_challenge_check(petition=petition, payload=solution)
