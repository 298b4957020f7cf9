"""Plaintext addresses are dropped once no mail needs them; the keyed hash stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone

from mailer.models import OutboxMessage
from petitions import tasks
from petitions.models import Consent, Petition, Signature, Supporter
from petitions.services import addresses
from tests.factories import petition_create, signature_create
from trust import identity

pytestmark = pytest.mark.django_db

ADDRESS = "Olga.Berggolts@Example.org"


@pytest.fixture
def petition() -> Petition:
    return petition_create()


@pytest.fixture
def sign(petition, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Sign and let the confirmation email go out, as the worker would.

    Confirming only marks the signer; nothing is dropped until a periodic task runs.
    """

    def signed(*, email: str = ADDRESS, confirmed: bool = True, **fields) -> Supporter:  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            signature = signature_create(
                petition=fields.pop("on", petition), email=email, confirmed=confirmed, **fields
            )
        assert signature.supporter is not None
        return Supporter.objects.get(pk=signature.supporter.pk)

    return signed


def dropped(supporter: Supporter) -> bool:
    supporter.refresh_from_db()
    return supporter.email == "" and supporter.email_dropped_at is not None


def test_confirming_marks_the_signer_and_the_frequent_task_drops_the_address(
    petition, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        signature = signature_create(petition=petition, email=ADDRESS, confirmed=True)
    supporter = signature.supporter
    assert supporter is not None
    # Confirming enqueued nothing but the confirmation email: the person is only marked.
    assert len(callbacks) == 1
    assert not dropped(supporter)
    assert supporter.email_drop_due_at is not None

    assert tasks.supporter_emails_drop_due.apply().get() == 1

    assert dropped(supporter)
    assert supporter.email_drop_due_at is None
    assert addresses.supporter_emails_drop() == 0  # nothing left for the full run
    assert addresses.supporter_emails_drop_due() == 0  # the mark is gone


def test_the_frequent_task_clears_the_mark_of_someone_who_keeps_the_address(sign):
    keeps = sign(consent_updates=True)
    assert keeps.email_drop_due_at is not None

    assert addresses.supporter_emails_drop_due() == 0

    keeps.refresh_from_db()
    assert keeps.email == ADDRESS
    assert keeps.email_drop_due_at is None


def test_the_frequent_task_works_in_batches_and_leaves_unmarked_supporters_alone(sign):
    marked = [sign(email=f"marked{n}@example.org") for n in range(5)]
    unmarked = sign(email="unmarked@example.org")
    Supporter.objects.filter(pk=unmarked.pk).update(email_drop_due_at=None)

    assert addresses.supporter_emails_drop_due(batch_size=2) == 5

    assert all(dropped(supporter) for supporter in marked)
    assert not dropped(unmarked)
    assert not Supporter.objects.filter(email_drop_due_at__isnull=False).exists()


def test_a_mark_set_again_while_a_batch_runs_stays_for_the_next_run(sign, monkeypatch):
    first = sign(email="first@example.org")
    later = timezone.now() + timedelta(seconds=1)
    real_drop = addresses.supporter_emails_drop

    def drop_while_the_person_confirms_again(**kwargs):  # type: ignore[no-untyped-def]
        result = real_drop(**kwargs)
        Supporter.objects.filter(pk=first.pk).update(email_drop_due_at=later)
        return result

    monkeypatch.setattr(addresses, "supporter_emails_drop", drop_while_the_person_confirms_again)
    addresses.supporter_emails_drop_due()

    first.refresh_from_db()
    assert first.email_drop_due_at == later


def test_a_confirmed_signer_without_consent_has_their_address_dropped(sign):
    supporter = sign()
    digest = supporter.email_digest
    assert addresses.supporter_emails_drop() == 1
    assert dropped(supporter)
    assert supporter.email_digest == digest
    assert supporter.name  # only the address goes


def test_a_signer_who_consented_to_updates_keeps_their_address(sign):
    supporter = sign(consent_updates=True)
    assert addresses.supporter_emails_drop() == 0
    assert not dropped(supporter)


def test_withdrawing_consent_lets_the_address_go(sign):
    supporter = sign(consent_updates=True)
    Consent.objects.update(withdrawn_at=timezone.now())
    assert addresses.supporter_emails_drop() == 1
    assert dropped(supporter)


def test_consent_given_but_not_yet_confirmed_does_not_keep_an_address(sign):
    # The signature is confirmed elsewhere; the consent never was: it does not count.
    supporter = sign(consent_updates=True)
    Consent.objects.update(confirmed_at=None)
    assert addresses.supporter_emails_drop() == 1
    assert dropped(supporter)


def test_a_pending_signer_keeps_their_address_while_the_link_works(sign):
    supporter = sign(confirmed=False)
    assert addresses.supporter_emails_drop() == 0
    assert not dropped(supporter)


def test_a_pending_signer_whose_link_expired_has_their_address_dropped(sign):
    supporter = sign(confirmed=False)
    long_ago = timezone.now() - timedelta(days=django_settings.CONFIRM_MAX_AGE_DAYS, seconds=1)
    Signature.objects.update(confirmation_requested_at=long_ago)
    assert addresses.supporter_emails_drop() == 1
    assert dropped(supporter)


@pytest.mark.parametrize("status", [OutboxMessage.Status.QUEUED, OutboxMessage.Status.SENDING])
def test_an_address_with_mail_still_to_send_is_kept(sign, status):
    supporter = sign()
    OutboxMessage.objects.update(status=status)
    assert addresses.supporter_emails_drop() == 0
    assert not dropped(supporter)


def test_a_failed_message_does_not_keep_an_address(sign):
    supporter = sign()
    OutboxMessage.objects.update(status=OutboxMessage.Status.FAILED)
    assert addresses.supporter_emails_drop() == 1
    assert dropped(supporter)


def test_only_the_given_supporters_are_looked_at(sign):
    first = sign()
    second = sign(email="second@example.org")
    assert addresses.supporter_emails_drop(supporter_ids=[second.pk]) == 1
    assert not dropped(first)
    assert dropped(second)


def test_every_supporter_is_looked_at_batch_by_batch(sign):
    supporters = [sign(email=f"person{n}@example.org") for n in range(5)]
    sign(email="keeps@example.org", consent_updates=True)
    assert addresses.supporter_emails_drop(batch_size=2) == 5
    assert all(dropped(supporter) for supporter in supporters)


def test_dropping_twice_is_harmless(sign):
    supporter = sign()
    addresses.supporter_emails_drop()
    first_dropped_at = Supporter.objects.get(pk=supporter.pk).email_dropped_at
    assert addresses.supporter_emails_drop() == 0
    assert Supporter.objects.get(pk=supporter.pk).email_dropped_at == first_dropped_at


def test_the_periodic_task_drops_and_is_the_one_beat_runs(sign):
    supporter = sign()
    entry = next(
        entry
        for entry in django_settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "petitions.tasks.supporter_emails_drop"
    )
    assert entry["task"] == tasks.supporter_emails_drop.name
    assert tasks.supporter_emails_drop.apply().get() == 1
    assert dropped(supporter)


def test_the_task_can_look_at_one_supporter(sign):
    first = sign()
    second = sign(email="second@example.org")
    assert tasks.supporter_emails_drop.apply(args=[first.pk]).get() == 1
    assert dropped(first)
    assert not dropped(second)


def test_signing_again_after_the_drop_still_finds_the_same_person(sign, petition):
    supporter = sign()
    addresses.supporter_emails_drop()
    sign(email="OLGA.BERGGOLTS@example.org", confirmed=False)  # already signed: mailed again
    sign(email="olga.berggolts@example.org", on=petition_create(campaign=petition.campaign))
    assert Supporter.objects.get() == supporter
    assert Signature.objects.filter(supporter=supporter).count() == 2
    assert Supporter.objects.get(email_digest=identity.email_digest(ADDRESS)) == supporter


def test_asking_for_a_manage_link_stores_the_address_again_and_sends_it(
    client, sign, django_capture_on_commit_callbacks
):
    supporter = sign()
    addresses.supporter_emails_drop()
    assert dropped(supporter)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/manage/", {"email": "olga.berggolts@EXAMPLE.org"})
    assert response.status_code == 200
    [email] = mail.outbox
    assert email.to == ["olga.berggolts@example.org"]  # the domain in its canonical form
    supporter.refresh_from_db()
    assert supporter.email == "olga.berggolts@example.org"
    assert supporter.email_dropped_at is None
    assert OutboxMessage.objects.get(kind="signature_manage_link").status == "sent"
    # Once the link is out, the address goes again.
    assert addresses.supporter_emails_drop() == 1
    assert dropped(supporter)


def test_a_stored_address_is_never_replaced_by_another_spelling(sign):
    supporter = sign()
    assert not addresses.supporter_email_restore(
        supporter=supporter, email="OLGA.BERGGOLTS@example.org"
    )
    supporter.refresh_from_db()
    assert supporter.email == ADDRESS


def test_only_the_persons_own_address_can_be_stored_again(sign):
    supporter = sign()
    addresses.supporter_emails_drop()
    supporter.refresh_from_db()
    with pytest.raises(ValueError, match="does not belong"):
        addresses.supporter_email_restore(supporter=supporter, email="someone@example.org")
    assert dropped(supporter)
