"""Helpers of the bulk mail tests: mailings of the test kind, what was sent, a scripted backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from mailer import services
from mailer.models import Delivery, Mailing
from tests.bulkkind import kind as test_kind
from tests.bulkkind.kind import KIND, planned


def mailing_planned(numbers: Sequence[int] | range, **about: str) -> Mailing:
    mailing = services.mailing_create(kind=KIND, about={"title": "Good news", **about})
    services.deliveries_add(mailing=mailing, recipients=planned(numbers))
    return mailing


def mailing_sending(numbers: Sequence[int] | range, **about: str) -> Mailing:
    mailing = mailing_planned(numbers, **about)
    Mailing.objects.filter(pk=mailing.pk).update(status=Mailing.Status.SENDING)
    mailing.refresh_from_db()
    return mailing


def statuses(mailing: Mailing) -> dict[str, str]:
    """Recipient number → status."""
    return {
        str(test_kind.number(recipient_ref)): status
        for recipient_ref, status in Delivery.objects.filter(mailing=mailing).values_list(
            "recipient_ref", "status"
        )
    }


def received() -> list[str]:
    return [to for message in mail.outbox for to in message.to]


class ScriptedBackend(BaseEmailBackend):
    """Raises the scripted error for the recipients named, delivers the rest (locmem)."""

    errors: ClassVar[dict[str, BaseException]] = {}
    open_error: ClassVar[BaseException | None] = None

    def open(self) -> bool:
        if ScriptedBackend.open_error is not None:
            raise ScriptedBackend.open_error
        return True

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            error = ScriptedBackend.errors.pop(message.to[0], None)
            if error is not None:
                raise error
            mail.outbox.append(message)
        return len(email_messages)
