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
from petitions.models import AUTOMATIC_REASONS, Consent, Petition, Signature, Supporter
from petitions.services import privacy
from trust.iphash import ip_hashes
from trust.services import sign_attempt_assess

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
    client_ip: str | None = None,
    automated: str = "",
) -> SignResult:
    """Record a pending signature and queue its confirmation email.

    When this person (by normalised email) has already signed, nothing stored changes:
    a pending signature gets its confirmation email again, a confirmed one gets an
    "already signed" email. Callers must answer both cases identically, so that the page
    never reveals whether an address has signed. Raises ``PetitionClosedError``.

    ``client_ip`` (from ``trust.network.client_ip``) is checked against the block rules
    and rate limits and stored only as keyed hashes; ``None`` (no request behind the
    call) skips the IP checks. A non-empty ``automated`` says the caller caught a script
    (e.g. "honeypot"). An attempt found fraudulent is still stored, but invalidated with
    its reason, never counted, mailed or given a consent record, and the result looks
    exactly like a success, so a script learns nothing. A later clean attempt by the same
    person re-opens a signature invalidated automatically (see ``AUTOMATIC_REASONS``).
    """
    if not petition.is_open:
        raise PetitionClosedError
    source = source or SignatureSource()
    reason, detail = _verdict(
        petition=petition, email=email, client_ip=client_ip, automated=automated
    )
    # Outside the transaction: a new IP-hash key made here must outlive a rollback.
    ip_hash, ip_network_hash = ip_hashes(ip=client_ip or "")
    with transaction.atomic():
        supporter = _supporter_get_or_create(
            email=email, name=name, country=country, language=language
        )
        if not reason:
            # A returning signer whose address was dropped (no consent) typed it again:
            # keep it until the mail this attempt causes has gone; the drop task removes it.
            privacy.supporter_email_restore(supporter=supporter, email=email)
        signature = Signature(
            petition=petition,
            supporter=supporter,
            display=display,
            language=language,
            source=source.source,
            medium=source.medium,
            source_campaign=source.campaign,
            ip_hash=ip_hash,
            ip_network_hash=ip_network_hash,
        )
        if reason:
            signature.status = Signature.Status.INVALIDATED
            signature.invalid_reason = reason
            signature.invalid_detail = detail[:32]
            signature.invalidated_at = timezone.now()
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
            if reason:
                # A flagged attempt never mails anyone, not even the person it names.
                return SignResult(signature=existing, created=False)
            if _signature_reopen(
                signature=existing,
                display=display,
                language=language,
                ip_hash=ip_hash,
                ip_network_hash=ip_network_hash,
            ):
                if consent_updates:
                    _consent_record(supporter=supporter, signature=existing)
                mailer.signature_confirm_email_queue(signature=existing, language=language)
                return SignResult(signature=existing, created=False)
            _duplicate_notify(signature=existing, language=language)
            return SignResult(signature=existing, created=False)
        if reason:
            return SignResult(signature=signature, created=True)
        if consent_updates:
            _consent_record(supporter=supporter, signature=signature)
        mailer.signature_confirm_email_queue(signature=signature)
    return SignResult(signature=signature, created=True)


def _verdict(
    *, petition: Petition, email: str, client_ip: str | None, automated: str
) -> tuple[str, str]:
    """(invalid reason, detail) for this attempt, or ("", "") when it looks genuine.

    The attempt is counted against the rate limits even when the caller already found it
    automated, so that a script cannot spend the limits without being counted.
    """
    reason, detail = sign_attempt_assess(petition_id=petition.pk, ip=client_ip or "", email=email)
    if automated:
        return str(Signature.InvalidReason.AUTOMATED), automated
    return reason, detail


def _signature_reopen(
    *, signature: Signature, display: str, language: str, ip_hash: str, ip_network_hash: str
) -> bool:
    """Turn a signature invalidated automatically back into a pending one; True if done.

    A real person can be caught by a limit meant for a script (a shared office or mobile
    IP, a busy hour): when they come back with a clean attempt, their signature gets a
    chance again, with this attempt's choices. Staff decisions (reason "staff", or any
    signature in a staff invalidation batch) are never undone here. The conditional
    update is the claim: of two concurrent attempts only one re-opens and mails; the
    other finds a pending signature and follows the duplicate rules.
    """
    if signature.status != Signature.Status.INVALIDATED:
        return False
    if signature.invalid_reason not in AUTOMATIC_REASONS or signature.invalidation_id:
        return False
    now = timezone.now()
    reopened = Signature.objects.filter(
        pk=signature.pk,
        status=Signature.Status.INVALIDATED,
        invalid_reason__in=list(AUTOMATIC_REASONS),
        # Part of a staff invalidation by criteria, whatever its reason: staff decide.
        invalidation__isnull=True,
    ).update(
        status=Signature.Status.PENDING,
        invalid_reason="",
        invalid_detail="",
        invalidated_at=None,
        confirmed_at=None,
        counted=False,
        display=display,
        language=language,
        ip_hash=ip_hash,
        ip_network_hash=ip_network_hash,
        confirmation_requested_at=now,
        emailed_at=now,
    )
    signature.refresh_from_db()
    return bool(reopened)


def _supporter_get_or_create(*, email: str, name: str, country: str, language: str) -> Supporter:
    # get_or_create retries the read after an IntegrityError, so two first-time
    # submissions of one address racing each other end up with one supporter. The row
    # lock (PostgreSQL) holds off the address-drop task until this transaction, and the
    # mail it queues, are committed: the task's conditions then see the queued mail.
    supporter, _ = Supporter.objects.select_for_update().get_or_create(
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

    Confirming twice is harmless. Invalidated or withdrawn signatures stay as they are,
    and so do anonymised ones (retention or lockdown detached them from any person, so an
    old emailed link must not add them to a closed petition's count).
    The count rises when the count task next runs. Once confirmed, the person's address is
    dropped soon after if they gave no consent to updates (``supporter_emails_drop_due``).
    """
    now = timezone.now()
    with transaction.atomic():
        confirmed = Signature.objects.filter(
            pk=signature.pk, status=Signature.Status.PENDING, supporter__isnull=False
        ).update(status=Signature.Status.CONFIRMED, confirmed_at=now)
        if confirmed:
            Consent.objects.filter(signature=signature, confirmed_at__isnull=True).update(
                confirmed_at=now
            )
            privacy.supporter_emails_drop_mark(supporter_ids=[signature.supporter_id])
    signature.refresh_from_db(fields=["status", "confirmed_at"])
    return bool(confirmed)
