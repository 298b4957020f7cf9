"""Celery tasks for email. Thin: they take ids and call mailer.services."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from mailer import services


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
