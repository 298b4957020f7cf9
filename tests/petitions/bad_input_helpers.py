"""Helpers shared by the bad-input tests: reading the form back, counting stored rows."""

from __future__ import annotations

from mailer.models import OutboxMessage
from petitions.models import Consent, Signature, Supporter
from tests.html import elements

# --- Helpers ------------------------------------------------------------------------------


def by_id(html: str, element_id: str) -> dict[str, str | None]:
    found = elements(html, id=element_id)
    assert len(found) == 1, f"expected one element with id {element_id!r}, found {len(found)}"
    return found[0]


def page(response) -> str:
    return response.content.decode()


def stored_rows() -> dict[str, int]:
    return {
        "signatures": Signature.objects.count(),
        "supporters": Supporter.objects.count(),
        "outbox": OutboxMessage.objects.count(),
        "consents": Consent.objects.count(),
    }


def snapshot(signature: Signature) -> tuple[dict, dict]:
    signature = Signature.objects.select_related("supporter").get(pk=signature.pk)
    fields = ("status", "display", "language", "confirmation_requested_at", "confirmed_at")
    supporter_fields = ("email", "name", "country", "language", "email_digest")
    return (
        {field: getattr(signature, field) for field in fields},
        {field: str(getattr(signature.supporter, field)) for field in supporter_fields},
    )


VALID = {
    "name": "Anna Karenina",
    "email": "existing@example.org",
    "display": "full",
    "country": "FR",
}
