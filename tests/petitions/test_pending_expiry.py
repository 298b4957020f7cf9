"""Pending signatures expire with their link.

Anyone can type a stranger's address. Once no link can confirm that signature any more,
the sweep deletes it, and the person too if nothing else of theirs is left: no keyed
address stays tied to a petition the person never signed. Confirmed signatures and the
people who made them are never touched, and no public number moves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from mailer.models import OutboxMessage
from mailer.selectors import outbox_messages_filter
from petitions import emails, services
from petitions.emails import SIGNATURE_CONFIRM
from petitions.models import Consent, Petition, SignAttempt, Signature, Supporter
from petitions.selectors import petition_integrity
from petitions.services import processing, retention, self_service, signing
from petitions.services.processing import signatures_pending_expire
from tests.factories import petition_create, signature_create

pytestmark = pytest.mark.django_db

LIFETIME = timedelta(days=django_settings.CONFIRM_MAX_AGE_DAYS)


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the Three")


def age(signature: Signature, *, by: timedelta = LIFETIME + timedelta(hours=1)) -> None:
    """Move the signature's confirmation request and its attempts back by ``by``."""
    then = timezone.now() - by
    Signature.objects.filter(pk=signature.pk).update(
        created_at=then, confirmation_requested_at=then, emailed_at=then
    )
    SignAttempt.objects.filter(signature=signature).update(created_at=then)
    outbox_messages_filter(about_key="signature", about_ids=[signature.pk]).update(
        status=OutboxMessage.Status.SENT, created_at=then
    )


def stranger_typed(petition: Petition, email: str = "stranger.typed@example.org") -> Signature:
    """A pending signature nobody confirmed, whose link has expired."""
    signature = signature_create(petition=petition, email=email)
    age(signature)
    return signature


def person_of(signature: Signature) -> int:
    """The id of the person who made the signature (it has one)."""
    assert signature.supporter_id is not None
    return signature.supporter_id


def public_numbers(petition: Petition) -> tuple[int, list[str]]:
    services.signature_counts_refresh()
    services.petition_integrity_refresh(petition_ids=[petition.pk])
    petition.refresh_from_db()
    return petition.signature_count, petition_integrity(petition=petition).parts


# --- What goes ------------------------------------------------------------------------------


def test_the_sweep_deletes_an_expired_pending_signature_its_mail_and_its_person(petition):
    signature = stranger_typed(petition)
    supporter_id = person_of(signature)

    services.sign_attempts_sweep()

    assert not Signature.objects.filter(pk=signature.pk).exists()
    assert not Supporter.objects.filter(pk=supporter_id).exists()
    assert not SignAttempt.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_the_person_can_sign_again_afterwards_and_gets_a_fresh_email(petition):
    stranger_typed(petition, email="anna@example.org")
    services.sign_attempts_sweep()
    mail.outbox.clear()

    result = services.signature_create(petition=petition, email="anna@example.org", name="Anna")

    assert result.created is True
    assert result.signature is not None
    assert result.signature.status == Signature.Status.PENDING
    assert (
        outbox_messages_filter(about_key="signature", about_ids=[result.signature.pk]).count() == 1
    )


def expired_attempts_delete() -> None:
    """What the sweep does first: attempts whose link has expired go."""
    SignAttempt.objects.filter(created_at__lt=timezone.now() - LIFETIME).delete()


def test_expiring_twice_finds_nothing_more(petition):
    stranger_typed(petition)
    assert signatures_pending_expire() == 0  # its attempt is still there
    expired_attempts_delete()
    assert signatures_pending_expire() == 1
    assert signatures_pending_expire() == 0


def test_many_expire_in_batches(petition):
    for n in range(7):
        stranger_typed(petition, email=f"typed{n}@example.org")
    expired_attempts_delete()
    assert signatures_pending_expire(batch_size=3) == 7
    assert not Supporter.objects.exists()


# --- What stays -----------------------------------------------------------------------------


def test_a_pending_signature_whose_link_still_works_stays(petition):
    signature = signature_create(petition=petition)
    age(signature, by=LIFETIME - timedelta(hours=1))

    services.sign_attempts_sweep()

    assert Signature.objects.filter(pk=signature.pk, status="pending").exists()
    assert SignAttempt.objects.filter(signature=signature).exists()


def test_a_pending_signature_asked_again_lately_stays_even_without_an_attempt(petition):
    # A confirmation email asked for lately may still come with an attempt in flight.
    signature = signature_create(petition=petition)
    SignAttempt.objects.filter(signature=signature).delete()
    Signature.objects.filter(pk=signature.pk).update(
        confirmation_requested_at=timezone.now() - LIFETIME + timedelta(minutes=5)
    )

    assert signatures_pending_expire() == 0
    assert Signature.objects.filter(pk=signature.pk).exists()


def test_confirmed_signatures_and_their_people_are_never_touched(petition):
    confirmed = signature_create(petition=petition, email="anna@example.org", confirmed=True)
    long_ago = timezone.now() - 10 * LIFETIME
    Signature.objects.filter(pk=confirmed.pk).update(
        created_at=long_ago, confirmation_requested_at=long_ago, confirmed_at=long_ago
    )
    SignAttempt.objects.all().delete()
    before = Supporter.objects.get(pk=person_of(confirmed))

    services.sign_attempts_sweep()

    confirmed.refresh_from_db()
    assert confirmed.status == Signature.Status.CONFIRMED
    assert confirmed.supporter_id == before.pk
    after = Supporter.objects.get(pk=before.pk)
    assert (after.email_digest, after.name) == (before.email_digest, before.name)


def test_a_person_with_a_confirmed_signature_elsewhere_loses_only_the_pending_one(petition):
    other = petition_create(title="Another petition")
    confirmed = signature_create(petition=other, email="anna@example.org", confirmed=True)
    pending = stranger_typed(petition, email="anna@example.org")
    assert pending.supporter_id == confirmed.supporter_id

    services.sign_attempts_sweep()

    assert not Signature.objects.filter(pk=pending.pk).exists()
    assert Signature.objects.get(pk=confirmed.pk).status == Signature.Status.CONFIRMED
    assert Supporter.objects.filter(pk=person_of(confirmed)).exists()


def test_a_person_with_a_consent_stays(petition):
    pending = stranger_typed(petition)
    Consent.objects.create(
        supporter_id=person_of(pending),
        campaign=petition.campaign,
        signature=pending,
        purpose="campaign_updates",
        method="sign_form",
        wording_version="1",
    )

    services.sign_attempts_sweep()

    assert not Signature.objects.filter(pk=pending.pk).exists()
    consent = Consent.objects.get()
    assert consent.supporter_id == pending.supporter_id
    assert consent.signature_id is None


def test_a_person_with_mail_still_to_send_stays_until_it_has_gone(petition):
    pending = stranger_typed(petition)
    supporter = Supporter.objects.get(pk=person_of(pending))
    emails.signature_manage_link_email_queue(supporter=supporter)

    services.sign_attempts_sweep()

    assert not Signature.objects.filter(pk=pending.pk).exists()
    assert Supporter.objects.filter(pk=supporter.pk).exists()


def test_invalidated_and_withdrawn_signatures_stay(petition):
    invalidated = stranger_typed(petition, email="bot@example.org")
    services.signature_statuses_change(
        signature_ids=[invalidated.pk], status=Signature.Status.INVALIDATED
    )
    withdrawn = stranger_typed(petition, email="changed.mind@example.org")
    supporter = Supporter.objects.get(pk=person_of(withdrawn))
    self_service.signature_withdraw(supporter=supporter, signature_public_id=withdrawn.public_id)

    assert signatures_pending_expire() == 0
    assert Signature.objects.filter(pk__in=[invalidated.pk, withdrawn.pk]).count() == 2


def test_a_pending_signature_detached_by_anonymisation_names_nobody_and_stays(petition):
    pending = stranger_typed(petition)
    retention.petition_anonymise(petition=petition)

    assert signatures_pending_expire() == 0
    assert Signature.objects.get(pk=pending.pk).supporter_id is None


# --- Numbers stay true ----------------------------------------------------------------------


def test_counts_and_the_public_integrity_line_do_not_move(petition):
    signature_create(petition=petition, confirmed=True)
    signature_create(petition=petition, confirmed=True)
    flagged = signature_create(petition=petition, confirmed=True)
    services.signature_statuses_change(
        signature_ids=[flagged.pk],
        status=Signature.Status.INVALIDATED,
        invalid_reason=Signature.InvalidReason.STAFF,
    )
    for n in range(3):
        stranger_typed(petition, email=f"typed{n}@example.org")
    before = public_numbers(petition)
    assert before[0] == 2

    services.sign_attempts_sweep()

    assert public_numbers(petition) == before
    assert petition_integrity(petition=petition).pending == 0


# --- A person signing again at the moment it expires ----------------------------------------

WAIT = 30.0  # a thread that waits this long is stuck: the test fails rather than hangs
STILL_BLOCKED = 0.5


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


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    results: list[Any] = []

    def target() -> None:
        try:
            results.append(work())
        except BaseException as exc:
            results.append(exc)
        finally:
            connection.close()  # each thread has its own connection

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, results


@pytest.mark.django_db(transaction=True)
def test_a_person_signing_again_as_it_expires_keeps_the_signature_and_gets_the_email(
    monkeypatch,
):
    petition = petition_create(title="Free the Three")
    signature = stranger_typed(petition, email="anna@example.org")
    expired_attempts_delete()
    # Recorded as a request does; its task runs below, in a thread of its own.
    monkeypatch.setattr(signing, "enqueue_on_commit", lambda *args: None)
    attempt = services.sign_attempt_create(petition=petition, email="anna@example.org", name="Anna")
    assert attempt is not None
    # The signing task stops after it has locked the person, before it touches the
    # signature; the sweep runs meanwhile.
    held = Held(processing._signature_get_or_create)
    monkeypatch.setattr(processing, "_signature_get_or_create", held)
    signer, signed = in_thread(lambda: processing.sign_attempt_process(attempt_id=attempt.pk))
    assert held.inside.wait(WAIT)
    sweeper, swept = in_thread(signatures_pending_expire)
    # PostgreSQL: the sweep skips the locked person and is done. SQLite: it waits for
    # the signing transaction, then finds the signature asked for again.
    sweeper.join(STILL_BLOCKED)
    held.release.set()
    signer.join(WAIT)
    sweeper.join(WAIT)
    assert not signer.is_alive() and not sweeper.is_alive()
    assert swept == [0]
    [result] = signed
    assert result.signature is not None and result.signature.pk == signature.pk
    kept = Signature.objects.get(pk=signature.pk)
    assert kept.status == Signature.Status.PENDING
    assert SignAttempt.objects.filter(signature=kept).count() == 1
    # The first confirmation email, long sent, and the new one.
    confirmations = outbox_messages_filter(about_key="signature", about_ids=[kept.pk]).filter(
        kind=SIGNATURE_CONFIRM
    )
    assert confirmations.count() == 2
