"""A signer's own data, and keeping what is stored about signers small and encrypted.

Self-service ("manage my signature"): a signed link, sent on request, opens a page where
a person sees what is stored about them, changes how their name is shown, withdraws a
signature or their consent to updates, downloads their data or erases it. Every change
here is scoped to the supporter the link was made for.

Operations: dropping plaintext addresses that no mail needs any more, and re-encrypting
every stored name and address under the current encryption key.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, TextField, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from common.tasks import enqueue_on_commit
from mailer import selectors as mail_selectors
from mailer import services as mailer
from petitions import emails, tokens
from petitions.models import Consent, ManageLinkRequest, Petition, SignAttempt, Signature, Supporter
from petitions.selectors import petition_recent_signers_forget
from petitions.services.counts import signature_statuses_change
from petitions.services.retention import petition_retention_ends
from trust import crypto, identity
from trust.services import manage_link_request_limit

logger = logging.getLogger(__name__)

# A manage-link request is left this long to the task enqueued with it before the sweep
# answers it, and dropped unanswered once this old.
MANAGE_LINK_REQUEST_GRACE = timedelta(minutes=1)
MANAGE_LINK_REQUEST_STALE = timedelta(hours=1)
# Someone whose last signature was withdrawn is deleted this long afterwards (time to look
# at the manage page or download their data), unless they sign again.
SUPPORTER_UNLINKED_KEEP = timedelta(days=7)
# Signatures that stand (or may still stand once confirmed): what a withdrawal acts on.
_STANDING = (Signature.Status.PENDING, Signature.Status.CONFIRMED)
# The encrypted columns of the models that hold names, addresses and codes.
_ENCRYPTED_FIELDS = ("email", "name")
_ATTEMPT_ENCRYPTED_FIELDS = ("email", "name", "confirm_code")


class ManageLinkInvalidError(Exception):
    """A manage token is forged or damaged, or its supporter no longer exists."""


class ManageLinkExpiredError(ManageLinkInvalidError):
    """A genuine manage token, but older than its lifetime: the person can ask for another."""


class ManageItemNotFoundError(Exception):
    """The signature or campaign is not the supporter's own (or does not exist)."""


class ManageLinkRateLimitedError(Exception):
    """Too many requests for a manage link from one client; ``scope`` is "ip"."""

    def __init__(self, scope: str) -> None:
        super().__init__(scope)
        self.scope = scope


# --- The manage link ----------------------------------------------------------------------


def manage_link_request(*, email: str, language: str, ip: str) -> ManageLinkRequest:
    """Take a request for a manage link: count it, record it, and leave the rest to a task.

    The work done here is the same for every address (two rate-limit hits, one row, one
    task), so neither the answer nor the time it takes tells whether the address has
    signed; ``manage_link_request_process`` then mails the link if it has. Raises
    ``ManageLinkRateLimitedError`` past the limit per client (``RATE_MANAGE_IP_PER_HOUR``),
    which depends only on the requester.

    Past the limit per address (``RATE_MANAGE_ADDRESS_PER_HOUR``) the request is taken like
    any other, with the same row and task, but the row holds no address, so nobody is
    mailed. That limit is shared by everyone who types the address: an answer of its own
    would tell a stranger whether the owner asked for a link this hour. The owner loses
    nothing: the first request of the hour has mailed them a link already.
    """
    from petitions import tasks  # the tasks module imports the services

    exceeded = manage_link_request_limit(ip=ip, email=email)
    if exceeded == "ip":
        raise ManageLinkRateLimitedError(exceeded)
    recorded = "" if exceeded == "address" else email
    with transaction.atomic():
        request = ManageLinkRequest.objects.create(email=recorded, language=language)
        enqueue_on_commit(tasks.manage_link_request_process, request.pk)
    return request


def manage_link_request_process(*, request_id: int) -> bool:
    """Answer one manage-link request; True if a link was queued. Safe to run twice.

    Deleting the row is the claim: of two runs only the one whose DELETE removed it goes
    on (on PostgreSQL the other waits for that transaction, then finds nothing). The row
    goes whatever the outcome; a request older than ``MANAGE_LINK_REQUEST_STALE`` is
    dropped unanswered, since the person has stopped waiting for it.
    """
    with transaction.atomic():
        request = ManageLinkRequest.objects.filter(pk=request_id).first()
        if request is None:
            return False
        if not ManageLinkRequest.objects.filter(pk=request.pk).delete()[0]:
            return False
        if request.created_at < timezone.now() - MANAGE_LINK_REQUEST_STALE:
            return False
        if not request.email:  # taken past the limit per address: answered, not mailed
            return False
        return _manage_link_send(email=request.email, language=request.language)


def manage_link_requests_sweep(*, limit: int = 500) -> int:
    """Answer requests whose task was lost, delete those too old to answer; returns how
    many were answered (mailed or not).

    Rows younger than ``MANAGE_LINK_REQUEST_GRACE`` are left to the task enqueued when they
    were written. Runs every minute (``CELERY_BEAT_SCHEDULE``).
    """
    now = timezone.now()
    ManageLinkRequest.objects.filter(created_at__lt=now - MANAGE_LINK_REQUEST_STALE).delete()
    ids = list(
        ManageLinkRequest.objects.filter(created_at__lt=now - MANAGE_LINK_REQUEST_GRACE)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for request_id in ids:
        manage_link_request_process(request_id=request_id)
    return len(ids)


def _manage_link_send(*, email: str, language: str) -> bool:
    """Mail a manage link to the supporter with this address, if there is one and the
    interval allows; True if one was queued. Call inside a transaction.

    At most one link per supporter per ``MANAGE_LINK_INTERVAL_SECONDS``, however many
    requests got past the limits: the form cannot be used to flood an inbox. An address
    that was dropped is stored again from what was typed (it has the same keyed hash, so
    it is the same mailbox); ``supporter_emails_drop`` removes it again once the mail has
    gone.
    """
    digest = identity.email_digest(email)
    # The row lock makes "was a link sent lately?" and "send one" a single step, so
    # simultaneous requests mail once.
    supporter = Supporter.objects.select_for_update().filter(email_digest=digest).first()
    if supporter is None or _manage_link_sent_recently(supporter=supporter):
        return False
    supporter_email_restore(supporter=supporter, email=email)
    emails.signature_manage_link_email_queue(supporter=supporter, language=language)
    return True


def _manage_link_sent_recently(*, supporter: Supporter) -> bool:
    interval = timedelta(seconds=settings.MANAGE_LINK_INTERVAL_SECONDS)
    if not interval:
        return False
    last = mail_selectors.outbox_message_last_created_at(
        recipient_ref=emails.supporter_ref(supporter_id=supporter.pk),
        kind=emails.SIGNATURE_MANAGE_LINK,
    )
    return last is not None and last > timezone.now() - interval


def supporter_email_restore(*, supporter: Supporter, email: str) -> bool:
    """Store ``email`` again for a supporter whose address was dropped; True if it was.

    Only an address with the supporter's own keyed hash is taken (``ValueError``
    otherwise). A stored address is left as it is: mail goes to the address as first typed.
    """
    if supporter.email:
        return False
    if identity.email_digest(email) != supporter.email_digest:
        raise ValueError("the address does not belong to this supporter")
    registrable = identity.email_registrable_digest(email)
    Supporter.objects.filter(pk=supporter.pk).update(
        email=email, email_dropped_at=None, email_registrable_digest=registrable
    )
    supporter.email = email
    supporter.email_registrable_digest = registrable
    supporter.email_dropped_at = None
    return True


def manage_token_make(*, supporter: Supporter) -> str:
    return tokens.manage_token_make(str(supporter.public_id))


def manage_token_read(*, token: str) -> Supporter:
    """The supporter a manage link was made for.

    Raises ``ManageLinkExpiredError`` for a genuine but old token and
    ``ManageLinkInvalidError`` for anything else (forged, damaged, supporter erased).
    """
    try:
        public_id = tokens.manage_token_read(
            token, max_age_seconds=tokens.MANAGE_TOKEN_MAX_AGE_SECONDS
        )
    except signing.SignatureExpired as exc:
        raise ManageLinkExpiredError from exc
    except signing.BadSignature as exc:
        raise ManageLinkInvalidError from exc
    try:
        return Supporter.objects.get(public_id=uuid.UUID(public_id))
    except (ValueError, Supporter.DoesNotExist) as exc:
        raise ManageLinkInvalidError from exc


# --- What is stored (reads for the manage page and the export) ---------------------------


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


# --- Changes a supporter makes ------------------------------------------------------------


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
    of it would tie them to the campaign they left. If no signature of theirs remains at
    all, ``Supporter.unlinked_at`` starts the time after which they are deleted
    (``supporters_unlinked_delete``). An invalidated signature was never counted and is
    left as it is. Raises ``ManageItemNotFoundError`` if the signature is not theirs.
    """
    with transaction.atomic():
        signature = _signature_of(
            supporter=supporter, signature_public_id=signature_public_id, lock=True
        )
        if signature.status not in _STANDING:
            return signature
        Consent.objects.filter(signature=signature).update(signature=None)
        mailer.outbox_messages_delete(about_key="signature", about_ids=[signature.pk])
        # Its attempts hold the address and name as typed, and their links could confirm it.
        SignAttempt.objects.filter(signature=signature).delete()
        signature_statuses_change(
            signature_ids=[signature.pk],
            status=Signature.Status.WITHDRAWN,
            supporter=None,
            display=Signature.Display.HIDDEN,
            ip_hash="",
            ip_network_hash="",
        )
        campaign = signature.petition.campaign
        still_signed = Signature.objects.filter(
            supporter=supporter, petition__campaign=campaign, status__in=_STANDING
        ).exists()
        if not still_signed:
            Consent.objects.filter(supporter=supporter, campaign=campaign).delete()
        if not Signature.objects.filter(supporter=supporter).exists():
            Supporter.objects.filter(pk=supporter.pk).update(unlinked_at=timezone.now())
    signature.refresh_from_db(fields=["status", "counted", "supporter", "display"])
    petition_recent_signers_forget(petition_ids=[signature.petition_id])
    return signature


def supporters_unlinked_delete(*, batch_size: int = 500) -> int:
    """Delete people left with no signature for ``SUPPORTER_UNLINKED_KEEP``; returns how many.

    Someone who withdrew every signature has nothing left that needs their name or
    address; they keep a few days to look at the manage page or download their data.
    Someone who signed again since has a signature and stays. Rows are locked and checked
    again before deleting, so a person signing at this moment is not deleted under them.
    """
    cutoff = timezone.now() - SUPPORTER_UNLINKED_KEEP
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                Supporter.objects.select_for_update(skip_locked=True)
                .filter(unlinked_at__lt=cutoff)
                .exclude(Exists(Signature.objects.filter(supporter=OuterRef("pk"))))
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if ids:
                emails.supporters_mail_delete(supporter_ids=ids)
                Supporter.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
        if len(ids) < batch_size:
            return deleted


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


def supporter_erase(*, supporter: Supporter) -> int:
    """Erase a person: their signatures are withdrawn and detached, then they are deleted.

    Pending and confirmed signatures become "withdrawn" (the counts drop at once); every
    signature row stays, anonymised, so that counts and integrity lines stay true: no
    supporter, name hidden, IP hashes emptied. Deleting the supporter deletes their
    consents and their queued mail with it. Returns how many signatures were detached;
    erasing someone already erased does nothing.
    """
    with transaction.atomic():
        # Attempts hold the address and name as typed (their mail goes with the supporter).
        # Before the supporter's lock: confirming locks an attempt, then the supporter.
        SignAttempt.objects.filter(signature__supporter=supporter).delete()
        if not Supporter.objects.select_for_update().filter(pk=supporter.pk).exists():
            return 0
        rows = list(
            Signature.objects.filter(supporter=supporter).values_list("pk", "status", "petition_id")
        )
        signature_statuses_change(
            signature_ids=[pk for pk, status, _ in rows if status in _STANDING],
            status=Signature.Status.WITHDRAWN,
        )
        Signature.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(
            supporter=None, display=Signature.Display.HIDDEN, ip_hash="", ip_network_hash=""
        )
        emails.supporters_mail_delete(supporter_ids=[supporter.pk])
        Supporter.objects.filter(pk=supporter.pk).delete()
    petition_recent_signers_forget(petition_ids={petition_id for _, _, petition_id in rows})
    logger.info("a supporter was erased at their request")
    return len(rows)


# --- Keeping stored data small: dropping addresses ----------------------------------------


def _droppable(supporters: QuerySet[Supporter], *, now: datetime) -> QuerySet[Supporter]:
    """Supporters whose address no mail needs: no live consent, none due, none queued."""
    live_consent = Consent.objects.filter(
        supporter=OuterRef("pk"), confirmed_at__isnull=False, withdrawn_at__isnull=True
    )
    # A pending signature may still be confirmed (and be re-sent its email) until its
    # link expires (signing.confirm_max_age; not imported: signing may import this
    # module); after that nothing more is sent about it.
    awaiting_confirmation = Signature.objects.filter(
        supporter=OuterRef("pk"),
        status=Signature.Status.PENDING,
        confirmation_requested_at__gt=now - timedelta(days=settings.CONFIRM_MAX_AGE_DAYS),
    )
    unsent_mail = mail_selectors.outbox_messages_unsent(
        recipient_ref=emails.supporter_ref_expression()
    )
    return (
        supporters.filter(email_dropped_at__isnull=True)
        .exclude(Exists(live_consent))
        .exclude(Exists(awaiting_confirmation))
        .exclude(Exists(unsent_mail))
    )


def supporter_emails_drop(
    *, supporter_ids: Iterable[int] | None = None, batch_size: int = 1000
) -> int:
    """Empty the stored address of everyone no mail needs any more; returns how many.

    An address is dropped when its owner has no confirmed, not withdrawn consent to
    updates, no pending signature whose confirmation email may still be sent again, and
    no email queued or being sent. The keyed hash stays, so signing again is still
    recognised as the same person. Pass ``supporter_ids`` to look only at those (cheap:
    right after a confirmation); without it every supporter is looked at, in batches.
    The conditions are checked again in the UPDATE itself, so a supporter who signs
    or consents while this runs keeps their address. Safe to run at any time.
    """
    now = timezone.now()
    supporters = Supporter.objects.all()
    if supporter_ids is not None:
        supporters = supporters.filter(pk__in=list(supporter_ids))
    dropped, after = 0, 0
    while True:
        ids = list(
            _droppable(supporters.filter(pk__gt=after), now=now)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        with transaction.atomic():
            dropped += _droppable(Supporter.objects.filter(pk__in=ids), now=now).update(
                email="", email_dropped_at=now
            )
        if len(ids) < batch_size:
            break
        after = ids[-1]
    return dropped


def supporter_emails_drop_mark(*, supporter_ids: Iterable[int | None]) -> int:
    """Mark supporters whose address may now be droppable (they just confirmed).

    Cheap enough for the confirming request: one UPDATE, no task. The periodic
    ``supporter_emails_drop_due`` looks at the marked supporters within seconds. ``None``
    (a signature's supporter id once it was anonymised) is skipped.
    """
    ids = [pk for pk in supporter_ids if pk is not None]
    return Supporter.objects.filter(pk__in=ids).update(email_drop_due_at=timezone.now())


def supporter_emails_drop_due(*, batch_size: int = 1000) -> int:
    """Drop the addresses of marked supporters that no mail needs; returns how many.

    Works in batches of ``batch_size`` marked supporters; each mark is cleared once looked
    at, whether or not the address could go (someone with consent keeps it; someone with
    mail still queued is left to the full ``supporter_emails_drop`` run). A mark set again
    while a batch runs (the person confirmed another signature) is newer than what the
    batch read and stays for the next run. Safe to run concurrently and at any time.
    """
    dropped = 0
    while True:
        marks = list(
            Supporter.objects.filter(email_drop_due_at__isnull=False)
            .order_by("email_drop_due_at", "pk")
            .values_list("pk", "email_drop_due_at")[:batch_size]
        )
        if not marks:
            break
        ids = [pk for pk, _ in marks]
        dropped += supporter_emails_drop(supporter_ids=ids, batch_size=batch_size)
        latest_seen = max(marked_at for _, marked_at in marks if marked_at is not None)
        Supporter.objects.filter(pk__in=ids, email_drop_due_at__lte=latest_seen).update(
            email_drop_due_at=None
        )
        if len(marks) < batch_size:
            break
    return dropped


# --- Encryption at rest: re-encrypting under the current key ------------------------------


def supporters_reencrypt(*, batch_size: int = 500) -> int:
    """Re-encrypt every supporter's email and name under the first key of
    ``SBOR_ENCRYPTION_KEYS``; returns how many supporters were rewritten.

    Values already under that key are left alone, so running it again (or after an
    interrupted run) only does what is left. Each batch is one transaction with its rows
    locked, so a concurrent edit is never overwritten with an older value. Raises
    ``RuntimeError`` naming the row if no listed key opens a value: the batch is rolled
    back and nothing is lost.
    """
    current = Fernet(settings.SBOR_ENCRYPTION_KEYS[0])
    return _rows_reencrypt(
        model=Supporter, fields=_ENCRYPTED_FIELDS, current=current, batch_size=batch_size
    )


def sign_attempts_reencrypt(*, batch_size: int = 500) -> int:
    """As ``supporters_reencrypt``, for the sign attempts awaiting confirmation (their
    email, name and code); returns how many attempts were rewritten."""
    current = Fernet(settings.SBOR_ENCRYPTION_KEYS[0])
    return _rows_reencrypt(
        model=SignAttempt, fields=_ATTEMPT_ENCRYPTED_FIELDS, current=current, batch_size=batch_size
    )


def _rows_reencrypt(
    *, model: Any, fields: tuple[str, ...], current: Fernet, batch_size: int
) -> int:
    rewritten, after = 0, 0
    while True:
        with transaction.atomic():
            rows = list(
                model.objects.select_for_update()
                .filter(pk__gt=after)
                .order_by("pk")
                # Cast reads the stored token itself, not the decrypted value.
                .annotate(**{f"{name}_token": Cast(name, TextField()) for name in fields})
                .values_list("pk", *(f"{name}_token" for name in fields))[:batch_size]
            )
            for pk, *tokens in rows:
                changes = _tokens_rotate(
                    current=current,
                    row=f"{model._meta.verbose_name} {pk}",
                    tokens=dict(zip(fields, tokens, strict=True)),
                )
                if changes:
                    model.objects.filter(pk=pk).update(**changes)
                    rewritten += 1
        if len(rows) < batch_size:
            break
        after = rows[-1][0]
    return rewritten


def manage_link_requests_reencrypt() -> int:
    """Re-encrypt the pending manage-link requests under the first key; returns how many.

    There are only the requests of the last hour. One that no listed key opens could
    never be answered, so it is deleted rather than stopping the rotation.
    """
    current = Fernet(settings.SBOR_ENCRYPTION_KEYS[0])
    rewritten = 0
    with transaction.atomic():
        rows = list(
            ManageLinkRequest.objects.select_for_update()
            .annotate(email_token=Cast("email", TextField()))
            .values_list("pk", "email_token")
        )
        for pk, token in rows:
            if _is_under(current, token):
                continue
            try:
                rotated = crypto.rotate(token)
            except InvalidToken:
                ManageLinkRequest.objects.filter(pk=pk).delete()
                continue
            ManageLinkRequest.objects.filter(pk=pk).update(
                email=Value(rotated, output_field=TextField())
            )
            rewritten += 1
    return rewritten


def _tokens_rotate(*, current: Fernet, row: str, tokens: dict[str, str]) -> dict[str, Value]:
    changes = {}
    for name, token in tokens.items():
        if not token or _is_under(current, token):
            continue
        try:
            rotated = crypto.rotate(token)
        except InvalidToken:
            raise RuntimeError(f"{row}: no key in SBOR_ENCRYPTION_KEYS opens its {name}") from None
        # A plain TextField value: the model field would encrypt the token once more.
        changes[name] = Value(rotated, output_field=TextField())
    return changes


def _is_under(key: Fernet, token: str) -> bool:
    try:
        key.extract_timestamp(token.encode("ascii"))  # verifies the token's HMAC
    except InvalidToken:
        return False
    return True
