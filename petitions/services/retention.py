"""A petition's lifecycle and the end of its signers' personal data: retention and lockdown.

Anonymising keeps every signature row with its status and ``counted`` flag, so the count
and the integrity line stay true, but no row points to a person any more: the supporter
link, the display choice and the IP hashes go, and so do the consents and the emails that
tie a person to the petition. People who signed nothing else are deleted outright.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from mailer import services as mailer
from petitions import emails
from petitions.models import Consent, Petition, SignAttempt, Signature, Supporter
from petitions.selectors import petition_recent_signers_forget
from petitions.services.locks import petition_signing_lock

logger = logging.getLogger(__name__)

_CHUNK = 500  # ids per IN (...) list: SQLite allows 999 parameters per statement


class LockdownConfirmationError(ValueError):
    """The typed confirmation does not match the campaign; nothing was changed."""


def petition_save(*, petition: Petition) -> Petition:
    """Save a petition (staff, in the admin), stamping when it closed or was won.

    Retention counts from that moment. Re-opening clears the stamp; a petition that takes
    signatures again after it was anonymised will be anonymised again once it has been
    closed long enough. The numbers kept by tasks and services (counts, integrity, paper
    total) are not written, so a form loaded a minute ago cannot turn them back.
    """
    if petition.status in Petition.CLOSED_STATUSES:
        petition.closed_at = petition.closed_at or timezone.now()
    else:
        petition.closed_at = None
    if petition.is_open:
        petition.anonymised_at = None
    with transaction.atomic():
        if petition.pk is not None:
            # Signs and confirmations in flight finish first; later ones see the new status.
            petition_signing_lock(petition_id=petition.pk, exclusive=True)
        if petition.pk is None:
            petition.save()
        else:
            petition.save(update_fields=_PETITION_EDITABLE_FIELDS)
    return petition


# Every stored field but the key and those kept by tasks and services.
_PETITION_EDITABLE_FIELDS = [
    field.name
    for field in Petition._meta.concrete_fields
    if field.name
    not in {
        "id",
        "signature_count",
        "count_refreshed_at",
        "integrity",
        "integrity_refreshed_at",
        "paper_count",
    }
]


def petition_closed_moment(*, petition: Petition, now: datetime | None = None) -> datetime | None:
    """When the petition stopped taking signatures: closed by staff or past its deadline."""
    now = now or timezone.now()
    moments = []
    if petition.status in Petition.CLOSED_STATUSES and petition.closed_at is not None:
        moments.append(petition.closed_at)
    if (
        petition.status != Petition.Status.DRAFT
        and petition.closes_at
        and petition.closes_at <= now
    ):
        moments.append(petition.closes_at)
    return min(moments) if moments else None


def petition_retention_ends(*, petition: Petition, now: datetime | None = None) -> datetime | None:
    """When the petition's signers' personal data is due to be anonymised (None: not closed)."""
    closed = petition_closed_moment(petition=petition, now=now)
    if closed is None:
        return None
    return closed + timedelta(days=petition.campaign.retention_days)


def petition_anonymise(*, petition: Petition) -> int:
    """Remove every signer's personal data from a petition; returns how many rows it detached.

    Signatures keep their status and ``counted`` flag; pending ones are detached too, and
    every sign attempt (with the address, name and code it holds) is deleted, so nothing
    can be confirmed any more, and no email about the petition is left queued or on
    record. Signs and confirmations in flight are waited for (the petition's signing
    lock); those that come after find the petition anonymised. Safe to run twice.
    """
    with transaction.atomic():
        petition_signing_lock(petition_id=petition.pk, exclusive=True)
        SignAttempt.objects.filter(petition=petition).delete()
        signatures = Signature.objects.filter(petition=petition)
        supporter_ids = sorted(
            set(signatures.exclude(supporter=None).values_list("supporter_id", flat=True))
        )
        # Queued mail must not go out; sent mail would still say who signed.
        mailer.outbox_messages_delete(about_key="petition", about_ids=[petition.pk])
        Consent.objects.filter(signature__petition=petition).update(signature=None)
        detached = signatures.exclude(supporter=None).count()
        signatures.update(
            supporter=None,
            name="",
            country="",
            display=Signature.Display.HIDDEN,
            ip_hash="",
            ip_network_hash="",
        )
        _supporters_release(supporter_ids=supporter_ids, campaign_id=petition.campaign_id)
        now = timezone.now()
        Petition.objects.filter(pk=petition.pk).update(anonymised_at=now)
    petition.anonymised_at = now
    petition_recent_signers_forget(petition_ids=[petition.pk])
    logger.info("petition %s anonymised: %s signatures detached", petition.public_id, detached)
    return detached


def _supporters_release(*, supporter_ids: list[int], campaign_id: int) -> None:
    """Drop this campaign's consents of people it no longer holds, and people left with none.

    Someone who still signs another (not anonymised) petition of the campaign keeps their
    consent to its updates; the others lose it, and the deliveries of the campaign's
    updates to them; someone with no signature anywhere is deleted, with their consents,
    outbox rows and deliveries.
    """
    for start in range(0, len(supporter_ids), _CHUNK):
        chunk = supporter_ids[start : start + _CHUNK]
        still_in_campaign = set(
            Signature.objects.filter(
                supporter_id__in=chunk, petition__campaign_id=campaign_id
            ).values_list("supporter_id", flat=True)
        )
        released = [pk for pk in chunk if pk not in still_in_campaign]
        Consent.objects.filter(campaign_id=campaign_id, supporter_id__in=released).delete()
        # Their deliveries of the campaign's updates would still say they were on its list
        # (those who signed elsewhere too survive below, with their address).
        emails.supporters_campaign_mail_delete(campaign_id=campaign_id, supporter_ids=released)
        Supporter.objects.filter(pk__in=chunk, signatures__isnull=True).delete()
        # The outbox holds no foreign key: the mail of those just deleted goes here.
        kept = set(Supporter.objects.filter(pk__in=chunk).values_list("pk", flat=True))
        emails.supporters_mail_delete(supporter_ids=[pk for pk in chunk if pk not in kept])


def petitions_retention_apply(*, now: datetime | None = None) -> int:
    """Anonymise petitions closed (or won) longer than their campaign's retention period.

    Returns how many petitions were anonymised. A petition marked closed without a stamp
    (closed before stamps existed, or by a bulk update) starts its period now.
    """
    now = now or timezone.now()
    Petition.objects.filter(status__in=Petition.CLOSED_STATUSES, closed_at__isnull=True).update(
        closed_at=now
    )
    candidates = (
        Petition.objects.filter(anonymised_at__isnull=True)
        .exclude(status=Petition.Status.DRAFT)
        .filter(Q(status__in=Petition.CLOSED_STATUSES) | Q(closes_at__lte=now))
        .select_related("campaign")
        .order_by("pk")
    )
    done = 0
    for petition in candidates:
        ends = petition_retention_ends(petition=petition, now=now)
        if ends is not None and ends <= now:
            petition_anonymise(petition=petition)
            done += 1
    return done


def campaign_lockdown(
    *,
    campaign: Campaign,
    confirm_name: str = "",
    confirm_slug: str | None = None,
    actor: Any = None,
) -> int:
    """Close every petition of a campaign and purge all its signers' personal data at once.

    Irreversible. ``confirm_name`` must be the campaign's title exactly (surrounding spaces
    aside), or, where the confirmation asked for the slug (the workspace), ``confirm_slug``
    its slug; otherwise ``LockdownConfirmationError`` is raised and nothing changes. Counts
    and integrity numbers stay. Returns how many signatures were detached from a person.
    """
    if confirm_slug is not None:
        if not campaign.slug or confirm_slug.strip() != campaign.slug:
            raise LockdownConfirmationError(
                _("The text typed does not match the campaign's slug; nothing was changed.")
            )
    else:
        title = campaign.title.strip()
        if not title or (confirm_name or "").strip() != title:
            raise LockdownConfirmationError(
                _("The name typed does not match the campaign's title; nothing was changed.")
            )
    now = timezone.now()
    with transaction.atomic():
        petitions = Petition.objects.filter(campaign=campaign)
        for petition_id in petitions.order_by("pk").values_list("pk", flat=True):
            # First of all: signs and confirmations in flight commit before anything here
            # (they may hold rows this takes next, e.g. a new consent's campaign key), and
            # are anonymised below; later ones find the petitions closed.
            petition_signing_lock(petition_id=petition_id, exclusive=True)
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        petitions.filter(closed_at__isnull=True).update(closed_at=now)
        # A won petition stays won: it is closed already, and its victory is no secret.
        petitions.exclude(status__in=Petition.CLOSED_STATUSES).update(status=Petition.Status.CLOSED)
        detached = sum(petition_anonymise(petition=p) for p in petitions.order_by("pk"))
        Consent.objects.filter(campaign=campaign).delete()
        # Every delivery of its updates, including to people who left it earlier: no row
        # may say who was on its list (the mailings keep their numbers).
        emails.supporters_campaign_mail_delete(campaign_id=campaign.pk)
        Campaign.objects.filter(pk=campaign.pk).update(locked_down_at=now)
    campaign.locked_down_at = now
    logger.warning(
        "campaign %s locked down by user %s: %s signatures detached",
        campaign.public_id,
        getattr(actor, "pk", None) or "-",
        detached,
    )
    return detached
