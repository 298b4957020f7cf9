"""The role matrix's world: the organisation its requests act on, and what is in it.

Objects are made on first use, through the services where a real one needs them (updates,
invalidations), so that each test of ``tests/workspace/test_role_matrix.py`` makes only
what its row asks for.
"""

from __future__ import annotations

import datetime
from functools import cached_property
from typing import Any

from django.utils import timezone

from campaigns.models import Campaign, Invitation, Membership, Role
from petitions.models import InvalidationBatch, Petition, Signature
from petitions.selectors.criteria import SignatureCriteria
from petitions.services import organisation_review
from tests.factories import (
    campaign_create,
    member_create,
    organisation_create,
    petition_create,
    signature_create,
)
from tests.workspace.members_helpers import verified
from updates import services as updates
from updates.models import Update


class World:
    """Organisation A, with its first owner, and the objects rows act on, made on first use
    (a test makes only what its row needs)."""

    def __init__(self) -> None:
        self.organisation = organisation_create()
        self.founder = member_create(organisation=self.organisation, role=Role.OWNER)

    @cached_property
    def published(self) -> Campaign:
        return campaign_create(organisation=self.organisation, status=Campaign.Status.PUBLISHED)

    @cached_property
    def draft(self) -> Campaign:
        return campaign_create(organisation=self.organisation, status=Campaign.Status.DRAFT)

    @cached_property
    def open_petition(self) -> Petition:
        return petition_create(campaign=self.published, status=Petition.Status.OPEN)

    @cached_property
    def draft_petition(self) -> Petition:
        return petition_create(campaign=self.published, status=Petition.Status.DRAFT)

    @cached_property
    def colleague(self) -> Membership:
        return member_create(organisation=self.organisation, role=Role.CAMPAIGNER)

    @cached_property
    def invitation(self) -> Invitation:
        return Invitation.objects.create(
            organisation=self.organisation,
            email="invited.person@example.org",
            role=Role.VIEWER,
            invited_by=self.founder.user,
            expires_at=timezone.now() + datetime.timedelta(days=7),
        )

    @cached_property
    def signature(self) -> Signature:
        return signature_create(petition=self.open_petition, confirmed=True)

    @cached_property
    def won_petition(self) -> Petition:
        return petition_create(campaign=self.published, status=Petition.Status.WON)

    @cached_property
    def supporter(self) -> Signature:
        """A confirmed signer who agreed to updates: an update has someone to reach."""
        return signature_create(petition=self.open_petition, confirmed=True, consent_updates=True)

    @cached_property
    def update(self) -> Update:
        """A draft update of the published campaign."""
        return updates.update_create(
            actor=verified(self.founder.user),
            campaign=self.published,
            subject="News from the court",
            body="The hearing is on Monday.",
        )

    @cached_property
    def scheduled_update(self) -> Update:
        self.supporter  # noqa: B018 - someone to send it to
        update = self.update
        updates.update_schedule(
            actor=verified(self.founder.user),
            update=update,
            when=timezone.now() + datetime.timedelta(days=1),
        )
        return update

    @property
    def criteria(self) -> str:
        """The staff tools' criteria (as their forms carry them): the open petition's."""
        return f"petition={self.open_petition.public_id}"

    def invalidation_preview_token(self) -> str:
        """The token an owner's preview of ``criteria`` would bring back with the decision."""
        self.signature  # noqa: B018 - made before the preview counts it
        preview = organisation_review.organisation_invalidation_preview(
            actor=verified(self.founder.user),
            organisation=self.organisation,
            criteria=SignatureCriteria(petition=self.open_petition),
        )
        return preview.token

    @cached_property
    def invalidation(self) -> InvalidationBatch:
        """One of the organisation's invalidations, of the signature, made by its founder."""
        return organisation_review.organisation_signatures_invalidate(
            actor=verified(self.founder.user),
            organisation=self.organisation,
            criteria=SignatureCriteria(petition=self.open_petition),
            preview_token=self.invalidation_preview_token(),
            category=InvalidationBatch.Category.AUTOMATED,
            reason="A script signed.",
        )


def fresh(instance: Any) -> Any:
    """The row as the database has it now."""
    return type(instance).objects.get(pk=instance.pk)
