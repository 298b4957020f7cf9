"""Keeping stored addresses few: dropping plaintext addresses no mail needs any more (the
keyed hashes stay), and storing one again when its owner asks for mail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from mailer import selectors as mail_selectors
from petitions import emails
from petitions.models import Consent, Signature, Supporter
from trust import identity

logger = logging.getLogger(__name__)


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
