"""Processing sign attempts, in a worker: the address-dependent half of signing.

``sign_attempt_process`` finds or makes the supporter and the signature and picks the
email, if any; ``sign_attempts_sweep`` processes attempts whose task was lost and deletes
expired ones. ``signature_create`` records and processes in one call, for tests, the
bench and scripts. Requests only record attempts (petitions.services.signing).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from mailer import selectors as mail_selectors
from mailer import services as mailer
from petitions import emails
from petitions.models import Consent, Petition, SignAttempt, Signature, Supporter
from petitions.services import addresses
from petitions.services.locks import petition_signing_lock
from petitions.services.signing import (
    SignatureSource,
    SignResult,
    confirm_max_age,
    sign_attempt_record,
)
from trust import identity

logger = logging.getLogger(__name__)


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
    """Record an attempt and process it in this call, without a task.

    For tests, the bench and scripts. Web requests use ``sign_attempt_create``: doing the
    address-dependent work inside the request would make its timing tell who has signed.
    """
    attempt = sign_attempt_record(
        petition=petition,
        email=email,
        name=name,
        country=country,
        display=display,
        consent_updates=consent_updates,
        language=language,
        source=source,
        client_ip=client_ip,
        automated=automated,
    )
    if attempt is None:
        return SignResult(signature=None, created=False)
    return sign_attempt_process(attempt_id=attempt.pk)


def sign_attempt_process(*, attempt_id: int) -> SignResult:
    """Make the attempt's signature pending and queue its email; safe to run twice.

    The first run claims the attempt; another run (a duplicate task, the sweep) finds it
    claimed or done and returns. The petition is re-checked under its signing lock: an
    attempt on a petition closed or locked down since the request is deleted, so no
    personal data arrives after a lockdown. Then, by what this address already has:

    * nothing: a pending signature (and a supporter, with no name yet), and this
      attempt's confirmation email;
    * a pending signature: this attempt's confirmation email, at most once per
      ``DUPLICATE_EMAIL_INTERVAL_SECONDS`` and while the signature has had fewer than
      ``CONFIRM_EMAILS_MAX`` confirmation emails (anyone may type a stranger's address);
    * a confirmed signature: an "already signed" email, as rarely;
    * an invalidated or withdrawn one: nothing.

    An attempt that gets no email is deleted at once: it can never be confirmed, and it
    holds an address.
    """
    petition_id = (
        SignAttempt.objects.filter(pk=attempt_id).values_list("petition_id", flat=True).first()
    )
    if petition_id is None:
        return SignResult(signature=None, created=False)
    with transaction.atomic():
        # The petition's lock before the attempt's row: a lockdown takes them in this order.
        petition_signing_lock(petition_id=petition_id, exclusive=False)
        attempt = (
            SignAttempt.objects.select_for_update(skip_locked=True)
            .filter(pk=attempt_id, processed_at__isnull=True)
            .first()
        )
        if attempt is None:
            return SignResult(signature=None, created=False)
        # Read after the lock: a lockdown that committed while this waited is seen here.
        petition = Petition.objects.get(pk=attempt.petition_id)
        if not _takes_attempt(petition=petition, attempt=attempt):
            attempt.delete()
            return SignResult(signature=None, created=False)
        supporter = _supporter_get_or_create(email=attempt.email, language=attempt.language)
        signature, created = _signature_get_or_create(
            petition=petition, supporter=supporter, attempt=attempt
        )
        mailed = created or _duplicate_claim(signature=signature)
        if not mailed:
            attempt.delete()
            return SignResult(signature=signature, created=False)
        # A returning signer whose address was dropped (no consent) typed it again: keep
        # it until this mail has gone; the drop task removes it.
        addresses.supporter_email_restore(supporter=supporter, email=attempt.email)
        if signature.status == Signature.Status.CONFIRMED:
            emails.signature_already_signed_email_queue(
                signature=signature, language=attempt.language
            )
            attempt.delete()
            return SignResult(signature=signature, created=False)
        attempt.signature = signature
        attempt.processed_at = timezone.now()
        attempt.save(update_fields=["signature", "processed_at"])
        emails.signature_confirm_email_queue(sign_attempt=attempt)
    return SignResult(signature=signature, created=created, attempt=attempt)


def _takes_attempt(*, petition: Petition, attempt: SignAttempt) -> bool:
    """Whether the petition still takes this attempt.

    Closed by staff, locked down or anonymised since the request: no. Past its deadline:
    yes if the attempt was made before it (the signer was in time; the task was late).
    """
    if petition.status != Petition.Status.OPEN or petition.anonymised_at is not None:
        return False
    return petition.closes_at is None or petition.closes_at > attempt.created_at


def _supporter_get_or_create(*, email: str, language: str) -> Supporter:
    # get_or_create retries the read after an IntegrityError, so two first-time attempts
    # of one address racing each other end up with one supporter. The row lock
    # (PostgreSQL) holds off the address-drop task until this transaction, and the mail it
    # queues, are committed: the task's conditions then see the queued mail. Name and
    # country stay empty until the person confirms an attempt (see ``signature_confirm``).
    supporter, _ = Supporter.objects.select_for_update().get_or_create(
        email_digest=identity.email_digest(email),
        defaults={
            "email": email,
            "email_domain_digest": identity.email_domain_digest(email),
            "language": language,
        },
    )
    return supporter


def _signature_get_or_create(
    *, petition: Petition, supporter: Supporter, attempt: SignAttempt
) -> tuple[Signature, bool]:
    # A new signature is mailed at once: its first confirmation email counts.
    signature = Signature(
        petition=petition,
        supporter=supporter,
        confirm_emails_sent=1,
        **attempt.signature_fields(),
    )
    try:
        # The unique constraint decides duplicates; the savepoint lets this carry on.
        with transaction.atomic():
            signature.save(force_insert=True)
    except IntegrityError:
        existing = Signature.objects.select_related("petition", "supporter").get(
            petition=petition, supporter=supporter
        )
        return existing, False
    return signature, True


def _duplicate_claim(*, signature: Signature) -> bool:
    """True if the person may be mailed again about this signature now.

    At most once per ``DUPLICATE_EMAIL_INTERVAL_SECONDS``: without the interval, anyone
    could flood a stranger's inbox through us by submitting their address over and over.
    A pending signature gets at most ``CONFIRM_EMAILS_MAX`` confirmation emails in all
    (reminders included); past that, repeat attempts are dropped like those within the
    interval, silently: the request answered long before, the same for every address.
    The conditional update is the claim: of two concurrent duplicates only one mails.
    Invalidated and withdrawn signatures are never mailed about.
    """
    if signature.status not in (Signature.Status.PENDING, Signature.Status.CONFIRMED):
        return False
    now = timezone.now()
    interval = timedelta(seconds=settings.DUPLICATE_EMAIL_INTERVAL_SECONDS)
    changes: dict[str, object] = {"emailed_at": now}
    claim = Signature.objects.filter(
        pk=signature.pk, status=signature.status, emailed_at__lt=now - interval
    )
    if signature.status == Signature.Status.PENDING:
        # The address is kept while a confirmation may still come (supporter_emails_drop).
        changes["confirmation_requested_at"] = now
        changes["confirm_emails_sent"] = F("confirm_emails_sent") + 1
        claim = claim.filter(confirm_emails_sent__lt=settings.CONFIRM_EMAILS_MAX)
    return bool(claim.update(**changes))


def sign_attempts_delete(*, attempts: QuerySet[SignAttempt]) -> int:
    """Delete attempts and the confirmation mail of theirs not yet sent; returns how many.

    Mail already sent keeps its outbox row (the person's record of what we sent them).
    """
    mailer.outbox_messages_delete(
        about_key="sign_attempt",
        about_ids=list(attempts.values_list("pk", flat=True)),
        unsent_only=True,
    )
    deleted, _ = attempts.delete()
    return deleted


def sign_attempts_sweep(
    *,
    older_than: timedelta = timedelta(minutes=1),
    batch_size: int = 500,
    budget: timedelta = timedelta(seconds=40),
) -> int:
    """Process attempts whose task was lost, and delete attempts whose link has expired.

    A task is lost when the broker was down at commit time or a worker died; the attempt
    is in the database, so it is processed here, a minute late. Batches follow one another
    until none is left or ``budget`` has passed (the next run, a minute later, goes on), so
    the backlog of a long outage drains at several thousand attempts a minute. Expired
    attempts (and the unsent mail that carries their code) go: nothing can confirm them
    any more, and then the pending signatures they leave behind
    (``signatures_pending_expire``). Returns how many attempts were processed.
    """
    started = time.monotonic()
    now = timezone.now()
    sign_attempts_delete(
        attempts=SignAttempt.objects.filter(created_at__lt=now - confirm_max_age())
    )
    signatures_pending_expire(now=now)
    processed, after = 0, 0
    while time.monotonic() - started < budget.total_seconds():
        ids = list(
            SignAttempt.objects.filter(
                processed_at__isnull=True, created_at__lt=now - older_than, pk__gt=after
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        for attempt_id in ids:
            try:
                sign_attempt_process(attempt_id=attempt_id)
            except DatabaseError:
                # A deadlock or a lost connection on one attempt must not hold up the
                # others; it is still unprocessed, so the next sweep tries it again.
                logger.exception("sign attempt %s failed; retried next sweep", attempt_id)
                continue
            processed += 1
        if len(ids) < batch_size:
            break
        after = ids[-1]
    return processed


def signatures_pending_expire(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Delete pending signatures that can no longer be confirmed, and the people they leave
    with nothing; returns how many signatures went.

    A pending signature goes once no attempt of it is left (their links have expired) and
    its last confirmation email was asked for more than ``CONFIRM_MAX_AGE_DAYS`` ago.
    Anyone can type a stranger's address: without this, the stranger's keyed address would
    stay tied to the petition until its retention ends. Pending signatures were never
    counted, so counts and the public integrity line do not move. A supporter left with no
    signature, no consent and no mail still to send goes too; someone with a confirmed
    signature or a consent always keeps one of them, and stays. A pending signature that an
    anonymised petition detached names nobody and stays.

    Each batch locks the supporters first, then their signatures, as signing does, and
    skips rows that someone holds: a person signing again at this moment keeps their
    signature (the next run looks again), and this never waits on a lock, so it cannot
    deadlock with signing, withdrawing or erasing.
    """
    cutoff = (now or timezone.now()) - confirm_max_age()
    expired = Signature.objects.filter(
        status=Signature.Status.PENDING,
        supporter__isnull=False,
        confirmation_requested_at__lt=cutoff,
    ).exclude(Exists(SignAttempt.objects.filter(signature=OuterRef("pk"))))
    deleted, after = 0, 0
    while True:
        candidates = list(
            expired.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "supporter_id")[:batch_size]
        )
        if not candidates:
            break
        with transaction.atomic():
            supporter_ids = list(
                Supporter.objects.select_for_update(skip_locked=True)
                .filter(pk__in={supporter_id for _, supporter_id in candidates})
                .values_list("pk", flat=True)
            )
            ids = list(
                expired.select_for_update(skip_locked=True)
                .filter(pk__in=[pk for pk, _ in candidates], supporter_id__in=supporter_ids)
                .values_list("pk", flat=True)
            )
            # Its confirmation emails' outbox rows go with it (they tie the person to the
            # petition); a consent that points at it (rows older than sign attempts) stays,
            # pointing at none, and so does its supporter.
            # The outbox holds no foreign keys (it is at the ground): its rows about these
            # signatures, and to the people deleted with them, are deleted by name.
            mailer.outbox_messages_delete(about_key="signature", about_ids=ids)
            _, per_model = Signature.objects.filter(pk__in=ids).delete()
            deleted += per_model.get(Signature._meta.label, 0)
            left = _supporters_left_with_nothing(supporter_ids=supporter_ids)
            gone = list(left.values_list("pk", flat=True))
            emails.supporters_mail_delete(supporter_ids=gone)
            Supporter.objects.filter(pk__in=gone).delete()
        if len(candidates) < batch_size:
            break
        after = candidates[-1][0]
    if deleted:
        logger.info("expired pending signatures deleted: %s", deleted)
    return deleted


def _supporters_left_with_nothing(*, supporter_ids: list[int]) -> QuerySet[Supporter]:
    unsent_mail = mail_selectors.outbox_messages_unsent(
        recipient_ref=emails.supporter_ref_expression()
    )
    return (
        Supporter.objects.filter(pk__in=supporter_ids)
        .exclude(Exists(Signature.objects.filter(supporter=OuterRef("pk"))))
        .exclude(Exists(Consent.objects.filter(supporter=OuterRef("pk"))))
        .exclude(Exists(unsent_mail))
    )
