"""Celery tasks for email. Thin: they take ids and call mailer.services."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from mailer import services
from mailer.bulk import sending as bulk_sending
from mailer.bulk import sweep as bulk_sweep
from mailer.events import processing as events


# The hard time limit ends a send stuck with the provider; the claim lease outlasts it, so
# the sweep sends the message again only once no worker can still be sending it.
@shared_task(
    bind=True,
    acks_late=True,
    max_retries=None,
    ignore_result=True,
    time_limit=settings.MAILER_SEND_TIME_LIMIT_SECONDS,
)
def outbox_send(self: Any, message_id: int) -> str:
    outcome = services.outbox_message_send(message_id=message_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(ignore_result=True)
def outbox_requeue() -> int:
    return services.outbox_requeue()


# Bulk mail travels on its own queue ("bulk", config/celery.py), so transactional mail on
# "mail" never waits behind a mailing. A task sends batches for MAILER_BULK_TASK_SECONDS,
# then hands over to a fresh task; the hard time limit leaves room for a batch in hand.
@shared_task(
    acks_late=True,
    ignore_result=True,
    time_limit=settings.MAILER_BULK_TASK_SECONDS + 2 * settings.MAILER_SEND_TIME_LIMIT_SECONDS,
)
def mailing_send(mailing_id: int) -> str:
    return bulk_sending.mailing_send(mailing_id=mailing_id).status


@shared_task(ignore_result=True)
def mailings_sweep() -> dict[str, int]:
    return bulk_sweep.mailings_sweep()


# Provider events (webhooks): stored by the webhook, processed here (quick database work, on
# the "bulk" queue with the mailings they mostly come from: config/celery.py).
@shared_task(acks_late=True, ignore_result=True)
def email_event_process(event_id: int) -> str:
    return events.email_event_process(event_id=event_id).status


@shared_task(ignore_result=True)
def email_events_sweep() -> dict[str, int]:
    return events.email_events_sweep()
