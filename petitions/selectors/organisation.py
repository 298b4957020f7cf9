"""What an organisation's owners see of their own petitions and staff decisions."""

from __future__ import annotations

from django.db.models import QuerySet

from campaigns.models import Organisation
from petitions.models import InvalidationBatch, Petition


def organisation_petitions(*, organisation: Organisation) -> QuerySet[Petition]:
    """The organisation's petitions, by campaign and title (for criteria forms)."""
    return (
        Petition.objects.filter(campaign__organisation=organisation)
        .select_related("campaign")
        .order_by("campaign__title", "title", "pk")
    )


def organisation_invalidation_batches(*, organisation: Organisation) -> QuerySet[InvalidationBatch]:
    """The invalidations the organisation's owners made in the workspace, newest first.

    Batches made in the admin are not the organisation's (their criteria had no scope)."""
    return (
        InvalidationBatch.objects.filter(organisation=organisation)
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )
