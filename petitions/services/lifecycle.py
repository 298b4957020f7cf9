"""A petition's lifecycle as organisers drive it: draft → open → closed, or won.

Won is closed with a victory: signing stops for both (``Petition.CLOSED_STATUSES``), and
``closed_at`` is stamped when the petition first stopped taking signatures, so retention
counts from then. A closed petition can still be marked won (the target may give in after
the deadline); nothing here leads back to open (staff can reopen one in the admin).

A petition is opened only on a published campaign: a draft campaign's page does not exist
for the public, so its petition would take no signatures while looking open here.

Closing and winning take the petition's signing lock exclusively (``locks``), as retention
and lockdown do: signs and confirmations in flight commit first, and those that come after
find the petition closed. Each acts for a member (``actor``), checks the member's right in
the petition's organisation itself, and records an audit entry in its transaction.
Repeating an action that already happened (a double click) changes nothing and records
nothing.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.access import Action, access_check
from campaigns.models import AuditEntry, Campaign
from campaigns.services.audit import audit_record
from petitions.models import Petition
from petitions.services.editing import PetitionStateError
from petitions.services.locks import petition_signing_lock

logger = logging.getLogger(__name__)


def _row_locked(petition_id: int) -> Petition:
    """The petition as stored now, its row locked until the transaction ends."""
    return Petition.objects.select_for_update().get(pk=petition_id)


def _state_set(petition: Petition, **fields: Any) -> None:
    """Write the state fields only (the count task updates the same row all the time)."""
    Petition.objects.filter(pk=petition.pk).update(**fields)
    for name, value in fields.items():
        setattr(petition, name, value)


def _state_sync(petition: Petition, current: Petition) -> Petition:
    for name in ("status", "closed_at", "anonymised_at"):
        setattr(petition, name, getattr(current, name))
    return petition


def _stopped_at(petition: Petition, now: datetime.datetime) -> datetime.datetime:
    """When signing stopped: now, or the deadline if it passed before the task got to it."""
    if petition.closes_at is not None and petition.closes_at <= now:
        return petition.closes_at
    return now


def _audit(*, actor: Any, petition: Petition, action: AuditEntry.Action, reason: str) -> None:
    campaign = Campaign.objects.select_related("organisation").get(pk=petition.campaign_id)
    audit_record(
        organisation=campaign.organisation,
        actor=actor,
        action=action,
        target=petition.title,
        details={"petition": str(petition.public_id), "reason": reason},
    )


def petition_open(*, actor: Any, petition: Petition) -> Petition:
    """Open a draft petition for signatures (``PetitionStateError`` says why not)."""
    campaign = Campaign.objects.select_related("organisation").get(pk=petition.campaign_id)
    access_check(user=actor, organisation=campaign.organisation, action=Action.CAMPAIGN_PUBLISH)
    with transaction.atomic():
        current = _row_locked(petition.pk)
        if current.status == Petition.Status.OPEN:
            return _state_sync(petition, current)
        if current.status != Petition.Status.DRAFT:
            raise PetitionStateError(_("A closed petition cannot be opened again."))
        if campaign.locked_down_at is not None:
            raise PetitionStateError(_("This campaign was locked down: its petitions stay closed."))
        if campaign.status != Campaign.Status.PUBLISHED:
            raise PetitionStateError(
                _("Publish the campaign first: a petition opens only on a published campaign.")
            )
        if current.closes_at is not None and current.closes_at <= timezone.now():
            raise PetitionStateError(
                _("The deadline has passed. Set a later deadline, or none, then open the petition.")
            )
        _state_set(petition, status=Petition.Status.OPEN, closed_at=None, anonymised_at=None)
        _audit(actor=actor, petition=petition, action=AuditEntry.Action.PETITION_PUBLISH, reason="")
    return petition


def petition_close(*, actor: Any, petition: Petition) -> Petition:
    """Stop an open petition taking signatures, for good."""
    campaign = Campaign.objects.select_related("organisation").get(pk=petition.campaign_id)
    access_check(user=actor, organisation=campaign.organisation, action=Action.CAMPAIGN_PUBLISH)
    with transaction.atomic():
        petition_signing_lock(petition_id=petition.pk, exclusive=True)
        current = _row_locked(petition.pk)
        if current.status == Petition.Status.CLOSED:
            return _state_sync(petition, current)
        if current.status == Petition.Status.WON:
            raise PetitionStateError(_("This petition has won: it is closed already."))
        if current.status == Petition.Status.DRAFT:
            raise PetitionStateError(_("A draft takes no signatures: there is nothing to close."))
        _state_set(
            petition,
            status=Petition.Status.CLOSED,
            closed_at=_stopped_at(current, timezone.now()),
        )
        _audit(
            actor=actor,
            petition=petition,
            action=AuditEntry.Action.PETITION_CLOSE,
            reason="organiser",
        )
    return petition


def petition_win(*, actor: Any, petition: Petition) -> Petition:
    """Mark an open or closed petition as won: it is (or stays) closed, with a victory."""
    campaign = Campaign.objects.select_related("organisation").get(pk=petition.campaign_id)
    access_check(user=actor, organisation=campaign.organisation, action=Action.CAMPAIGN_PUBLISH)
    with transaction.atomic():
        petition_signing_lock(petition_id=petition.pk, exclusive=True)
        current = _row_locked(petition.pk)
        if current.status == Petition.Status.WON:
            return _state_sync(petition, current)
        if current.status == Petition.Status.DRAFT:
            raise PetitionStateError(_("Open the petition before marking it as won."))
        _state_set(
            petition,
            status=Petition.Status.WON,
            closed_at=current.closed_at or _stopped_at(current, timezone.now()),
        )
        _audit(actor=actor, petition=petition, action=AuditEntry.Action.PETITION_WIN, reason="")
    return petition


def petitions_close_due(*, now: datetime.datetime | None = None) -> int:
    """Close open petitions whose deadline has passed; returns how many (periodic task).

    They took no signatures since the deadline already (``Petition.is_open``); this makes
    it their status, stamps ``closed_at`` with the deadline itself (retention counts from
    it) and records it in the audit log, by no one. Safe to run twice or concurrently:
    each petition is re-checked under its locks.
    """
    now = now or timezone.now()
    due = Petition.objects.filter(status=Petition.Status.OPEN, closes_at__lte=now)
    closed = 0
    for petition_id in due.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            petition_signing_lock(petition_id=petition_id, exclusive=True)
            current = _row_locked(petition_id)
            if current.status != Petition.Status.OPEN or not current.closes_at:
                continue
            if current.closes_at > now:
                continue  # the deadline was moved meanwhile
            _state_set(current, status=Petition.Status.CLOSED, closed_at=current.closes_at)
            _audit(
                actor=None,
                petition=current,
                action=AuditEntry.Action.PETITION_CLOSE,
                reason="deadline",
            )
        closed += 1
        logger.info("petition %s closed: its deadline passed", current.public_id)
    return closed
