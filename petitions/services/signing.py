"""Signing and confirming."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from mailer import services as mailer
from petitions import identity
from petitions.consent import UPDATES_WORDING_VERSION
from petitions.models import Consent, Petition, Signature, Supporter

logger = logging.getLogger(__name__)


class PetitionClosedError(Exception):
    """The petition does not take signatures (closed, past its deadline, or a draft)."""


class ConfirmationInvalidError(Exception):
    """A confirmation token or code is forged, expired, or for another petition."""


@dataclass(frozen=True)
class SignatureSource:
    source: str = ""
    medium: str = ""
    campaign: str = ""


@dataclass(frozen=True)
class SignResult:
    signature: Signature
    created: bool


def signature_create(
    *,
    petition: Petition,
    email: str,
    name: str,
    country: str = "",
    display: str = Signature.Display.HIDDEN,
    consent_updates: bool = False,
    language: str = "en",
    source: SignatureSource | None = None,
) -> SignResult:
    """Record a pending signature and queue its confirmation email.

    When this person (by normalised email) has already signed, nothing stored changes:
    a pending signature gets its confirmation email again, a confirmed one gets an
    "already signed" email. Callers must answer both cases identically, so that the page
    never reveals whether an address has signed. Raises ``PetitionClosedError``.
    """
    if not petition.is_open:
        raise PetitionClosedError
    source = source or SignatureSource()
    with transaction.atomic():
        supporter = _supporter_get_or_create(
            email=email, name=name, country=country, language=language
        )
        signature = Signature(
            petition=petition,
            supporter=supporter,
            display=display,
            language=language,
            source=source.source,
            medium=source.medium,
            source_campaign=source.campaign,
        )
        code = identity.confirm_code_for(str(signature.public_id))
        signature.confirm_code_digest = identity.confirm_code_digest(code)
        try:
            # The savepoint lets the outer transaction carry on after a duplicate.
            with transaction.atomic():
                signature.save(force_insert=True)
        except IntegrityError:
            existing = Signature.objects.select_related("petition", "supporter").get(
                petition=petition, supporter=supporter
            )
            _duplicate_notify(signature=existing, language=language)
            return SignResult(signature=existing, created=False)
        if consent_updates:
            _consent_record(supporter=supporter, signature=signature)
        mailer.signature_confirm_email_queue(signature=signature)
    return SignResult(signature=signature, created=True)


def _supporter_get_or_create(*, email: str, name: str, country: str, language: str) -> Supporter:
    # get_or_create retries the read after an IntegrityError, so two first-time
    # submissions of one address racing each other end up with one supporter.
    supporter, _ = Supporter.objects.get_or_create(
        email_digest=identity.email_digest(email),
        defaults={
            "email": email,
            "email_domain_digest": identity.email_domain_digest(email),
            "name": name,
            "country": country,
            "language": language,
        },
    )
    return supporter


def _duplicate_notify(*, signature: Signature, language: str) -> None:
    """Mail the person again, at most once per interval.

    Without the interval, anyone could flood a stranger's inbox through us by submitting
    their address over and over. The conditional update is the claim: of two concurrent
    duplicates only one sends.
    """
    if signature.status not in (Signature.Status.PENDING, Signature.Status.CONFIRMED):
        return  # invalidated or withdrawn: no mail, and the answer stays the same
    now = timezone.now()
    interval = timedelta(seconds=settings.DUPLICATE_EMAIL_INTERVAL_SECONDS)
    changes: dict[str, object] = {"emailed_at": now}
    if signature.status == Signature.Status.PENDING:
        changes["confirmation_requested_at"] = now
    claimed = Signature.objects.filter(
        pk=signature.pk, status=signature.status, emailed_at__lt=now - interval
    ).update(**changes)
    if not claimed:
        return
    if signature.status == Signature.Status.PENDING:
        mailer.signature_confirm_email_queue(signature=signature, language=language)
    else:
        mailer.signature_already_signed_email_queue(signature=signature, language=language)


def _consent_record(*, supporter: Supporter, signature: Signature) -> None:
    Consent.objects.get_or_create(
        supporter=supporter,
        campaign=signature.petition.campaign,
        purpose=Consent.Purpose.CAMPAIGN_UPDATES,
        defaults={
            "signature": signature,
            "method": Consent.Method.SIGN_FORM,
            "wording_version": UPDATES_WORDING_VERSION,
            "language": signature.language,
        },
    )


def confirm_max_age() -> timedelta:
    return timedelta(days=settings.CONFIRM_MAX_AGE_DAYS)


def signature_from_token(*, token: str) -> Signature:
    """The signature a confirmation link points to; ``ConfirmationInvalidError`` otherwise."""
    try:
        public_id = identity.confirm_token_read(
            token, max_age_seconds=int(confirm_max_age().total_seconds())
        )
        return Signature.objects.select_related("petition__campaign").get(
            public_id=uuid.UUID(public_id)
        )
    except (signing.BadSignature, ValueError, Signature.DoesNotExist) as exc:
        # BadSignature covers SignatureExpired; ValueError a payload that is not a UUID.
        raise ConfirmationInvalidError from exc


def signature_from_code(*, petition: Petition, code: str) -> Signature:
    """The pending or confirmed signature on ``petition`` with this typed code."""
    cleaned = identity.confirm_code_clean(code)
    signature = (
        Signature.objects.select_related("petition__campaign")
        .filter(petition=petition, confirm_code_digest=identity.confirm_code_digest(cleaned))
        .first()
    )
    if signature is None:
        raise ConfirmationInvalidError
    if signature.status == Signature.Status.PENDING and (
        signature.confirmation_requested_at < timezone.now() - confirm_max_age()
    ):
        raise ConfirmationInvalidError
    return signature


def signature_confirm(*, signature: Signature) -> bool:
    """Confirm a pending signature; True if this call confirmed it.

    Confirming twice is harmless. Invalidated or withdrawn signatures stay as they are.
    The count rises when the count task next runs.
    """
    now = timezone.now()
    with transaction.atomic():
        confirmed = Signature.objects.filter(
            pk=signature.pk, status=Signature.Status.PENDING
        ).update(status=Signature.Status.CONFIRMED, confirmed_at=now)
        if confirmed:
            Consent.objects.filter(signature=signature, confirmed_at__isnull=True).update(
                confirmed_at=now
            )
    signature.refresh_from_db(fields=["status", "confirmed_at"])
    return bool(confirmed)
