"""Closing, lockdown and confirming under races: nothing personal arrives after a lockdown.

A sign request only records an attempt; the task that processes it locks the petition
(shared) and re-checks it, and a lockdown (or closing) takes the same lock exclusively.
The threaded tests hold a sign or a confirmation open inside its transaction while a
lockdown starts, and the other way round. On PostgreSQL the petition's advisory lock makes
the other side wait; on SQLite the IMMEDIATE transactions serialise writers the same way.
The sequential tests check the re-check itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from campaigns.models import Campaign
from mailer.models import OutboxMessage
from petitions import services, tokens
from petitions.models import Consent, Petition, SignAttempt, Signature, Supporter
from petitions.services import confirming, processing, retention, signing
from tests.factories import campaign_create, latest_attempt, petition_create, signature_create

TITLE = "Free the Three"
WAIT = 30.0  # a thread that waits this long is stuck: the test fails rather than hangs
STILL_BLOCKED = 0.5  # how long the other side must keep waiting to count as held off


def personal_rows(petition: Petition) -> dict[str, int]:
    """Everything that would tie a person to the petition."""
    return {
        "linked signatures": Signature.objects.filter(
            petition=petition, supporter__isnull=False
        ).count(),
        "attempts": SignAttempt.objects.filter(petition=petition).count(),
        "supporters": Supporter.objects.count(),
        "consents": Consent.objects.filter(campaign=petition.campaign).count(),
        "mail": OutboxMessage.objects.filter(about__petition=str(petition.pk)).count(),
    }


NOTHING = {"linked signatures": 0, "attempts": 0, "supporters": 0, "consents": 0, "mail": 0}


class Held:
    """Wraps a function so that the thread calling it stops inside it until released."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.inside = threading.Event()
        self.release = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.inside.set()
        assert self.release.wait(WAIT), "never released"
        return self.function(*args, **kwargs)


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors


def lockdown(campaign: Campaign) -> None:
    services.campaign_lockdown(campaign=Campaign.objects.get(pk=campaign.pk), confirm_name=TITLE)


@pytest.fixture
def campaign(db: None) -> Campaign:
    return campaign_create(title=TITLE)


@pytest.fixture
def attempt_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., SignAttempt]]:
    """Records attempts as a request does, without running their task yet."""
    monkeypatch.setattr(signing, "enqueue_on_commit", lambda *args: None)

    def record(petition: Petition, **fields: Any) -> SignAttempt:
        fields.setdefault("email", "anna@example.org")
        fields.setdefault("name", "Anna Karenina")
        attempt = services.sign_attempt_create(petition=petition, **fields)
        assert attempt is not None
        return attempt

    yield record


# --- Threads: one side held open inside its transaction ----------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_lockdown_waits_for_a_sign_in_flight_then_removes_what_it_stored(
    campaign, attempt_only, monkeypatch
):
    petition = petition_create(campaign=campaign)
    attempt = attempt_only(petition, consent_updates=True)
    held = Held(processing._supporter_get_or_create)
    monkeypatch.setattr(processing, "_supporter_get_or_create", held)

    signer, sign_errors = in_thread(lambda: services.sign_attempt_process(attempt_id=attempt.pk))
    assert held.inside.wait(WAIT)  # the sign holds the petition's lock, mid-transaction
    locker, lock_errors = in_thread(lambda: lockdown(campaign))
    locker.join(STILL_BLOCKED)
    assert locker.is_alive(), "the lockdown did not wait for the sign in flight"
    held.release.set()
    signer.join(WAIT)
    locker.join(WAIT)

    assert not signer.is_alive() and not locker.is_alive()
    assert sign_errors == lock_errors == []
    assert personal_rows(petition) == NOTHING
    assert Signature.objects.filter(petition=petition).count() == 1  # anonymised, kept
    # The sign committed before the lockdown began, so its email may have gone, to the
    # address's owner only; the row recording it is gone.
    assert [message.to for message in mail.outbox] in ([], [["anna@example.org"]])


@pytest.mark.django_db(transaction=True)
def test_a_sign_processed_during_a_lockdown_waits_and_stores_nothing(
    campaign, attempt_only, monkeypatch
):
    petition = petition_create(campaign=campaign)
    attempt = attempt_only(petition)
    held = Held(retention.petition_anonymise)
    monkeypatch.setattr(retention, "petition_anonymise", held)

    locker, lock_errors = in_thread(lambda: lockdown(campaign))
    assert held.inside.wait(WAIT)  # the lockdown holds the petition's lock, mid-transaction
    signer, sign_errors = in_thread(lambda: services.sign_attempt_process(attempt_id=attempt.pk))
    signer.join(STILL_BLOCKED)
    assert signer.is_alive(), "the sign did not wait for the lockdown"
    held.release.set()
    locker.join(WAIT)
    signer.join(WAIT)

    assert not signer.is_alive() and not locker.is_alive()
    assert sign_errors == lock_errors == []
    assert personal_rows(petition) == NOTHING
    assert not Signature.objects.filter(petition=petition).exists()
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_a_lockdown_waits_for_a_confirmation_in_flight_then_removes_its_consent(
    campaign, monkeypatch
):
    petition = petition_create(campaign=campaign)
    signature = signature_create(petition=petition, consent_updates=True)
    attempt = latest_attempt(signature)
    held = Held(confirming._signature_confirm)
    monkeypatch.setattr(confirming, "_signature_confirm", held)

    confirmer, confirm_errors = in_thread(lambda: services.signature_confirm(sign_attempt=attempt))
    assert held.inside.wait(WAIT)
    locker, lock_errors = in_thread(lambda: lockdown(campaign))
    locker.join(STILL_BLOCKED)
    assert locker.is_alive(), "the lockdown did not wait for the confirmation in flight"
    held.release.set()
    confirmer.join(WAIT)
    locker.join(WAIT)

    assert confirm_errors == lock_errors == []
    assert personal_rows(petition) == NOTHING
    assert Signature.objects.get(petition=petition).status == Signature.Status.CONFIRMED


# --- In sequence: the re-checks ---------------------------------------------------------


@pytest.mark.django_db
def test_an_attempt_processed_after_a_lockdown_leaves_nothing(campaign, attempt_only):
    petition = petition_create(campaign=campaign)
    attempt = attempt_only(petition, consent_updates=True)
    lockdown(campaign)

    result = services.sign_attempt_process(attempt_id=attempt.pk)

    assert result.signature is None
    assert personal_rows(petition) == NOTHING
    assert not Signature.objects.exists()


@pytest.mark.django_db
def test_an_attempt_processed_after_staff_closed_the_petition_leaves_nothing(
    campaign, attempt_only
):
    petition = petition_create(campaign=campaign)
    attempt = attempt_only(petition)
    petition.status = Petition.Status.CLOSED
    services.petition_save(petition=petition)

    services.sign_attempt_process(attempt_id=attempt.pk)

    assert personal_rows(petition) == NOTHING
    assert mail.outbox == []


@pytest.mark.django_db
def test_an_attempt_made_before_the_deadline_still_counts_when_processed_after_it(
    campaign, attempt_only
):
    petition = petition_create(campaign=campaign, closes_at=timezone.now() + timedelta(hours=1))
    attempt = attempt_only(petition)
    Petition.objects.filter(pk=petition.pk).update(closes_at=timezone.now())

    result = services.sign_attempt_process(attempt_id=attempt.pk)

    assert result.signature is not None
    assert result.signature.status == Signature.Status.PENDING


@pytest.mark.django_db
def test_an_attempt_processed_twice_signs_and_mails_once(campaign, attempt_only):
    petition = petition_create(campaign=campaign)
    attempt = attempt_only(petition)

    first = services.sign_attempt_process(attempt_id=attempt.pk)
    second = services.sign_attempt_process(attempt_id=attempt.pk)

    assert first.created and first.attempt is not None
    assert second.signature is None and not second.created
    assert Signature.objects.count() == 1
    assert OutboxMessage.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["link", "code"])
def test_confirming_after_a_lockdown_is_refused(client, campaign, how):
    petition = petition_create(campaign=campaign)
    signature = signature_create(petition=petition)
    attempt = latest_attempt(signature)
    code = attempt.confirm_code
    token = tokens.confirm_token_make(str(attempt.public_id))
    lockdown(campaign)

    if how == "link":
        response = client.post(f"/confirm/{token}/")
    else:
        response = client.post(f"/p/{petition.slug}/confirm/", {"code": code})

    assert response.status_code == 400
    assert Signature.objects.get().status == Signature.Status.PENDING
    assert personal_rows(petition) == NOTHING


@pytest.mark.django_db
def test_confirming_on_an_anonymised_petition_is_refused_even_with_an_attempt_in_hand(campaign):
    petition = petition_create(campaign=campaign)
    signature = signature_create(petition=petition)
    attempt = latest_attempt(signature)
    Petition.objects.filter(pk=petition.pk).update(anonymised_at=timezone.now())

    assert services.signature_confirm(sign_attempt=attempt) is False
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING
