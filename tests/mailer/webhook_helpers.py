"""Posting provider webhooks as the providers do, and sent messages for them to be about."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from mailer import services
from mailer.models import Delivery, EmailEvent, Mailing, Suppression
from tests.bulkkind import kind as test_kind
from tests.bulkkind.kind import KIND, planned
from tests.factories import tasks_run_on_commit
from tests.mailer.webhook_payloads import MAILGUN_KEY, NEW_SECRET, OLD_SECRET, basic_auth


def webhooks_on(settings: Any, *, secrets: list[str] | None = None) -> None:
    """Postmark's and Mailgun's webhooks on, with two secrets accepted (a rotation)."""
    settings.MAILER_WEBHOOK_ESPS = ["postmark", "mailgun"]
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": [OLD_SECRET, NEW_SECRET] if secrets is None else secrets,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
    }


def url(esp: Any) -> str:
    return f"/anymail/{esp.name}/tracking/"


def post(client: Any, esp: Any, payload: Any, *, secret: str | None = NEW_SECRET) -> Any:
    """POST as the provider does, then run the tasks the request enqueued (as a worker)."""
    body = payload if isinstance(payload, bytes) else esp.body(payload)
    auth = basic_auth(secret) if secret is not None else {}
    with tasks_run_on_commit():
        return client.post(url(esp), data=body, content_type="application/json", **auth)


def delivery_sent(n: int, *, provider_message_id: str, mailing: Mailing | None = None) -> Delivery:
    """Test person ``n``'s delivery of a bulk mailing, handed to the provider (status sent)."""
    test_kind.register()
    if mailing is None:
        mailing = services.mailing_create(kind=KIND, about={"title": "Good news"})
    services.deliveries_add(mailing=mailing, recipients=planned([n]))
    delivery = Delivery.objects.get(mailing=mailing, recipient_ref=test_kind.ref(n))
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENT, sent_at=timezone.now(), provider_message_id=provider_message_id
    )
    delivery.refresh_from_db()
    return delivery


def suppressed(n: int) -> str | None:
    """The reason test person ``n`` is suppressed for, or None."""
    entry = Suppression.objects.filter(address_digest=test_kind.digest(n)).first()
    return None if entry is None else entry.reason


def events() -> list[tuple[str, str]]:
    return list(EmailEvent.objects.order_by("pk").values_list("event_type", "bounce_kind"))
