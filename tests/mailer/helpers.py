"""Outbox rows for the outbox tests: queued, or in a given state and age."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from mailer.models import OutboxMessage
from tests.factories import signature_create

ADDRESS = "Anna.K+Petition@Example.ORG"


def queued_message(**fields: Any) -> OutboxMessage:
    """A signature's confirmation email, written but not sent (its commit never happens)."""
    signature = signature_create(**fields)
    return OutboxMessage.objects.get(about__signature=str(signature.pk))


def message_in_state(*, age: timedelta = timedelta(minutes=5), **state: Any) -> OutboxMessage:
    message = queued_message()
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - age, **state)
    message.refresh_from_db()
    return message
