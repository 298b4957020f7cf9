"""The wait token: without JavaScript, a signer waits a few seconds instead of solving."""

from __future__ import annotations

import pytest
from django.core import mail

from petitions.models import Signature
from tests.factories import petition_create
from tests.petitions.challenge.helpers import (
    POLITE,
    assert_asked_again_politely,
    campaign_page,
    sign,
    wait_token_of,
)
from trust import challenge

pytestmark = pytest.mark.django_db


# --- The wait token (no JavaScript) -------------------------------------------------------


def test_without_a_solution_a_wait_token_is_accepted_once_it_is_old_enough(
    client, petition, clock, django_capture_on_commit_callbacks
):
    token = wait_token_of(campaign_page(client, petition))
    clock.advance(5)

    with django_capture_on_commit_callbacks(execute=True):
        response = sign(client, petition, challenge_wait=token)

    assert response.status_code == 302
    assert Signature.objects.get(petition=petition).status == Signature.Status.PENDING
    assert len(mail.outbox) == 1


def test_a_wait_token_sent_too_early_is_refused_and_the_next_one_works(client, petition, clock):
    token = wait_token_of(campaign_page(client, petition))
    clock.advance(2)

    response = sign(client, petition, challenge_wait=token)

    assert_asked_again_politely(response)
    fresh = wait_token_of(response.content.decode())
    assert fresh != token
    clock.advance(5)
    assert sign(client, petition, challenge_wait=fresh).status_code == 302


def test_a_wait_token_works_once_only(client, petition, clock):
    token = wait_token_of(campaign_page(client, petition))
    clock.advance(10)
    assert (
        sign(client, petition, challenge_wait=token, email="first@example.org").status_code == 302
    )

    response = sign(client, petition, challenge_wait=token)

    assert response.status_code == 422
    assert POLITE in response.content.decode()
    assert Signature.objects.count() == 1


def test_a_wait_token_older_than_twenty_minutes_is_refused(client, petition, clock):
    token = wait_token_of(campaign_page(client, petition))
    clock.advance(challenge.CHALLENGE_TTL_SECONDS + 1)

    assert_asked_again_politely(sign(client, petition, challenge_wait=token))


def test_a_wait_token_for_another_petition_is_refused(client, petition, clock):
    other = petition_create(challenge_required=True)
    token = challenge.challenge_wait_token_create(petition_id=other.pk)
    clock.advance(10)

    assert_asked_again_politely(sign(client, petition, challenge_wait=token))


@pytest.mark.parametrize("token", ["", "forged:token", "a" * 600, "\ud800", "x:y:z"])
def test_a_forged_wait_token_is_refused_politely(client, petition, clock, token):
    clock.advance(10)

    assert not challenge.challenge_wait_token_accept(petition_id=petition.pk, token=token)
    if "\ud800" not in token:  # a test client cannot even encode a lone surrogate
        assert_asked_again_politely(sign(client, petition, challenge_wait=token))


def test_no_wait_is_needed_when_the_wait_is_set_to_zero(client, petition, settings):
    settings.CHALLENGE_WAIT_SECONDS = 0
    token = wait_token_of(campaign_page(client, petition))

    assert sign(client, petition, challenge_wait=token).status_code == 302


def test_a_wait_token_is_ripe_exactly_when_the_wait_is_over(petition, clock):
    # Issued at a time with more precision than the token keeps: it must not come out
    # younger than it is, or a person pressing Sign right on time is turned away.
    clock.now = 1_900_000_000.0009
    token = challenge.challenge_wait_token_create(petition_id=petition.pk)
    clock.advance(5)

    assert challenge.challenge_wait_token_accept(petition_id=petition.pk, token=token)
