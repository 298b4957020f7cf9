"""Helpers shared by the sign API tests: posting JSON, a valid body, counting rows."""

from __future__ import annotations

import json

from mailer.models import OutboxMessage
from petitions.models import Consent, Petition, Signature, Supporter
from tests.factories import post_and_run_tasks


def url_of(petition: Petition) -> str:
    return f"/api/v1/petitions/{petition.slug}/signatures/"


def post(client, petition: Petition, body: object, **extra):
    return post_and_run_tasks(
        client, url_of(petition), json.dumps(body), content_type="application/json", **extra
    )


def anna(**fields: object) -> dict[str, object]:
    body: dict[str, object] = {"name": "Anna Karenina", "email": "anna@example.org"}
    body.update(fields)
    return body


def stored_rows() -> tuple[int, int, int, int]:
    return (
        Signature.objects.count(),
        Supporter.objects.count(),
        OutboxMessage.objects.count(),
        Consent.objects.count(),
    )
