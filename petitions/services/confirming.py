"""Confirming a signature by the link or the typed code of one sign attempt."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.core import signing
from django.db import transaction
from django.utils import timezone

from petitions import tokens
from petitions.consent import UPDATES_WORDING_VERSION
from petitions.models import Consent, Petition, SignAttempt, Signature, Supporter
from petitions.services import addresses
from petitions.services.locks import petition_signing_lock
from petitions.services.processing import sign_attempts_delete
from petitions.services.signing import confirm_max_age


@dataclass(frozen=True)
class SignerReview:
    """What the person holding the mailbox chose on the confirmation page."""

    name: str
    country: str
    display: str
    consent_updates: bool


class ConfirmationInvalidError(Exception):
    """A confirmation token or code is forged, expired, or for another petition."""


def sign_attempt_from_token(*, token: str) -> SignAttempt:
    """The attempt a confirmation link was made for; ``ConfirmationInvalidError`` otherwise.

    Links are signed with ``django.core.signing``, so ``SECRET_KEY_FALLBACKS`` keeps links
    mailed before a key rotation working.
    """
    try:
        public_id = tokens.confirm_token_read(
            token, max_age_seconds=int(confirm_max_age().total_seconds())
        )
        return (
            SignAttempt.objects.select_related("petition__campaign", "signature")
            .filter(signature__isnull=False)
            .get(public_id=uuid.UUID(public_id))
        )
    except (signing.BadSignature, ValueError, SignAttempt.DoesNotExist) as exc:
        # BadSignature covers SignatureExpired; ValueError a payload that is not a UUID.
        raise ConfirmationInvalidError from exc


def sign_attempt_confirm_token(*, sign_attempt: SignAttempt) -> str:
    """A fresh token for the attempt's confirmation page (the typed code leads there)."""
    return tokens.confirm_token_make(str(sign_attempt.public_id))


def sign_attempt_from_code(*, petition: Petition, code: str) -> SignAttempt:
    """The attempt on ``petition`` with this typed code, while its code is valid.

    Codes are unique per petition by a database constraint, so a code names one attempt
    and can never confirm anyone else's signature.
    """
    digest = tokens.confirm_code_digest(tokens.confirm_code_clean(code))
    attempt = (
        SignAttempt.objects.select_related("petition__campaign", "signature")
        .filter(petition=petition, confirm_code_digest=digest, signature__isnull=False)
        .first()
    )
    if attempt is None:
        raise ConfirmationInvalidError
    if attempt.confirmed_at is None and attempt.created_at < timezone.now() - confirm_max_age():
        raise ConfirmationInvalidError
    return attempt


def signature_confirm(*, sign_attempt: SignAttempt, review: SignerReview | None = None) -> bool:
    """Confirm the attempt's pending signature; True if done.

    ``review`` is what the person chose on the confirmation page, where the attempt's
    values were shown to them (the attempt may have been typed by someone else with this
    address): its name, country, display choice and consent replace the attempt's, and
    the consent counts as given on that page, now. Without it the attempt's own values are
    taken (they were shown on the page too). The name and country become the supporter's,
    the display choice and source the signature's, and consent to updates (if given) is
    recorded as confirmed now: whatever someone else typed with this address in another
    attempt never counts. The signature's other attempts are deleted, and this one keeps
    no name or address (it stays until its link expires, so a second click still says
    "confirmed"). Confirming twice is harmless. Invalidated, withdrawn and anonymised
    signatures stay as they are, and nothing is confirmed on a petition locked down or
    anonymised: the petition's signing lock makes a lockdown wait for a confirmation in
    flight, or the confirmation wait for the lockdown and find the attempt gone.
    The count rises when the count task next runs. Once confirmed, the person's address is
    dropped soon after if they gave no consent to updates: the person is marked, and
    ``supporter_emails_drop_due`` drops marked addresses in batches (no task per person).
    """
    now = timezone.now()
    confirmed = 0
    with transaction.atomic():
        petition_signing_lock(petition_id=sign_attempt.petition_id, exclusive=False)
        attempt = (
            SignAttempt.objects.select_for_update()
            .filter(pk=sign_attempt.pk, signature__isnull=False)
            .first()
        )
        petition = Petition.objects.get(pk=sign_attempt.petition_id)
        signature_id = attempt.signature_id if attempt is not None else None
        if attempt is not None and signature_id is not None and petition.anonymised_at is None:
            consent_given_at = attempt.created_at
            if review is not None and attempt.confirmed_at is None:
                _attempt_review_apply(attempt=attempt, review=review)
                consent_given_at = now  # ticked (or left ticked) on the page, by the mailbox
            confirmed = _signature_confirm(
                attempt=attempt,
                signature_id=signature_id,
                now=now,
                consent_given_at=consent_given_at,
            )
            if confirmed:
                supporter_id = Signature.objects.values_list("supporter_id", flat=True).get(
                    pk=signature_id
                )
                addresses.supporter_emails_drop_mark(supporter_ids=[supporter_id])
    if sign_attempt.signature is not None:
        sign_attempt.signature.refresh_from_db(fields=["status", "confirmed_at"])
    return bool(confirmed)


def _attempt_review_apply(*, attempt: SignAttempt, review: SignerReview) -> None:
    """The reviewed values become the attempt's, so the one confirming path records them."""
    attempt.name = review.name
    attempt.country = review.country
    attempt.display = review.display
    attempt.consent_updates = review.consent_updates
    attempt.save(update_fields=["name", "country", "display", "consent_updates"])


def _signature_confirm(
    *, attempt: SignAttempt, signature_id: int, now: datetime, consent_given_at: datetime
) -> int:
    confirmed = Signature.objects.filter(
        pk=signature_id, status=Signature.Status.PENDING, supporter__isnull=False
    ).update(
        status=Signature.Status.CONFIRMED,
        confirmed_at=now,
        name=attempt.name,
        country=attempt.country,
        **attempt.signature_fields(),
    )
    if not confirmed:
        return 0
    signature = Signature.objects.select_related("petition", "supporter").get(pk=signature_id)
    supporter = signature.supporter
    assert supporter is not None
    Supporter.objects.filter(pk=supporter.pk).update(
        name=attempt.name, country=attempt.country, language=attempt.language
    )
    if attempt.consent_updates:
        _consent_record(
            supporter=supporter,
            signature=signature,
            attempt=attempt,
            now=now,
            given_at=consent_given_at,
        )
    # Other attempts with this address (a stranger's, or the person's own earlier ones)
    # can no longer decide anything; their unsent mail goes with them.
    sign_attempts_delete(
        attempts=SignAttempt.objects.filter(signature_id=signature.pk).exclude(pk=attempt.pk)
    )
    SignAttempt.objects.filter(pk=attempt.pk).update(
        confirmed_at=now, email="", name="", confirm_code="", ip_hash="", ip_network_hash=""
    )
    return confirmed


def _consent_record(
    *,
    supporter: Supporter,
    signature: Signature,
    attempt: SignAttempt,
    now: datetime,
    given_at: datetime,
) -> None:
    """Consent to the campaign's updates, given in the attempt and confirmed now.

    A consent the person withdrew earlier stays withdrawn: a ticked box on another
    petition of the campaign is not read as taking that back.
    """
    consent, created = Consent.objects.get_or_create(
        supporter=supporter,
        campaign=signature.petition.campaign,
        purpose=Consent.Purpose.CAMPAIGN_UPDATES,
        defaults={
            "signature": signature,
            "method": Consent.Method.SIGN_FORM,
            "wording_version": UPDATES_WORDING_VERSION,
            "language": attempt.language,
            "given_at": given_at,
            "confirmed_at": now,
        },
    )
    if not created and consent.confirmed_at is None:
        Consent.objects.filter(pk=consent.pk).update(confirmed_at=now)
