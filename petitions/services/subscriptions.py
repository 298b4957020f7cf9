"""Unsubscribing from a campaign's updates, from all of them, and undoing it.

Unsubscribing withdraws the person's consent to the campaign's updates
(``Consent.withdrawn_at``): the record of what they agreed to and when stays, with the
moment they took it back. Both the audience of an update and the check made at send
time (``petitions.selectors.audience``) read it, so it takes effect at once, even for an
update that is already going out. "From all" withdraws every consent of theirs. A new
consent given later (a ticked box when signing another campaign) is a new choice and
counts. Once no live consent is left, the address is dropped like any other that no mail
needs (``petitions.services.addresses.supporter_emails_drop``).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from petitions.models import Consent, Signature, Supporter


def _updates_consents(*, supporter: Supporter) -> QuerySet[Consent]:
    return Consent.objects.filter(supporter=supporter, purpose=Consent.Purpose.CAMPAIGN_UPDATES)


def updates_unsubscribe(*, supporter: Supporter, campaign_id: int) -> bool:
    """Stop the campaign's updates to the person; True if that changed anything.

    Safe to call again: an already withdrawn (or missing) consent is left as it is.
    """
    changed = (
        _updates_consents(supporter=supporter)
        .filter(campaign_id=campaign_id, withdrawn_at__isnull=True)
        .update(withdrawn_at=timezone.now())
    )
    return changed > 0


def updates_unsubscribe_all(*, supporter: Supporter) -> int:
    """Stop every campaign's updates to the person; returns how many consents changed."""
    return (
        _updates_consents(supporter=supporter)
        .filter(withdrawn_at__isnull=True)
        .update(withdrawn_at=timezone.now())
    )


def updates_resubscribe(*, supporter: Supporter, campaign_id: int) -> bool:
    """Undo a withdrawal: the person hears from the campaign again; True if it worked.

    Only for the person themself: the manage page (its link is mailed to the address when
    asked for) calls it, never the links in an update, which whoever holds the email (a
    provider, a relay, someone it was forwarded to) can use.

    Only their own confirmed consent is restored, and only while the address is still
    stored and a confirmed signature of theirs stands in the campaign: otherwise there is
    nothing to write to, or no reason left for the consent (signing again asks anew).
    """
    if not supporter.email or supporter.email_dropped_at is not None:
        return False
    signed = Signature.objects.filter(
        supporter_id=OuterRef("supporter_id"),
        petition__campaign_id=OuterRef("campaign_id"),
        status=Signature.Status.CONFIRMED,
    )
    changed = (
        _updates_consents(supporter=supporter)
        .filter(campaign_id=campaign_id, withdrawn_at__isnull=False, confirmed_at__isnull=False)
        .filter(Exists(signed), supporter__email_dropped_at__isnull=True)
        .update(withdrawn_at=None)
    )
    return changed > 0
