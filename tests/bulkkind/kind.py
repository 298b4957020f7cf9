"""The builder of the test kind: one template per language, per-recipient merge data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from mailer.models import Mailing
from mailer.registry import (
    BulkBatch,
    BulkDelivery,
    BulkRecipient,
    BulkTemplate,
    bulk_email_type_register,
    merge_field,
)
from trust.identity import email_digest

KIND = "test_bulk"
SITE = "https://sbor.test"
# How many times build_batch ran: a batch costs one call, whatever its size.
calls: list[int] = []


def ref(n: int) -> str:
    return f"test.person:{n}"


def number(recipient_ref: str) -> int:
    return int(recipient_ref.rpartition(":")[2])


def address(n: int) -> str:
    return f"person{n}@example.org"


def digest(n: int) -> str:
    return email_digest(address(n))


def planned(numbers: Sequence[int] | range, language: str = "en") -> list[tuple[str, str, str]]:
    """Recipients for ``deliveries_add``: (recipient_ref, address digest, language)."""
    return [(ref(n), digest(n), language) for n in numbers]


def _template(mailing: Mailing, language: str) -> BulkTemplate:
    title = mailing.about.get("title", "News")
    hello = "Здравствуйте" if language == "ru" else "Hello"
    unsubscribe = merge_field("unsubscribe_url")
    name = merge_field("name")
    return BulkTemplate(
        subject=f"{title} ({language})",
        text=f"{hello} {name},\n\n{title}\n\nUnsubscribe: {unsubscribe}\n",
        html=f"<p>{hello} {name},</p><p>{escape(title)}</p>"
        f'<p><a href="{unsubscribe}">Unsubscribe</a></p>',
    )


def build_batch(mailing: Mailing, deliveries: Sequence[BulkDelivery]) -> BulkBatch:
    calls.append(len(deliveries))
    skip = {int(n) for n in mailing.about.get("skip", "").split(",") if n}
    languages = {delivery.language for delivery in deliveries}
    recipients: dict[int, BulkRecipient | None] = {}
    for delivery in deliveries:
        n = number(delivery.recipient_ref)
        if n in skip:
            recipients[delivery.id] = None
            continue
        url = f"{SITE}/u/{mailing.public_id}/{n}/"
        recipients[delivery.id] = BulkRecipient(
            address=address(n),
            template=delivery.language,
            merge_data={"name": f"Person <{n}>", "unsubscribe_url": url},
            headers={
                "List-Unsubscribe": f"<{url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
    return BulkBatch(
        templates={language: _template(mailing, language) for language in languages},
        recipients=recipients,
    )


# What the registered builder calls: tests swap in a broken or altered one here.
active: Callable[[Mailing, Sequence[BulkDelivery]], BulkBatch] = build_batch


def _dispatch(mailing: Mailing, deliveries: Sequence[BulkDelivery]) -> BulkBatch:
    return active(mailing, deliveries)


def register() -> None:
    bulk_email_type_register(kind=KIND, label="Test bulk mail", build_batch=_dispatch)
