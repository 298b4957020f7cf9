"""What a campaign's lifecycle does to its petitions: ending it stops signing, copying it
copies them.

``campaigns`` sits below ``petitions`` and knows nothing of petitions, so its services change
the campaign only; these wrap them and do the petitions' part in the same transaction. The
workspace (and any later caller) ends and copies campaigns through here.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from django.db import transaction

from campaigns.access import Action, access_check
from campaigns.models import AuditEntry, Campaign
from campaigns.services.audit import audit_record
from campaigns.services.editing import campaign_close, campaign_duplicate, campaign_win
from petitions.models import Petition
from petitions.services.retention import petition_save

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

_PETITION_SLUG_MAX_LENGTH = 80  # Petition.slug's max_length


def campaign_petitions_close(*, actor: AbstractBaseUser, campaign: Campaign) -> list[Petition]:
    """Close every open petition of ``campaign``; each is recorded in the audit log.

    ``petition_save`` takes each petition's signing lock, so signs and confirmations in
    flight commit first and later ones find the petition closed (their task deletes the
    attempt). Retention starts counting from now. Drafts stay drafts. The actor needs the
    right to close campaigns in the campaign's organisation (``NotAMember``, ``NotAllowed``).
    """
    access_check(user=actor, organisation=campaign.organisation, action=Action.CAMPAIGN_PUBLISH)
    closed = []
    for petition in campaign.petitions.filter(status=Petition.Status.OPEN).order_by("pk"):
        petition.status = Petition.Status.CLOSED
        petition_save(petition=petition)
        audit_record(
            organisation=campaign.organisation,
            actor=actor,
            action=AuditEntry.Action.PETITION_CLOSE,
            target=petition.title,
            details={
                "petition": str(petition.public_id),
                "campaign": str(campaign.public_id),
                "reason": "campaign_ended",
            },
        )
        closed.append(petition)
    return closed


def campaign_end(*, actor: AbstractBaseUser, campaign: Campaign, won: bool) -> Campaign:
    """Close the campaign (or mark it won) and close its open petitions: signing stops.

    Raises what ``campaign_close`` / ``campaign_win`` raise (a member without the right, a
    status that does not allow it), and then nothing has changed.
    """
    with transaction.atomic():
        end = campaign_win if won else campaign_close
        ended = end(actor=actor, campaign=campaign)
        campaign_petitions_close(actor=actor, campaign=ended)
    return ended


def _petition_slug_free(*, base: str) -> str:
    taken = set(Petition.objects.filter(slug__startswith=base[:40]).values_list("slug", flat=True))
    for number in itertools.count(2):
        suffix = f"-{number}"
        candidate = f"{base[: _PETITION_SLUG_MAX_LENGTH - len(suffix)].rstrip('-')}{suffix}"
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


# What a copy does not take from its petition: its identity and place, its lifecycle, and
# what it collected or was answered. Every other field a member edits is copied, so a field
# added to petitions later is copied too unless it is named here.
_NOT_COPIED = frozenset(
    {
        "campaign",
        "slug",
        "status",
        "closes_at",
        "paper_count",
        "response_text",
        "response_date",
    }
)


def _petition_copy_values(source: Petition) -> dict[str, Any]:
    return {
        field.attname: getattr(source, field.attname)
        for field in Petition._meta.concrete_fields
        if field.editable and not field.primary_key and field.name not in _NOT_COPIED
    }


def petitions_duplicate(
    *, actor: AbstractBaseUser, source_campaign: Campaign, target_campaign: Campaign
) -> list[Petition]:
    """Copy ``source_campaign``'s petitions into ``target_campaign`` as drafts.

    Each copy keeps what the petition asks, of whom, in which language, its goal and
    whether it always asks for a challenge; it gets a fresh address ("<slug>-2", …) and
    none of the original's signatures, counts, paper signatures, deadline, response or
    integrity line. Call it in the transaction that made ``target_campaign``. The actor
    needs the right to copy campaigns in both campaigns' organisations (``NotAMember``,
    ``NotAllowed``).
    """
    for organisation in {source_campaign.organisation, target_campaign.organisation}:
        access_check(user=actor, organisation=organisation, action=Action.CAMPAIGN_PUBLISH)
    copies = []
    for source in source_campaign.petitions.order_by("created_at", "pk"):
        copy = Petition.objects.create(
            **_petition_copy_values(source),
            campaign=target_campaign,
            slug=_petition_slug_free(base=source.slug),
            status=Petition.Status.DRAFT,
        )
        audit_record(
            organisation=target_campaign.organisation,
            actor=actor,
            action=AuditEntry.Action.PETITION_CREATE,
            target=copy.title,
            details={
                "petition": str(copy.public_id),
                "campaign": str(target_campaign.public_id),
                "source": str(source.public_id),
            },
        )
        copies.append(copy)
    return copies


def campaign_duplicate_with_petitions(*, actor: AbstractBaseUser, campaign: Campaign) -> Campaign:
    """A new draft copy of ``campaign`` with draft copies of its petitions, in one go."""
    with transaction.atomic():
        # One copy of a campaign at a time, so that two never pick the same free addresses.
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        copy = campaign_duplicate(actor=actor, campaign=campaign)
        petitions_duplicate(actor=actor, source_campaign=campaign, target_campaign=copy)
    return copy
