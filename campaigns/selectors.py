"""Reads for organisations and campaigns."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from campaigns.models import Campaign


def campaign_list_public() -> QuerySet[Campaign]:
    return (
        Campaign.objects.exclude(status=Campaign.Status.DRAFT)
        .select_related("organisation")
        .order_by("-created_at")
    )


def campaign_get_public(*, slug: str) -> Campaign:
    """The published (or closed/won) campaign with this slug; ``Http404`` otherwise."""
    try:
        return campaign_list_public().get(slug=slug)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign") from None
