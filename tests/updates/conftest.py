"""Fixtures of the updates tests: a campaign with a petition, its organiser, its signers."""

from __future__ import annotations

from typing import Any

import pytest

from campaigns.models import Campaign
from petitions.models import Petition, Signature, Supporter
from tests.factories import campaign_create, member_create, petition_create, signature_create


def signer(
    petition: Petition, *, consent: bool = True, confirmed: bool = True, **fields: Any
) -> Supporter:
    """Someone who signed ``petition`` (confirmed and agreeing to updates unless told)."""
    signature: Signature = signature_create(
        petition=petition, confirmed=confirmed, consent_updates=consent, **fields
    )
    assert signature.supporter is not None
    return signature.supporter


@pytest.fixture
def campaign() -> Campaign:
    return campaign_create(title="Free the Five", slug="free-the-five")


@pytest.fixture
def petition(campaign: Campaign) -> Petition:
    return petition_create(campaign=campaign, title="Release the Five", slug="release-the-five")


@pytest.fixture
def organiser(campaign: Campaign) -> Any:
    """A campaigner whose session gave a second factor (writing to supporters needs one)."""
    user = member_create(organisation=campaign.organisation, role="campaigner").user
    user.is_verified = lambda: True  # as django-otp's middleware marks a verified session
    return user


@pytest.fixture
def owner(campaign: Campaign) -> Any:
    user = member_create(organisation=campaign.organisation, role="owner").user
    user.is_verified = lambda: True
    return user
