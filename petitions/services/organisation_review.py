"""Staff tools for an organisation's owners: the admin's search, invalidation, revalidation,
export and lockdown, confined to the organisation and recorded in its audit log.

Nothing here finds, counts or changes signatures itself: each function checks the actor's
right (``campaigns.access``), puts the organisation into the criteria as their scope, and
calls the selector or service the admin calls (``petitions.selectors.criteria``,
``petitions.services.review``, ``petitions.services.retention``). The scope is part of
every filter built from the criteria, so no other criterion (a domain, an IP, a hash)
reaches another organisation's signatures, and a petition of another organisation is
refused as if it did not exist.

Audit entries name the kinds of criteria, counts, categories and the owner's own note,
never an address, a domain, an IP or a name.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from campaigns.access import Action, NotAMember, access_check
from campaigns.models import AuditEntry, Campaign, Organisation
from campaigns.services.audit import audit_record
from petitions.models import InvalidationBatch, Petition, Signature
from petitions.selectors.criteria import (
    CriteriaError,
    SignatureCriteria,
    signature_criteria_q,
    signatures_invalidatable_count,
)
from petitions.services import retention, review


class InvalidationPreviewStaleError(Exception):
    """The decision came with no preview of these criteria, or one older than an hour."""


@dataclass(frozen=True)
class InvalidationPreview:
    """What an invalidation would touch, per petition, and the note that binds the decision."""

    per_petition: dict[Petition, int]
    total: int
    token: str


def organisation_criteria_scope(
    *, organisation: Organisation, criteria: SignatureCriteria
) -> SignatureCriteria:
    """The criteria confined to ``organisation``; ``NotAMember`` for another's petition.

    Raises ``CriteriaError`` when no criterion is given: the organisation alone is a scope,
    not a search.
    """
    petition = criteria.petition
    if petition is not None and petition.campaign.organisation_id != organisation.pk:
        raise NotAMember
    scoped = dataclasses.replace(criteria, organisation=organisation)
    if scoped.is_empty():
        raise CriteriaError(
            _("Give at least one criterion: a petition, an address, a domain, an IP or a time.")
        )
    return scoped


def organisation_signatures_search(
    *, actor: Any, organisation: Organisation, criteria: SignatureCriteria
) -> QuerySet[Signature]:
    """The organisation's signatures matching ``criteria``, newest first; the search is
    recorded (which kinds of criteria, not their values).

    Raises ``CriteriaError``, ``NotAMember``, ``NotAllowed`` or ``SecondFactorNeeded``.
    """
    access_check(user=actor, organisation=organisation, action=Action.SIGNERS_SEARCH)
    scoped = organisation_criteria_scope(organisation=organisation, criteria=criteria)
    condition = signature_criteria_q(criteria=scoped)  # CriteriaError before recording
    audit_record(
        organisation=organisation,
        actor=actor,
        action=AuditEntry.Action.SIGNERS_SEARCH,
        details={"criteria": scoped.kinds(), "statuses": sorted(scoped.statuses)},
    )
    return (
        Signature.objects.filter(condition)
        .select_related("petition", "supporter")
        .order_by("-created_at", "-pk")
    )


def organisation_signatures_export(
    *, actor: Any, organisation: Organisation, criteria: SignatureCriteria
) -> QuerySet[Signature]:
    """The organisation's signatures matching ``criteria`` for a CSV export; recorded.

    Feed the result to ``petitions.selectors.signatures_csv_lines``, as the admin does.
    """
    access_check(user=actor, organisation=organisation, action=Action.SIGNERS_EXPORT)
    scoped = organisation_criteria_scope(organisation=organisation, criteria=criteria)
    signatures = Signature.objects.filter(signature_criteria_q(criteria=scoped))
    audit_record(
        organisation=organisation,
        actor=actor,
        action=AuditEntry.Action.SIGNERS_EXPORT,
        details={
            "criteria": scoped.kinds(),
            "statuses": sorted(scoped.statuses),
            "count": signatures.count(),
        },
    )
    return signatures


def organisation_invalidation_preview(
    *, actor: Any, organisation: Organisation, criteria: SignatureCriteria
) -> InvalidationPreview:
    """How many pending or confirmed signatures of the organisation an invalidation by
    ``criteria`` would touch, and the token the decision must bring back."""
    access_check(user=actor, organisation=organisation, action=Action.SIGNERS_INVALIDATE)
    scoped = organisation_criteria_scope(organisation=organisation, criteria=criteria)
    per_petition = signatures_invalidatable_count(criteria=scoped)
    total = sum(per_petition.values())
    token = review.invalidation_preview_token_make(criteria=scoped, count=total)
    return InvalidationPreview(per_petition=per_petition, total=total, token=token)


def organisation_signatures_invalidate(
    *,
    actor: Any,
    organisation: Organisation,
    criteria: SignatureCriteria,
    preview_token: str,
    category: str,
    reason: str,
) -> InvalidationBatch:
    """Invalidate what the preview showed, as one batch of the organisation; recorded.

    Raises ``InvalidationPreviewStaleError`` if the token is not a recent preview of these
    criteria, and ``review.InvalidationCountChangedError`` if the matching signatures
    changed since (nothing is invalidated then), as in the admin.
    """
    access_check(user=actor, organisation=organisation, action=Action.SIGNERS_INVALIDATE)
    scoped = organisation_criteria_scope(organisation=organisation, criteria=criteria)
    expected = review.invalidation_preview_count(token=preview_token, criteria=scoped)
    if expected is None:
        raise InvalidationPreviewStaleError
    with transaction.atomic():
        batch = review.signatures_invalidate(
            criteria=scoped,
            reason=reason,
            expected_count=expected,
            actor=actor,
            category=category,
        )
        audit_record(
            organisation=organisation,
            actor=actor,
            action=AuditEntry.Action.SIGNERS_INVALIDATE,
            details={
                "batch": str(batch.public_id),
                "count": batch.count,
                "category": batch.category,
                "reason": batch.reason,
            },
        )
    return batch


def organisation_invalidation_batch_revalidate(
    *, actor: Any, organisation: Organisation, batch_public_id: uuid.UUID
) -> int:
    """Undo one of the organisation's invalidations; returns how many signatures came back.

    A batch of another organisation, or one made in the admin, raises ``NotAMember``.
    """
    access_check(user=actor, organisation=organisation, action=Action.SIGNERS_INVALIDATE)
    batch = InvalidationBatch.objects.filter(
        public_id=batch_public_id, organisation=organisation
    ).first()
    if batch is None:
        raise NotAMember
    with transaction.atomic():
        moved = review.invalidation_batch_revalidate(batch=batch, actor=actor)
        audit_record(
            organisation=organisation,
            actor=actor,
            action=AuditEntry.Action.SIGNERS_REVALIDATE,
            details={"batch": str(batch.public_id), "count": moved},
        )
    return moved


def organisation_campaign_lockdown(*, actor: Any, campaign: Campaign, confirm_slug: str) -> int:
    """Lock the campaign down (``retention.campaign_lockdown``) for one of its owners, who
    typed its slug to confirm; recorded. Returns how many signatures were detached.

    Raises ``retention.LockdownConfirmationError`` (nothing changed) on a wrong slug.
    """
    organisation = campaign.organisation
    access_check(user=actor, organisation=organisation, action=Action.CAMPAIGN_LOCKDOWN)
    with transaction.atomic():
        detached = retention.campaign_lockdown(
            campaign=campaign, confirm_slug=confirm_slug, actor=actor
        )
        audit_record(
            organisation=organisation,
            actor=actor,
            action=AuditEntry.Action.CAMPAIGN_LOCKDOWN,
            target=campaign.title,
            details={"campaign": str(campaign.public_id), "detached": detached},
        )
    return detached
