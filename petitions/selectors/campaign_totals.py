"""Reads for the workspace's campaign pages: an organisation's campaigns with their totals,
and one campaign's petitions. Totals add the petitions' stored counts; no signature row is
counted."""

from __future__ import annotations

from django.db.models import BigIntegerField, Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from campaigns.models import Campaign, Organisation
from petitions.models import Petition


def campaign_list_with_totals(*, organisation: Organisation) -> QuerySet[Campaign]:
    """The organisation's campaigns, most recently changed first, each annotated with
    ``petitions_total``, ``petitions_open`` and ``signatures_total`` (online, confirmed)."""
    return organisation.campaigns.annotate(
        petitions_total=Count("petitions"),
        petitions_open=Count("petitions", filter=Q(petitions__status=Petition.Status.OPEN)),
        signatures_total=Coalesce(
            Sum("petitions__signature_count"), 0, output_field=BigIntegerField()
        ),
    ).order_by("-updated_at", "-pk")


def petition_list_for_campaign(*, campaign: Campaign) -> QuerySet[Petition]:
    """Every petition of the campaign, drafts included, oldest first."""
    return campaign.petitions.order_by("created_at", "pk")
