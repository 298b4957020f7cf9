"""Signing again mails the person again, but at most once per interval."""

from datetime import timedelta

import pytest
from django.core import mail

from petitions.models import Signature
from tests.factories import petition_create, signature_create


@pytest.fixture
def interval(settings):  # type: ignore[no-untyped-def]
    settings.DUPLICATE_EMAIL_INTERVAL_SECONDS = 120
    return timedelta(seconds=120)


def _sign_again(petition, django_capture_on_commit_callbacks, email="anna@example.org"):  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        signature_create(petition=petition, email=email, name="Anna")


@pytest.mark.django_db
def test_repeated_signing_within_the_interval_sends_no_more_email(
    interval, django_capture_on_commit_callbacks
):
    petition = petition_create()
    for _ in range(5):
        _sign_again(petition, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    assert Signature.objects.count() == 1


@pytest.mark.django_db
def test_signing_again_after_the_interval_resends_the_confirmation(
    interval, django_capture_on_commit_callbacks
):
    petition = petition_create()
    _sign_again(petition, django_capture_on_commit_callbacks)
    signature = Signature.objects.get()
    earlier = signature.emailed_at - interval - timedelta(seconds=1)
    Signature.objects.filter(pk=signature.pk).update(
        emailed_at=earlier, confirmation_requested_at=earlier
    )
    _sign_again(petition, django_capture_on_commit_callbacks, email="ANNA@example.org")
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject.startswith("Confirm your signature")
    signature.refresh_from_db()
    # The code's validity restarts with the new email.
    assert signature.confirmation_requested_at > earlier


@pytest.mark.django_db
def test_already_signed_email_is_also_limited_to_one_per_interval(
    interval, django_capture_on_commit_callbacks
):
    petition = petition_create()
    _sign_again(petition, django_capture_on_commit_callbacks)
    signature = Signature.objects.get()
    Signature.objects.filter(pk=signature.pk).update(
        status=Signature.Status.CONFIRMED, emailed_at=signature.emailed_at - interval * 2
    )
    for _ in range(3):
        _sign_again(petition, django_capture_on_commit_callbacks)
    subjects = [message.subject for message in mail.outbox]
    assert len(subjects) == 2
    assert subjects[1].startswith("You have already signed")
