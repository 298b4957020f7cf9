"""Deleting people: on their request (or staff's), and a few days after they withdrew their
last signature. Signature rows stay, anonymised, so counts and integrity lines stay true.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from petitions import emails
from petitions.models import SignAttempt, Signature, Supporter
from petitions.selectors import petition_recent_signers_forget
from petitions.services.counts import signature_statuses_change
from petitions.services.self_service import STANDING_STATUSES

logger = logging.getLogger(__name__)

# Someone whose last signature was withdrawn is deleted this long afterwards (time to look
# at the manage page or download their data), unless they sign again.
SUPPORTER_UNLINKED_KEEP = timedelta(days=7)


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
            signature_ids=[pk for pk, status, _ in rows if status in STANDING_STATUSES],
            status=Signature.Status.WITHDRAWN,
        )
        Signature.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(
            supporter=None,
            name="",
            country="",
            display=Signature.Display.HIDDEN,
            ip_hash="",
            ip_network_hash="",
        )
        emails.supporters_mail_delete(supporter_ids=[supporter.pk])
        Supporter.objects.filter(pk=supporter.pk).delete()
    petition_recent_signers_forget(petition_ids={petition_id for _, _, petition_id in rows})
    logger.info("a supporter was erased at their request")
    return len(rows)


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
