"""Reads for updates: a campaign's updates, their progress, the audience, outcome proposals."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from django.db.models import QuerySet

from campaigns.models import Campaign
from mailer import selectors as mail_selectors
from mailer.models import Delivery
from petitions.models import Petition
from petitions.selectors import audience
from updates.models import Update
from updates.services.outcomes import petition_outcomes


@dataclass(frozen=True)
class UpdateProgress:
    """Where an update's sending stands, from its mailing's rows (one GROUP BY).

    ``sent`` counts everything handed to the provider (including what it later reported
    bounced or complained about); ``skipped`` are people who unsubscribed or lost their
    address after planning; ``unknown`` were being handed over when a worker died (never
    sent twice).
    """

    status: str
    planning: bool
    finished: bool
    total: int = 0
    queued: int = 0
    sent: int = 0
    failed: int = 0
    bounced: int = 0
    complained: int = 0
    suppressed: int = 0
    skipped: int = 0
    cancelled: int = 0
    unknown: int = 0

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def updates_of_campaign(*, campaign: Campaign) -> QuerySet[Update]:
    return Update.objects.filter(campaign=campaign).select_related("mailing", "petition")


def update_of_campaign(*, campaign: Campaign, public_id: uuid.UUID) -> Update | None:
    return (
        Update.objects.filter(campaign=campaign, public_id=public_id)
        .select_related("campaign__organisation", "mailing", "created_by", "petition")
        .first()
    )


def _progress(update: Update, counts: dict[str, int] | None) -> UpdateProgress:
    planning = update.status == Update.Status.SENDING and update.planned_at is None
    if counts is None:
        return UpdateProgress(status=update.status, planning=planning, finished=False)
    progress = mail_selectors.MailingProgress(counts=counts)
    finished = update.status in (Update.Status.SENT, Update.Status.CANCELLED) or (
        update.status == Update.Status.SENDING and not planning and progress.finished
    )
    return UpdateProgress(
        status=update.status,
        planning=planning,
        finished=finished,
        total=progress.total,
        queued=progress.queued,
        sent=progress.sent,
        failed=progress.failed,
        bounced=progress.bounced,
        complained=progress.complained,
        suppressed=counts.get(Delivery.Status.SUPPRESSED, 0),
        skipped=counts.get(Delivery.Status.SKIPPED, 0),
        cancelled=counts.get(Delivery.Status.CANCELLED, 0),
        unknown=counts.get(Delivery.Status.UNKNOWN, 0),
    )


def updates_progress(*, updates: Iterable[Update]) -> dict[int, UpdateProgress]:
    """Progress of several updates (a list page) in one query; keyed by update id."""
    updates = list(updates)
    mailing_ids = [update.mailing_id for update in updates if update.mailing_id is not None]
    progress = mail_selectors.mailings_progress(mailing_ids=mailing_ids) if mailing_ids else {}
    return {
        update.pk: _progress(
            update,
            progress[update.mailing_id].counts if update.mailing_id in progress else None,
        )
        for update in updates
    }


def update_progress(*, update: Update) -> UpdateProgress:
    return updates_progress(updates=[update])[update.pk]


@dataclass(frozen=True)
class AudienceSummary:
    size: int
    languages: list[str]


def update_audience_summary(*, campaign: Campaign) -> AudienceSummary:
    """How many people an update would reach now, and in which languages (two queries)."""
    size = audience.update_audience_count(campaign_id=campaign.pk)
    languages = audience.update_audience_languages(campaign_id=campaign.pk) if size else []
    return AudienceSummary(size=size, languages=languages)


@dataclass(frozen=True)
class OutcomeProposal:
    petition: Petition
    origin: str

    @property
    def label(self) -> str:
        return str(Update.Origin(self.origin).label)


def update_outcome_proposals(*, campaign: Campaign) -> list[OutcomeProposal]:
    """Outcomes of the campaign's petitions that no update tells supporters about yet."""
    petitions = list(
        campaign.petitions.exclude(status=Petition.Status.DRAFT).order_by("created_at")
    )
    told = set(
        Update.objects.filter(campaign=campaign)
        .exclude(origin=Update.Origin.MANUAL)
        .values_list("petition_id", "origin")
    )
    return [
        OutcomeProposal(petition=petition, origin=origin)
        for petition in petitions
        for origin in petition_outcomes(petition)
        if (petition.pk, origin) not in told
    ]
