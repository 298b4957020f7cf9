"""The manage link: a signed link, sent on request, to the page where a person sees and
changes what is stored about them. Requests are counted and answered alike for every
address, so that neither the answer nor its timing tells whether an address has signed.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from common.tasks import enqueue_on_commit
from mailer import selectors as mail_selectors
from petitions import emails, tokens
from petitions.models import ManageLinkRequest, Supporter
from petitions.services.addresses import supporter_email_restore
from trust import identity
from trust.services import manage_link_request_limit

logger = logging.getLogger(__name__)

# A manage-link request is left this long to the task enqueued with it before the sweep
# answers it, and dropped unanswered once this old.
MANAGE_LINK_REQUEST_GRACE = timedelta(minutes=1)
MANAGE_LINK_REQUEST_STALE = timedelta(hours=1)


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
