"""The fan-out benchmark's bulk kind and its discarding ESP backend (bench/fanout.py).

The kind does what a feature app's builder does per batch: one query for the batch's
supporters (their stored, encrypted addresses decrypted), one template per language, a
dict per recipient. Every bench supporter shares one stored address, so each recipient is
sent to a unique one made from their id (``bench+<id>@example.invalid``) instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.message import AnymailRecipientStatus
from django.apps import AppConfig

KIND = "bench_fanout"
_ids = itertools.count()


class DiscardingTestBackend(AnymailTestBackend):
    """Anymail's test backend without its memory: it builds the ESP payload as the test
    backend does, answers "sent" for every recipient, and keeps nothing (the test
    backend's ``mail.outbox`` would grow with the audience and look up ids in it)."""

    def post_to_esp(self, payload: Any, message: Any) -> dict[str, Any]:
        payload.get_params()
        status = AnymailRecipientStatus(message_id=f"bench-{next(_ids)}", status="sent")
        return {"recipient_status": dict.fromkeys(payload.recipient_emails, status)}


def build_batch(mailing: Any, deliveries: Sequence[Any]) -> Any:
    from mailer.registry import BulkBatch, BulkRecipient, BulkTemplate, merge_field
    from petitions.models import Supporter

    ids = {int(d.recipient_ref.rpartition(":")[2]): d.id for d in deliveries}
    people = Supporter.objects.filter(pk__in=list(ids)).only("pk", "email")
    recipients: dict[int, BulkRecipient | None] = dict.fromkeys((d.id for d in deliveries), None)
    for person in people:
        if not person.email:  # decrypts, as a real builder does
            continue
        url = f"https://sbor.example/u/{mailing.public_id}/{person.pk}/"
        recipients[ids[person.pk]] = BulkRecipient(
            address=f"bench+{person.pk}@example.invalid",
            template="en",
            merge_data={"unsubscribe_url": url},
            headers={
                "List-Unsubscribe": f"<{url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
    unsubscribe = merge_field("unsubscribe_url")
    body = "The petition was delivered today. Thank you for signing.\n" * 20
    template = BulkTemplate(
        subject="News about the petition you signed",
        text=f"{body}\nUnsubscribe: {unsubscribe}\n",
        html=f'<p>{body}</p><p><a href="{unsubscribe}">Unsubscribe</a></p>',
    )
    return BulkBatch(templates={"en": template}, recipients=recipients)


class FanoutConfig(AppConfig):
    name = "bench"
    label = "bench_fanout"

    def ready(self) -> None:
        from mailer.registry import bulk_email_type_register

        bulk_email_type_register(kind=KIND, label="Benchmark", build_batch=build_batch)
