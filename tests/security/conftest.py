"""A small public site to attack: one published campaign with one open petition, a signer
shown publicly among the recent signatures, and a pending signature with its link. Also the
signer who asks for a manage link, and an inbox emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core import mail

from petitions import tokens
from petitions.models import Petition, Signature, Supporter
from tests.factories import campaign_create, latest_attempt, petition_create, signature_create
from tests.security.manage_asking import KNOWN


@dataclass(frozen=True)
class PublicSite:
    petition: Petition
    pending: Signature
    token: str

    @property
    def campaign_path(self) -> str:
        return f"/c/{self.petition.campaign.slug}/"

    @property
    def petition_path(self) -> str:
        return f"/p/{self.petition.slug}/"


@pytest.fixture
def site(db: None) -> PublicSite:
    petition = petition_create(
        campaign=campaign_create(slug="free-them", title="Free them"),
        slug="release-now",
        title="Release them now",
    )
    signature_create(petition=petition, confirmed=True, name="Shown Signer", display="full")
    pending = signature_create(petition=petition, email="pending@example.org")
    return PublicSite(
        petition=petition,
        pending=pending,
        token=tokens.confirm_token_make(str(latest_attempt(pending).public_id)),
    )


@pytest.fixture
def signer() -> Signature:
    """A confirmed signer without consent: their stored address has been dropped."""
    signature = signature_create(petition=petition_create(), email=KNOWN, confirmed=True)
    assert signature.supporter is not None
    Supporter.objects.filter(pk=signature.supporter.pk).update(email="")
    return signature


@pytest.fixture(autouse=True)
def _empty_inbox() -> Iterator[None]:
    mail.outbox.clear()
    yield


@pytest.fixture
def petition() -> Petition:
    return petition_create(slug="release-now", title="Release them now")
