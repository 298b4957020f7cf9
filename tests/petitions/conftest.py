"""Fixtures shared by the petitions tests."""

from __future__ import annotations

import pytest
from django.core import mail

from petitions.models import Petition, Signature
from tests.factories import petition_create, signature_create
from tests.petitions.manage_helpers import ADDRESS, counted, manage_path
from tests.petitions.signing_helpers import sign


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the prisoners of conscience")


@pytest.fixture
def signed(client, petition, django_capture_on_commit_callbacks):
    """Anna has signed over HTTP and has her confirmation email."""
    with django_capture_on_commit_callbacks(execute=True):
        response = sign(client, petition)
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    return Signature.objects.get(petition=petition)


@pytest.fixture
def anna(petition) -> Signature:
    """Anna signed, confirmed and agreed to updates; her signature is in the count."""
    signature = signature_create(
        petition=petition,
        email=ADDRESS,
        name="Anna Karenina",
        country="LT",
        consent_updates=True,
        confirmed=True,
    )
    return counted(signature)


@pytest.fixture
def anna_path(anna) -> str:
    assert anna.supporter is not None
    return manage_path(anna.supporter)


@pytest.fixture
def existing(petition) -> Signature:
    """Someone already signed with the address most bad submissions use."""
    signature = signature_create(
        petition=petition, email="existing@example.org", name="Existing Signer", country="DE"
    )
    mail.outbox.clear()
    return signature
