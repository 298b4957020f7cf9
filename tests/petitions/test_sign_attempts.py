"""Sign attempts: what a request stores, the task that processes it, and the sweep."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone
from kombu.exceptions import OperationalError

from mailer.models import OutboxMessage
from petitions import services, tasks
from petitions.models import Petition, SignAttempt, Signature, Supporter
from tests.factories import latest_attempt, petition_create, signature_create

pytestmark = pytest.mark.django_db

SIGNER = {"name": "Anna Karenina", "email": "anna@example.org", "display": "short"}


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the prisoners of conscience")


def test_a_sign_request_stores_one_encrypted_attempt_and_enqueues_one_task(
    client, petition, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as enqueued:
        response = client.post(f"/p/{petition.slug}/sign/", {**SIGNER, "country": "FR"})

    assert response.status_code == 302
    assert len(enqueued) == 1
    attempt = SignAttempt.objects.get()
    assert (attempt.email, attempt.name, attempt.country, attempt.display) == (
        "anna@example.org",
        "Anna Karenina",
        "FR",
        "short",
    )
    assert attempt.processed_at is None and attempt.signature is None
    # Nothing about the person exists yet: the task decides what this address has.
    assert not Supporter.objects.exists()
    assert not Signature.objects.exists()


def test_the_attempt_is_processed_by_its_task_and_mailed_its_own_code(
    petition, django_capture_on_commit_callbacks
):
    attempt = services.sign_attempt_create(petition=petition, **SIGNER)
    assert attempt is not None

    with django_capture_on_commit_callbacks(execute=True):
        tasks.sign_attempt_process.delay(attempt.pk)

    attempt.refresh_from_db()
    assert attempt.processed_at is not None
    assert attempt.signature == Signature.objects.get()
    [message] = mail.outbox
    assert attempt.confirm_code[:4] in message.body
    assert OutboxMessage.objects.get().about["sign_attempt"] == str(attempt.pk)


def test_a_sign_while_the_broker_is_down_is_answered_and_mailed_by_the_sweep(
    client, petition, django_capture_on_commit_callbacks
):
    broker_down = OperationalError("Error 111 connecting to redis:6379. Connection refused.")
    with (
        mock.patch.object(tasks.sign_attempt_process, "apply_async", side_effect=broker_down),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(f"/p/{petition.slug}/sign/", SIGNER)

    assert response.status_code == 302
    assert mail.outbox == []
    assert services.sign_attempts_sweep() == 0  # fresh: its task may still come
    SignAttempt.objects.update(created_at=timezone.now() - timedelta(minutes=2))

    with django_capture_on_commit_callbacks(execute=True):
        assert services.sign_attempts_sweep() == 1

    assert Signature.objects.get().status == Signature.Status.PENDING
    assert [message.to for message in mail.outbox] == [["anna@example.org"]]
    assert services.sign_attempts_sweep() == 0  # processed once only


def test_the_sweep_deletes_attempts_whose_link_expired_with_their_unsent_mail(petition, settings):
    signature = signature_create(petition=petition)
    fresh = signature_create(petition=petition)
    SignAttempt.objects.filter(signature=signature).update(
        created_at=timezone.now() - timedelta(days=settings.CONFIRM_MAX_AGE_DAYS, minutes=1)
    )

    services.sign_attempts_sweep()

    assert list(SignAttempt.objects.values_list("signature", flat=True)) == [fresh.pk]
    assert not OutboxMessage.objects.filter(about__signature=str(signature.pk)).exists()
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING  # the row stays; nobody can confirm it


def test_a_confirmed_attempt_keeps_no_name_address_or_code(petition):
    signature = signature_create(petition=petition, name="Anna Karenina", confirmed=True)

    attempt = latest_attempt(signature)

    assert attempt.confirmed_at is not None
    assert (attempt.email, attempt.name, attempt.confirm_code) == ("", "", "")
    assert (attempt.ip_hash, attempt.ip_network_hash) == ("", "")


def test_an_attempt_that_gets_no_email_is_deleted_at_once(petition, settings):
    settings.DUPLICATE_EMAIL_INTERVAL_SECONDS = 600
    signature = signature_create(petition=petition, email="anna@example.org")

    result = services.signature_create(petition=petition, email="anna@example.org", name="Eve")

    assert result.signature == signature and result.attempt is None
    assert SignAttempt.objects.count() == 1  # only the first, which was mailed
    assert OutboxMessage.objects.count() == 1


def test_erasing_a_supporter_deletes_their_attempts(petition):
    signature = signature_create(petition=petition)
    assert signature.supporter is not None

    services.erasure.supporter_erase(supporter=signature.supporter)

    assert not SignAttempt.objects.exists()


def test_one_attempt_failing_in_the_sweep_does_not_hold_up_the_others(
    petition, monkeypatch, django_capture_on_commit_callbacks
):
    from django.db import OperationalError as DatabaseOperationalError

    from petitions.services import processing, signing

    monkeypatch.setattr(signing, "enqueue_on_commit", lambda *args: None)
    first = services.sign_attempt_create(petition=petition, email="a@example.org", name="A")
    second = services.sign_attempt_create(petition=petition, email="b@example.org", name="B")
    assert first is not None and second is not None
    SignAttempt.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    real = processing.sign_attempt_process

    def flaky(*, attempt_id: int) -> services.SignResult:
        if attempt_id == first.pk:
            raise DatabaseOperationalError("deadlock detected")
        return real(attempt_id=attempt_id)

    monkeypatch.setattr(processing, "sign_attempt_process", flaky)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.sign_attempts_sweep() == 1

    first.refresh_from_db()
    assert first.processed_at is None  # left for the next sweep
    assert [m.to for m in mail.outbox] == [["b@example.org"]]


def test_the_sweep_drains_a_backlog_larger_than_one_batch(
    petition, monkeypatch, django_capture_on_commit_callbacks
):
    from petitions.services import signing

    monkeypatch.setattr(signing, "enqueue_on_commit", lambda *args: None)
    for n in range(7):
        services.sign_attempt_create(petition=petition, email=f"p{n}@example.org", name="P")
    SignAttempt.objects.update(created_at=timezone.now() - timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True):
        assert services.sign_attempts_sweep(batch_size=3) == 7

    assert not SignAttempt.objects.filter(processed_at__isnull=True).exists()
    assert Signature.objects.count() == 7
