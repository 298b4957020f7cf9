"""Celery tasks for email. Thin: they take ids and call mailer.services."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from mailer import services


@shared_task(bind=True, acks_late=True, max_retries=None, ignore_result=True)
def outbox_send(self: Any, message_id: int) -> str:
    outcome = services.outbox_message_send(message_id=message_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(ignore_result=True)
def outbox_requeue() -> int:
    return services.outbox_requeue()
