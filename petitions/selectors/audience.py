"""Who hears from a campaign: the audience of its updates, and each recipient at send time.

The person stays in ``petitions``, so the ``updates`` app asks here. Someone is in a
campaign's audience when all of these hold:

- they have a confirmed signature on a petition of the campaign;
- their consent to the campaign's updates is confirmed and not withdrawn (unsubscribing,
  from one campaign or from all, withdraws it: ``petitions.services.subscriptions``);
- their address is still stored (not dropped; erased people no longer exist);
- their address is not on the mailer's suppression list (hard bounces, complaints).

The walk starts from the campaign's live consents (one per person and campaign, so
someone who signed several petitions is there once), by supporter id, with a partial index
on exactly those consents: each chunk costs the same however large the audience.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet

from mailer.models import Suppression
from petitions.models import Consent, Petition, Signature, Supporter


@dataclass(frozen=True)
class AudienceMember:
    """One person to plan a delivery for: no address, only what the mailer needs."""

    supporter_id: int
    email_digest: str
    language: str


@dataclass(frozen=True)
class UpdateRecipient:
    """One person an update goes to, read at send time."""

    supporter_id: int
    supporter_public_id: uuid.UUID
    address: str
    language: str
    # The petition of the campaign they signed (the first they confirmed): the email says
    # why they get it.
    petition_title: str


def _live_consents(*, campaign_id: int) -> QuerySet[Consent]:
    return Consent.objects.filter(
        campaign_id=campaign_id,
        purpose=Consent.Purpose.CAMPAIGN_UPDATES,
        confirmed_at__isnull=False,
        withdrawn_at__isnull=True,
    )


def _petition_ids(campaign_id: int) -> list[int]:
    # The campaign's few petitions, by id: each "signed here?" check is then a look-up in
    # the (petition, supporter) unique index, whatever the planner thinks of the join.
    return list(Petition.objects.filter(campaign_id=campaign_id).values_list("pk", flat=True))


def _audience_consents(*, campaign_id: int) -> QuerySet[Consent]:
    signed = Signature.objects.filter(
        supporter_id=OuterRef("supporter_id"),
        petition_id__in=_petition_ids(campaign_id),
        status=Signature.Status.CONFIRMED,
    )
    return (
        _live_consents(campaign_id=campaign_id)
        .filter(supporter__email_dropped_at__isnull=True)
        .filter(Exists(signed))
        .exclude(
            Exists(Suppression.objects.filter(address_digest=OuterRef("supporter__email_digest")))
        )
    )


def update_audience_count(*, campaign_id: int) -> int:
    """How many people an update to the campaign would reach now (one query)."""
    return _audience_consents(campaign_id=campaign_id).count()


def update_audience_languages(*, campaign_id: int) -> list[str]:
    """The languages of the campaign's audience, sorted (previews show each)."""
    rows = (
        _audience_consents(campaign_id=campaign_id)
        .values_list("supporter__language", flat=True)
        .distinct()
    )
    return sorted(set(rows))


def update_audience_chunks(*, campaign_id: int, after_id: int, size: int) -> list[AudienceMember]:
    """The next ``size`` people of the audience with a supporter id above ``after_id``.

    Keyset pagination: pass the last ``supporter_id`` of a chunk as the next ``after_id``
    (0 to start); an empty list means the walk is over. Memory stays one chunk whatever
    the audience's size, and a walk that stops half-way resumes where it stopped.
    """
    if size < 1:
        raise ValueError("a chunk holds at least one person")
    rows = (
        _audience_consents(campaign_id=campaign_id)
        .filter(supporter_id__gt=after_id)
        .order_by("supporter_id")
        .values_list("supporter_id", "supporter__email_digest", "supporter__language")[:size]
    )
    return [
        AudienceMember(supporter_id=pk, email_digest=digest, language=language)
        for pk, digest, language in rows
    ]


def update_recipients(
    *, campaign_id: int, supporter_ids: Collection[int]
) -> dict[int, UpdateRecipient]:
    """The people among ``supporter_ids`` who may still get the campaign's update, by id.

    Read again at send time (four small queries for a whole batch): someone who unsubscribed,
    withdrew their signature or was erased since the update was planned is not in the
    answer, and neither is anyone whose address was dropped. The suppression list is the
    mailer's to check.
    """
    # Three small queries, each bounded by the batch's ids (predictable plans at any size).
    ids = list(supporter_ids)
    consenting = set(
        _live_consents(campaign_id=campaign_id)
        .filter(supporter_id__in=ids)
        .values_list("supporter_id", flat=True)
    )
    titles = _signed_petition_titles(campaign_id=campaign_id, supporter_ids=consenting)
    rows = Supporter.objects.filter(
        pk__in=[pk for pk in consenting if pk in titles], email_dropped_at__isnull=True
    ).values_list("pk", "public_id", "email", "language")
    return {
        pk: UpdateRecipient(
            supporter_id=pk,
            supporter_public_id=public_id,
            address=address,
            language=language,
            petition_title=titles[pk],
        )
        for pk, public_id, address, language in rows
        if address
    }


def _signed_petition_titles(*, campaign_id: int, supporter_ids: Collection[int]) -> dict[int, str]:
    rows = (
        Signature.objects.filter(
            supporter_id__in=list(supporter_ids),
            petition_id__in=_petition_ids(campaign_id),
            status=Signature.Status.CONFIRMED,
        )
        .order_by("supporter_id", "confirmed_at", "pk")
        .values_list("supporter_id", "petition__title")
    )
    titles: dict[int, str] = {}
    for supporter_id, title in rows:
        titles.setdefault(supporter_id, title)
    return titles


# --- One person's subscriptions (the preferences page) -------------------------------------


@dataclass(frozen=True)
class Subscription:
    """One campaign a person agreed to hear from, and whether they still do."""

    campaign_id: int
    campaign_public_id: uuid.UUID
    campaign_title: str
    active: bool


def supporter_by_public_id(*, public_id: uuid.UUID) -> Supporter | None:
    return Supporter.objects.filter(public_id=public_id).first()


def supporter_subscriptions(*, supporter: Supporter, organisation_id: int) -> list[Subscription]:
    """The person's consents to updates from one organisation's campaigns, by campaign title.

    Only one organisation's: a link in an email from that organisation must not show
    which other organisations' campaigns the person supports.
    """
    consents = (
        Consent.objects.filter(
            supporter=supporter,
            purpose=Consent.Purpose.CAMPAIGN_UPDATES,
            confirmed_at__isnull=False,
            campaign__organisation_id=organisation_id,
        )
        .select_related("campaign")
        .order_by("campaign__title", "pk")
    )
    return [
        Subscription(
            campaign_id=consent.campaign_id,
            campaign_public_id=consent.campaign.public_id,
            campaign_title=consent.campaign.title,
            active=consent.withdrawn_at is None,
        )
        for consent in consents
    ]
