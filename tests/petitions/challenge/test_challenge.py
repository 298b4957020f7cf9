"""None"""

from __future__ import annotations

import base64
import json

import pytest
from django.core import mail
from django.core.cache import cache

from petitions.models import Signature, Supporter
from tests.factories import challenge_solution, petition_create, post_and_run_tasks
from tests.html import elements
from tests.petitions.challenge.helpers import (
    POLITE,
    assert_asked_again_politely,
    campaign_page,
    sign,
    wait_token_of,
    widget_of,
)
from trust import challenge, identity

pytestmark = pytest.mark.django_db


def payload_with(payload: str, **changes: object) -> str:
    data = json.loads(base64.b64decode(payload))
    data.update(changes)
    return base64.b64encode(json.dumps(data).encode()).decode()


# --- When a challenge is asked ------------------------------------------------------------


def test_a_petition_without_the_challenge_shows_no_puzzle(client):
    petition = petition_create()

    html = campaign_page(client, petition)

    assert not elements(html, "div", **{"class": "challenge"})
    assert not elements(html, "input", name="challenge_wait")
    assert not challenge.challenge_required(
        petition_id=petition.pk, always_required=petition.challenge_required
    )


def test_a_petition_that_always_asks_carries_the_puzzle_in_data_attributes(client, petition):
    html = campaign_page(client, petition)

    widget = widget_of(html)
    puzzle = json.loads(str(widget["data-challenge"]))
    assert puzzle["algorithm"] == "SHA-256"
    assert puzzle["maxNumber"] == 2000
    assert set(puzzle) == {"algorithm", "challenge", "maxNumber", "salt", "signature"}
    assert widget["data-wait-seconds"] == "5"
    assert elements(html, "input", name="altcha", type="hidden")
    # The solver is a file of ours, loaded like any other; no inline script.
    [script] = elements(html, "script", src="/static/js/challenge.js")
    assert "defer" in script
    assert "<script>" not in html
    assert elements(html, "p", role="status")


def test_every_page_view_gets_a_fresh_puzzle_and_wait_token(client, petition):
    first, second = campaign_page(client, petition), campaign_page(client, petition)

    assert widget_of(first)["data-challenge"] != widget_of(second)["data-challenge"]
    assert wait_token_of(first) != wait_token_of(second)


def test_the_challenge_switches_itself_on_past_the_attempt_threshold(client, settings):
    settings.CHALLENGE_AUTO_PER_MINUTE = 3
    petition, other = petition_create(), petition_create()
    for n in range(3):
        sign(client, petition, email=f"signer{n}@example.org")
    assert not challenge.challenge_required(
        petition_id=petition.pk, always_required=petition.challenge_required
    )
    assert not elements(campaign_page(client, petition), "div", **{"class": "challenge"})

    response = sign(client, petition, email="fourth@example.org")

    assert_asked_again_politely_for(response, email="fourth@example.org")
    assert challenge.challenge_required(
        petition_id=petition.pk, always_required=petition.challenge_required
    )
    assert widget_of(campaign_page(client, petition))
    # Only the petition under pressure asks.
    assert not challenge.challenge_required(
        petition_id=other.pk, always_required=other.challenge_required
    )


def assert_asked_again_politely_for(response, *, email: str) -> None:
    assert response.status_code == 422
    assert POLITE in response.content.decode()
    assert not Supporter.objects.filter(email_digest=identity.email_digest(email)).exists()


def test_the_automatic_challenge_ends_after_its_period(settings, monkeypatch):
    settings.CHALLENGE_AUTO_PER_MINUTE = 1
    petition = petition_create()
    timeouts = []

    class RecordingCache:
        def __getattr__(self, name):
            return getattr(cache, name)

        def set(self, key, value, timeout):
            timeouts.append(timeout)
            cache.set(key, value, timeout)

    monkeypatch.setattr(challenge, "cache", RecordingCache())

    challenge.challenge_attempt_record(petition_id=petition.pk)
    challenge.challenge_attempt_record(petition_id=petition.pk)

    assert timeouts == [settings.CHALLENGE_AUTO_MINUTES * 60]
    assert challenge.challenge_required(
        petition_id=petition.pk, always_required=petition.challenge_required
    )


def test_failed_and_invalid_attempts_count_towards_the_threshold_too(client, settings):
    settings.CHALLENGE_AUTO_PER_MINUTE = 2
    petition = petition_create()

    for _ in range(3):
        post_and_run_tasks(
            client, f"/p/{petition.slug}/sign/", {"name": "", "email": "not an address"}
        )

    assert challenge.challenge_required(
        petition_id=petition.pk, always_required=petition.challenge_required
    )


# --- Solutions ----------------------------------------------------------------------------


def test_a_solved_puzzle_is_accepted_and_the_signature_is_pending(
    client, petition, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = sign(client, petition, altcha=challenge_solution(petition=petition))

    assert response.status_code == 302
    assert response["Location"] == f"/p/{petition.slug}/thanks/"
    assert Signature.objects.get(petition=petition).status == Signature.Status.PENDING
    assert len(mail.outbox) == 1


def test_a_solution_is_accepted_once_only(client, petition):
    payload = challenge_solution(petition=petition)
    assert sign(client, petition, altcha=payload, email="first@example.org").status_code == 302

    response = sign(client, petition, altcha=payload, email="anna@example.org")

    assert response.status_code == 422
    assert POLITE in response.content.decode()
    assert Signature.objects.count() == 1


def test_an_expired_solution_is_refused_politely_and_nothing_is_stored(client, petition, clock):
    clock.now -= challenge.CHALLENGE_TTL_SECONDS + 60  # the puzzle was handed out long ago
    payload = challenge_solution(petition=petition)
    clock.now += challenge.CHALLENGE_TTL_SECONDS + 60

    assert_asked_again_politely(sign(client, petition, altcha=payload))


def test_a_solution_for_another_petition_is_refused(client, petition):
    other = petition_create(challenge_required=True)

    assert_asked_again_politely(sign(client, petition, altcha=challenge_solution(petition=other)))


@pytest.mark.parametrize(
    "change",
    [
        {"number": -1},
        {"signature": "0" * 64},
        {"challenge": "f" * 64},
        {"algorithm": "SHA-1"},
        {"salt": "deadbeef?expires=99999999999&petition=1&"},
    ],
    ids=["wrong number", "forged signature", "other challenge", "weaker hash", "forged salt"],
)
def test_a_tampered_solution_is_refused_politely_and_nothing_is_stored(client, petition, change):
    payload = payload_with(challenge_solution(petition=petition), **change)

    assert_asked_again_politely(sign(client, petition, altcha=payload))


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "not base64 at all!",
        "ключ",
        base64.b64encode(b"\xff\xfe").decode(),
        base64.b64encode(b"[1, 2, 3]").decode(),
        base64.b64encode(b"42").decode(),
        base64.b64encode(b'{"algorithm": "SHA-256"}').decode(),
        base64.b64encode(
            json.dumps(
                {"algorithm": "SHA-256", "challenge": 1, "number": "1", "salt": [], "signature": {}}
            ).encode()
        ).decode(),
        base64.b64encode(
            json.dumps(
                {
                    "algorithm": "SHA-256",
                    "challenge": "a",
                    "number": True,
                    "salt": "s",
                    "signature": "x",
                }
            ).encode()
        ).decode(),
        base64.b64encode(b"[" * 1500).decode(),
        "A" * 100_000,
    ],
)
def test_malformed_payloads_are_simply_not_solutions(petition, payload):
    assert not challenge.challenge_solution_accept(petition_id=petition.pk, payload=payload)


def test_a_salt_with_an_odd_expiry_is_not_a_solution(petition):
    for expires in ["", "soon", "²", "1" * 40, "1&expires=9999999999"]:
        salt = f"abc?expires={expires}&petition={petition.pk}&"
        payload = base64.b64encode(
            json.dumps(
                {
                    "algorithm": "SHA-256",
                    "challenge": "a",
                    "number": 1,
                    "salt": salt,
                    "signature": "b",
                }
            ).encode()
        ).decode()
        assert not challenge.challenge_solution_accept(petition_id=petition.pk, payload=payload)


def test_a_form_with_errors_keeps_its_challenge_unspent(client, petition):
    payload = challenge_solution(petition=petition)

    response = sign(client, petition, altcha=payload, email="")

    assert response.status_code == 422
    assert "Please enter your email address." in response.content.decode()
    assert sign(client, petition, altcha=payload).status_code == 302
