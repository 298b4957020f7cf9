"""What a campaign lockdown would purge and keep (staff confirmation pages)."""

from __future__ import annotations

from dataclasses import dataclass

from campaigns.models import Campaign
from mailer.models import OutboxMessage
from mailer.selectors import outbox_messages_count
from petitions.models import Consent, Petition, Signature


@dataclass(frozen=True)
class LockdownSummary:
    """What a campaign lockdown would purge and what it keeps, for the confirmation page."""

    petitions: int
    open_petitions: int
    signatures_linked: int  # signatures that still point to a person
    supporters: int  # distinct people among them
    supporters_deleted: int  # of whom signed nothing outside this campaign
    consents: int
    queued_emails: int
    counted: int  # the online count kept, over all petitions
    paper: int


def campaign_lockdown_summary(*, campaign: Campaign) -> LockdownSummary:
    """Counts rows; for a staff confirmation page, never for public pages."""
    petitions = Petition.objects.filter(campaign=campaign)
    linked = Signature.objects.filter(petition__campaign=campaign, supporter__isnull=False)
    people = linked.values("supporter_id").distinct()
    elsewhere = (
        Signature.objects.filter(supporter_id__in=people)
        .exclude(petition__campaign=campaign)
        .values("supporter_id")
        .distinct()
        .count()
    )
    supporters = people.count()
    totals = [(p.status, p.is_open, p.signature_count, p.paper_count) for p in petitions]
    return LockdownSummary(
        petitions=len(totals),
        open_petitions=sum(1 for _, is_open, _, _ in totals if is_open),
        signatures_linked=linked.count(),
        supporters=supporters,
        supporters_deleted=supporters - elsewhere,
        consents=Consent.objects.filter(campaign=campaign).count(),
        queued_emails=outbox_messages_count(
            about_key="petition",
            about_ids=[p.pk for p in petitions],
            statuses=[OutboxMessage.Status.QUEUED],
        ),
        counted=sum(count for _, _, count, _ in totals),
        paper=sum(paper for _, _, _, paper in totals),
    )
