"""Changes a person makes on their manage page: how their name is shown, withdrawing a
signature, withdrawing consent to updates. Every change is scoped to the supporter the
manage link was made for (erasing them is petitions.services.erasure).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from mailer import services as mailer
from petitions import emails
from petitions.models import Consent, SignAttempt, Signature, Supporter
from petitions.selectors import petition_recent_signers_forget
from petitions.services import subscriptions
from petitions.services.counts import signature_statuses_change
from petitions.services.manage_links import ManageItemNotFoundError

logger = logging.getLogger(__name__)

# Signatures that stand (or may still stand once confirmed): what a withdrawal acts on.
STANDING_STATUSES = (Signature.Status.PENDING, Signature.Status.CONFIRMED)


def _signature_of(
    *, supporter: Supporter, signature_public_id: uuid.UUID, lock: bool = False
) -> Signature:
    rows = Signature.objects.select_related("petition__campaign")
    if lock:
        rows = rows.select_for_update(of=("self",))
    try:
        return rows.get(supporter=supporter, public_id=signature_public_id)
    except Signature.DoesNotExist:
        raise ManageItemNotFoundError from None


def supporter_signature_get(*, supporter: Supporter, signature_public_id: uuid.UUID) -> Signature:
    """One of the supporter's signatures; ``ManageItemNotFoundError`` if it is not theirs."""
    return _signature_of(supporter=supporter, signature_public_id=signature_public_id)


def signature_display_change(
    *, supporter: Supporter, signature_public_id: uuid.UUID, display: str
) -> Signature:
    """Change how the supporter's name is shown on one of their signatures.

    Raises ``ManageItemNotFoundError`` if the signature is not theirs and ``ValueError``
    for a display that does not exist.
    """
    if display not in Signature.Display.values:
        raise ValueError(f"unknown display {display!r}")
    signature = _signature_of(supporter=supporter, signature_public_id=signature_public_id)
    Signature.objects.filter(pk=signature.pk).update(display=display)
    signature.display = display
    petition_recent_signers_forget(petition_ids=[signature.petition_id])
    return signature


def signature_withdraw(*, supporter: Supporter, signature_public_id: uuid.UUID) -> Signature:
    """Withdraw one of the supporter's signatures: it leaves the count and the person at once.

    A pending or confirmed signature becomes "withdrawn" and, in the same transaction, is
    detached: the row stays so that the count and the integrity line stay true, but with
    no supporter, name hidden, IP hashes emptied, its sign attempts (typed address, name,
    code) deleted; the emails about it are deleted (a queued one is not sent) and no
    consent points to it any more. When
    no other standing signature of theirs remains in that campaign, their consent to the
    campaign's updates is deleted too: they agreed to it by signing there, and a record
    of it would tie them to the campaign they left, and so are the deliveries of the
    campaign's updates to them. If no signature of theirs remains at
    all, ``Supporter.unlinked_at`` starts the time after which they are deleted
    (``supporters_unlinked_delete``). An invalidated signature was never counted and is
    left as it is. Raises ``ManageItemNotFoundError`` if the signature is not theirs.
    """
    with transaction.atomic():
        signature = _signature_of(
            supporter=supporter, signature_public_id=signature_public_id, lock=True
        )
        if signature.status not in STANDING_STATUSES:
            return signature
        Consent.objects.filter(signature=signature).update(signature=None)
        mailer.outbox_messages_delete(about_key="signature", about_ids=[signature.pk])
        # Its attempts hold the address and name as typed, and their links could confirm it.
        SignAttempt.objects.filter(signature=signature).delete()
        signature_statuses_change(
            signature_ids=[signature.pk],
            status=Signature.Status.WITHDRAWN,
            supporter=None,
            name="",
            country="",
            display=Signature.Display.HIDDEN,
            ip_hash="",
            ip_network_hash="",
        )
        campaign = signature.petition.campaign
        still_signed = Signature.objects.filter(
            supporter=supporter, petition__campaign=campaign, status__in=STANDING_STATUSES
        ).exists()
        if not still_signed:
            Consent.objects.filter(supporter=supporter, campaign=campaign).delete()
            emails.supporters_campaign_mail_delete(
                campaign_id=campaign.pk, supporter_ids=[supporter.pk]
            )
        if not Signature.objects.filter(supporter=supporter).exists():
            Supporter.objects.filter(pk=supporter.pk).update(unlinked_at=timezone.now())
    signature.refresh_from_db(fields=["status", "counted", "supporter", "display"])
    petition_recent_signers_forget(petition_ids=[signature.petition_id])
    return signature


def _consents_withdraw(*, supporter: Supporter, campaign_ids: Iterable[int]) -> int:
    return Consent.objects.filter(
        supporter=supporter, campaign_id__in=list(campaign_ids), withdrawn_at__isnull=True
    ).update(withdrawn_at=timezone.now())


def consent_withdraw(*, supporter: Supporter, campaign_public_id: uuid.UUID) -> int:
    """Withdraw the supporter's consent to updates about one campaign.

    Returns how many consents changed (0 if already withdrawn). Raises
    ``ManageItemNotFoundError`` if they never gave one for that campaign.
    """
    consents = Consent.objects.filter(supporter=supporter, campaign__public_id=campaign_public_id)
    campaign_ids = list(consents.values_list("campaign_id", flat=True))
    if not campaign_ids:
        raise ManageItemNotFoundError
    return _consents_withdraw(supporter=supporter, campaign_ids=campaign_ids)


def consent_resume(*, supporter: Supporter, campaign_public_id: uuid.UUID) -> bool:
    """Hear about one campaign again, from the manage page; True if it worked.

    The manage link was mailed to the person's address when they asked for it, so this is
    the person's own choice (the links in an update's email, which anyone holding the email
    may use, only ever stop mail). False when the consent cannot come back: the address is
    not stored, or no confirmed signature of theirs stands in the campaign. Raises
    ``ManageItemNotFoundError`` if they never gave one for that campaign.
    """
    campaign_ids = list(
        Consent.objects.filter(
            supporter=supporter, campaign__public_id=campaign_public_id
        ).values_list("campaign_id", flat=True)
    )
    if not campaign_ids:
        raise ManageItemNotFoundError
    return subscriptions.updates_resubscribe(supporter=supporter, campaign_id=campaign_ids[0])
