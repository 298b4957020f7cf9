"""Signing: a request records a sign attempt; a task turns it into a signature and an email.

Whether an address has signed must not show in anything an outsider can observe, and that
includes how long the request takes and what it does. So the request does the same work
for every address: it checks the petition, the limits and the block rules, then writes one
``SignAttempt`` row and enqueues one task after commit (or, for a flagged attempt, moves
one anonymous tally). Everything that depends on the address (finding the supporter and
the signature, which email to send, if any) happens in ``sign_attempt_process``, in a
worker (petitions.services.processing).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from common.tasks import enqueue_on_commit
from petitions import tokens
from petitions.models import FlaggedAttemptTally, Petition, SignAttempt, Signature
from trust.iphash import ip_hashes
from trust.services import FlagReason, sign_attempt_assess

logger = logging.getLogger(__name__)

# Draws of a confirmation code before giving up; two collisions in a row on one petition
# are already about as likely as guessing a code at the first try.
_CODE_DRAWS = 5


class PetitionClosedError(Exception):
    """The petition does not take signatures (closed, past its deadline, or a draft)."""


@dataclass(frozen=True)
class SignatureSource:
    source: str = ""
    medium: str = ""
    campaign: str = ""


@dataclass(frozen=True)
class SignResult:
    """What processing an attempt did (for tests, the bench and scripts; never shown).

    ``signature`` is the person's signature on the petition (None when the attempt was
    flagged or the petition stopped taking signatures); ``attempt`` is the attempt whose
    confirmation email was queued, if one was.
    """

    signature: Signature | None
    created: bool
    attempt: SignAttempt | None = None


def confirm_max_age() -> timedelta:
    return timedelta(days=settings.CONFIRM_MAX_AGE_DAYS)


def sign_attempt_create(
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
) -> SignAttempt | None:
    """Record one sign attempt and enqueue its processing; None if it was flagged.

    The work is the same whether or not the address has signed: callers must answer every
    case alike (flagged ones too), so that nothing tells a script or a stranger more.
    ``client_ip`` (from ``trust.network.client_ip``) is checked against the block rules and
    rate limits and stored only as keyed hashes; ``None`` skips the IP checks. A
    non-empty ``automated`` says the caller caught a script (e.g. "honeypot"). A flagged
    attempt stores nothing about a person: it only moves the petition's tally for its
    reason. Raises ``PetitionClosedError``.
    """
    from petitions import tasks  # the tasks module imports the services

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
    if attempt is not None:
        # cast: celery's typed apply_async does not match the helper's loose protocol.
        enqueue_on_commit(cast(Any, tasks.sign_attempt_process), attempt.pk)
    return attempt


def sign_attempt_record(
    *,
    petition: Petition,
    email: str,
    name: str,
    country: str,
    display: str,
    consent_updates: bool,
    language: str,
    source: SignatureSource | None,
    client_ip: str | None,
    automated: str,
) -> SignAttempt | None:
    if not petition.is_open:
        raise PetitionClosedError
    reason, detail = _verdict(
        petition=petition, email=email, client_ip=client_ip, automated=automated
    )
    if reason:
        flagged_attempt_count(petition_id=petition.pk, reason=reason, detail=detail)
        return None
    source = source or SignatureSource()
    # Outside the transaction: a new IP-hash key made here must outlive a rollback.
    ip_hash, ip_network_hash = ip_hashes(ip=client_ip or "")
    attempt = SignAttempt(
        petition=petition,
        email=email,
        name=name,
        country=country,
        display=display,
        consent_updates=consent_updates,
        language=language,
        source=source.source,
        medium=source.medium,
        source_campaign=source.campaign,
        ip_hash=ip_hash,
        ip_network_hash=ip_network_hash,
    )
    _attempt_insert(attempt=attempt)
    return attempt


def _attempt_insert(*, attempt: SignAttempt) -> None:
    """Insert with a fresh random code, drawing again if the petition has it already."""
    for _ in range(_CODE_DRAWS):
        code = tokens.confirm_code_new()
        attempt.confirm_code = code
        attempt.confirm_code_digest = tokens.confirm_code_digest(code)
        try:
            # The savepoint lets a caller's transaction carry on after a collision.
            with transaction.atomic():
                attempt.save(force_insert=True)
        except IntegrityError:
            attempt.pk = None
            continue
        return
    raise RuntimeError("no free confirmation code after several draws")


# Trust's automatic verdicts, as petitions store them (the same values: tallies and
# signatures flagged before trust had its own vocabulary keep theirs).
_FLAG_REASONS = {
    FlagReason.RATE_LIMIT: Signature.InvalidReason.RATE_LIMIT,
    FlagReason.BLOCKLIST: Signature.InvalidReason.BLOCKLIST,
    FlagReason.DISPOSABLE: Signature.InvalidReason.DISPOSABLE,
}


def _verdict(
    *, petition: Petition, email: str, client_ip: str | None, automated: str
) -> tuple[str, str]:
    """(invalid reason, detail) for this attempt, or ("", "") when it looks genuine.

    The attempt is counted against the per-client limits even when the caller already
    found it automated, so that a script cannot spend them without being counted; trust
    leaves it out of the per-domain limit, which strangers share.
    """
    flag, detail = sign_attempt_assess(
        petition_id=petition.pk, ip=client_ip or "", email=email, automated=bool(automated)
    )
    if automated:
        return str(Signature.InvalidReason.AUTOMATED), automated
    if flag is None:
        return "", ""
    return str(_FLAG_REASONS[flag]), detail


def flagged_attempt_count(*, petition_id: int, reason: str, detail: str) -> None:
    """Add one flagged attempt to the petition's tally for this reason, rule and day.

    An atomic increment: concurrent attempts never lose a count. The first of the day
    inserts the row; if another request inserted it meanwhile, this one increments it.
    """
    key = {
        "petition_id": petition_id,
        "reason": reason,
        "detail": detail[:32],
        "day": timezone.localdate(),
    }
    if FlaggedAttemptTally.objects.filter(**key).update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            FlaggedAttemptTally.objects.create(**key, count=1)
    except IntegrityError:
        FlaggedAttemptTally.objects.filter(**key).update(count=F("count") + 1)
