"""What is stored about a person: reads for their manage page and their data export."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mailer import selectors as mail_selectors
from petitions import emails
from petitions.models import Consent, Petition, Signature, Supporter
from petitions.services.erasure import SUPPORTER_UNLINKED_KEEP
from petitions.services.retention import petition_retention_ends

logger = logging.getLogger(__name__)


def supporter_signatures(*, supporter: Supporter) -> QuerySet[Signature]:
    return (
        Signature.objects.filter(supporter=supporter)
        .select_related("petition__campaign__organisation")
        .order_by("created_at", "pk")
    )


def petition_by_public_id(*, public_id: str) -> Petition | None:
    """A petition by its public id (as found in a URL), or None for anything else."""
    try:
        return Petition.objects.filter(public_id=uuid.UUID(public_id)).first()
    except ValueError:
        return None


def supporter_consents(*, supporter: Supporter) -> QuerySet[Consent]:
    return (
        Consent.objects.filter(supporter=supporter)
        .select_related("campaign__organisation", "signature__petition")
        .order_by("given_at", "pk")
    )


def supporter_consents_resumable(*, supporter: Supporter) -> set[int]:
    """Ids of the campaigns whose updates the person stopped and could hear again now: the
    consent was confirmed, the address is stored, and a confirmed signature of theirs still
    stands in the campaign (otherwise signing again asks anew)."""
    if not supporter.email or supporter.email_dropped_at is not None:
        return set()
    signed = Signature.objects.filter(
        supporter_id=supporter.pk,
        petition__campaign_id=OuterRef("campaign_id"),
        status=Signature.Status.CONFIRMED,
    )
    return set(
        Consent.objects.filter(
            supporter=supporter, withdrawn_at__isnull=False, confirmed_at__isnull=False
        )
        .filter(Exists(signed))
        .values_list("campaign_id", flat=True)
    )


def supporter_retention_notes(*, supporter: Supporter) -> list[str]:
    """What stays stored about the person and until when, in plain sentences (translated).

    The manage page and the data download say the same, from this one list.
    """
    notes = [
        _(
            "Your name, country and language, a keyed hash of your address and the list of "
            "emails we sent you (what and when, never their text) are kept while any "
            "signature of yours stands: until each petition's data is anonymised, a set "
            "time after it closes (see each signature), or until you erase them here."
        ),
        _(
            "Your email address itself is kept, encrypted, only while an email to you is "
            "due or while you agree to updates."
        ),
        _(
            "A signature you withdraw is detached from you at once: the petition keeps an "
            "anonymous row (withdrawn, when it was made, its language and where it came "
            "from) so that its numbers stay true, and nothing in it points to you. The "
            "emails about it are deleted, and so is your consent to the campaign's updates "
            "if you have no other signature there."
        ),
        ngettext(
            "Once none of your signatures is left, the rest is deleted %(days)s day later, "
            "unless you sign again.",
            "Once none of your signatures is left, the rest is deleted %(days)s days later, "
            "unless you sign again.",
            SUPPORTER_UNLINKED_KEEP.days,
        )
        % {"days": SUPPORTER_UNLINKED_KEEP.days},
    ]
    if supporter.unlinked_at is not None:
        ends = supporter.unlinked_at + SUPPORTER_UNLINKED_KEEP
        notes.append(
            _("None of your signatures is left: what is shown here will be deleted on %(date)s.")
            % {"date": date_format(timezone.localtime(ends), "DATE_FORMAT")}
        )
    return notes


def signature_retention_ends(*, signature: Signature) -> datetime | None:
    """When the signature's link to the person ends by retention (None: petition still open)."""
    return petition_retention_ends(petition=signature.petition)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def supporter_data_export(*, supporter: Supporter) -> dict[str, Any]:
    """Everything stored about a supporter, decrypted, as JSON-ready data.

    Keyed hashes are included as stored: they are data about the person too, even though
    nobody can turn them back into an address.
    """
    return {
        "format": "sbor-supporter-export/1",
        "exported_at": _iso(timezone.now()),
        "supporter": {
            "id": str(supporter.public_id),
            "email": supporter.email or None,
            "email_dropped_at": _iso(supporter.email_dropped_at),
            "email_keyed_hash": supporter.email_digest,
            "email_domain_keyed_hash": supporter.email_domain_digest,
            "email_registrable_domain_keyed_hash": supporter.email_registrable_digest,
            "name": supporter.name,
            "country": str(supporter.country or ""),
            "language": supporter.language,
            "created_at": _iso(supporter.created_at),
            "unlinked_at": _iso(supporter.unlinked_at),
        },
        "what_is_kept": supporter_retention_notes(supporter=supporter),
        "signatures": [
            _signature_export(signature) for signature in supporter_signatures(supporter=supporter)
        ],
        "consents": [
            _consent_export(consent) for consent in supporter_consents(supporter=supporter)
        ],
        "emails": [
            {
                "kind": message.kind,
                "status": message.status,
                "language": message.language,
                "created_at": _iso(message.created_at),
                "sent_at": _iso(message.sent_at),
            }
            for message in mail_selectors.outbox_messages_of_recipient(
                recipient_ref=emails.supporter_ref(supporter_id=supporter.pk)
            )
        ]
        + [
            # Updates from campaigns (bulk mail): one delivery row each.
            {
                "kind": delivery.mailing.kind,
                "status": delivery.status,
                "language": delivery.language,
                "created_at": _iso(delivery.mailing.created_at),
                "sent_at": _iso(delivery.sent_at),
            }
            for delivery in mail_selectors.deliveries_of_recipient(
                recipient_ref=emails.supporter_ref(supporter_id=supporter.pk)
            )
        ],
    }


def _signature_export(signature: Signature) -> dict[str, Any]:
    petition = signature.petition
    return {
        "id": str(signature.public_id),
        "petition": petition.title,
        "petition_slug": petition.slug,
        "campaign": petition.campaign.title,
        "organisation": petition.campaign.organisation.name,
        "status": signature.status,
        "invalid_reason": signature.invalid_reason or None,
        "display": signature.display,
        "language": signature.language,
        "created_at": _iso(signature.created_at),
        "confirmed_at": _iso(signature.confirmed_at),
        "source": signature.source,
        "medium": signature.medium,
        "source_campaign": signature.source_campaign,
        "ip_keyed_hash": signature.ip_hash or None,
        "ip_network_keyed_hash": signature.ip_network_hash or None,
        "kept_until": _iso(signature_retention_ends(signature=signature)),
        "kept_after_petition_closes_days": petition.campaign.retention_days,
    }


def _consent_export(consent: Consent) -> dict[str, Any]:
    return {
        "purpose": consent.purpose,
        "campaign": consent.campaign.title,
        "organisation": consent.campaign.organisation.name,
        "method": consent.method,
        "wording_version": consent.wording_version,
        "language": consent.language,
        "given_at": _iso(consent.given_at),
        "confirmed_at": _iso(consent.confirmed_at),
        "withdrawn_at": _iso(consent.withdrawn_at),
    }
