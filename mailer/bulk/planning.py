"""Planning a mailing: create it, add its deliveries in chunks, start, cancel, delete."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from itertools import islice
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from common.tasks import enqueue_now, enqueue_on_commit
from mailer.models import Delivery, Mailing
from mailer.registry import bulk_email_type_get

logger = logging.getLogger(__name__)

# Rows per INSERT when adding deliveries: large enough to be cheap, small enough that one
# statement's parameters stay well under PostgreSQL's and SQLite's limits.
INSERT_CHUNK = 1000


class PlannedRecipient(NamedTuple):
    """One recipient of a mailing, as the owning app gives it when planning."""

    recipient_ref: str
    address_digest: str
    language: str


class MailingNotPlanning(ValueError):
    """Deliveries can be added only while the mailing is being planned."""


def mailing_create(*, kind: str, about: dict[str, str] | None = None) -> Mailing:
    """A new mailing of a registered bulk ``kind``, in status "planning".

    ``about`` holds the owning app's ids of what the mailing is about, as strings (e.g.
    ``{"update": "7"}``); the mailer hands it back to the kind's builder and never reads it.
    Raises ``UnknownEmailKindError`` for a kind nobody registered.
    """
    bulk_email_type_get(kind=kind)
    return Mailing.objects.create(kind=kind, about=about or {})


def deliveries_add(*, mailing: Mailing, recipients: Iterable[tuple[str, str, str]]) -> int:
    """Add one delivery per recipient; returns how many rows were new.

    ``recipients`` yields ``(recipient_ref, address_digest, language)`` (a
    ``PlannedRecipient`` or any 3-tuple); the caller walks its audience with keyset
    pagination and may call this once per page, or pass a generator over all pages: rows
    are inserted ``INSERT_CHUNK`` at a time and memory stays constant. A recipient already
    in the mailing is left as it is (unique on mailing and recipient), so planning again
    after an interruption adds only the missing rows. ``address_digest`` is
    ``trust.identity.email_digest`` of the address, checked against the suppression list
    at send time. Raises ``MailingNotPlanning`` once the mailing has started.
    """
    if mailing.status != Mailing.Status.PLANNING:
        raise MailingNotPlanning(mailing.status)
    added = 0
    iterator = iter(recipients)
    while chunk := list(islice(iterator, INSERT_CHUNK)):
        added += _insert(mailing_id=mailing.pk, chunk=chunk)
    return added


def _insert(*, mailing_id: int, chunk: list[tuple[str, str, str]]) -> int:
    # One INSERT … ON CONFLICT DO NOTHING per chunk (PostgreSQL and SQLite alike): its row
    # count says how many were new, which bulk_create(ignore_conflicts=True) cannot.
    table = connection.ops.quote_name(Delivery._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s, 0, '', '', '')"] * len(chunk))
    params: list[int | str] = []
    for recipient_ref, address_digest, language in chunk:
        if not recipient_ref or len(recipient_ref) > 100 or len(address_digest) != 64:
            raise ValueError("a recipient needs a reference and a 64-character digest")
        params += [mailing_id, recipient_ref, address_digest, language, Delivery.Status.QUEUED]
    columns = "mailing_id, recipient_ref, address_digest, language, status, attempts, claim,"
    columns += " provider_message_id, last_error"
    # The table name is ours and every value a parameter.
    sql = f"INSERT INTO {table} ({columns}) VALUES {values}"  # noqa: S608
    sql += " ON CONFLICT (mailing_id, recipient_ref) DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def mailing_start(*, mailing: Mailing) -> bool:
    """Start sending: the mailing goes to "sending" and its send tasks are enqueued.

    Returns False if it was not being planned (already started, done or cancelled), so
    calling it twice starts it once. ``MAILER_BULK_TASKS`` tasks run per mailing; each
    claims batches until none are left. Tasks lost on the way (broker down, worker
    killed) are enqueued again by the sweep (``mailer.tasks.mailings_sweep``).
    """
    now = timezone.now()
    started = Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.PLANNING).update(
        status=Mailing.Status.SENDING, started_at=now, enqueued_at=now
    )
    if not started:
        return False
    mailing.status, mailing.started_at, mailing.enqueued_at = Mailing.Status.SENDING, now, now
    for _ in range(settings.MAILER_BULK_TASKS):
        enqueue_on_commit(_send_task(mailing_id=mailing.pk))
    return True


def mailing_tasks_enqueue(*, mailing_id: int, tasks: int | None = None) -> int:
    """Enqueue the mailing's send tasks now; returns how many the broker took."""
    count = settings.MAILER_BULK_TASKS if tasks is None else tasks
    return sum(enqueue_now(_send_task(mailing_id=mailing_id)) for _ in range(count))


def _send_task(*, mailing_id: int) -> Any:
    from mailer.tasks import mailing_send

    # A task that waited in the queue much longer than the sweep's patience is dropped: by
    # then the sweep has enqueued fresh ones, so a long outage does not pile them up.
    return mailing_send.s(mailing_id).set(expires=2 * settings.MAILER_BULK_STALE_SECONDS)


def mailing_cancel(*, mailing: Mailing) -> int:
    """Stop a mailing: rows not yet handed over are cancelled; returns how many.

    A row being handed over at this instant still goes out (and is recorded as sent).
    A mailing already done stays done.
    """
    with transaction.atomic():
        changed = Mailing.objects.filter(
            pk=mailing.pk, status__in=[Mailing.Status.PLANNING, Mailing.Status.SENDING]
        ).update(status=Mailing.Status.CANCELLED, finished_at=timezone.now())
        if not changed:
            return 0
        mailing.status = Mailing.Status.CANCELLED
        return Delivery.objects.filter(
            mailing_id=mailing.pk,
            status__in=[Delivery.Status.QUEUED, Delivery.Status.CLAIMED],
        ).update(status=Delivery.Status.CANCELLED, claim="", claimed_until=None)


def mailing_delete(*, mailing: Mailing) -> None:
    """Delete a mailing and its deliveries (the owning app deleted what it was about)."""
    Delivery.objects.filter(mailing_id=mailing.pk).delete()
    mailing.delete()
