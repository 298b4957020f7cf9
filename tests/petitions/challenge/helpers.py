"""Helpers shared by the proof-of-work challenge tests."""

from __future__ import annotations

from django.core import mail

from mailer.models import OutboxMessage
from petitions.models import Petition, Signature, Supporter
from tests.factories import post_and_run_tasks
from tests.html import elements

POLITE = (
    "This petition is receiving many signatures. To keep robots out, please wait a few "
    "seconds and press Sign again."
)


def campaign_page(client, petition: Petition) -> str:
    return client.get(f"/c/{petition.campaign.slug}/").content.decode()


def sign(client, petition: Petition, **fields: str):
    data = {"name": "Anna Karenina", "email": "anna@example.org", "display": "hidden"}
    data.update(fields)
    return post_and_run_tasks(client, f"/p/{petition.slug}/sign/", data)


def widget_of(html: str) -> dict[str, str | None]:
    [widget] = elements(html, "div", **{"class": "challenge"})
    return widget


def wait_token_of(html: str) -> str:
    [field] = elements(html, "input", name="challenge_wait")
    assert field["value"]
    return str(field["value"])


def nothing_stored() -> bool:
    return not (
        Signature.objects.exists() or Supporter.objects.exists() or OutboxMessage.objects.exists()
    )


def assert_asked_again_politely(response) -> None:
    assert response.status_code == 422
    html = response.content.decode()
    assert POLITE in html
    # What the person typed is still there, and a fresh check comes with it.
    assert elements(html, "input", name="name", value="Anna Karenina")
    assert elements(html, "input", name="email", value="anna@example.org")
    assert widget_of(html)["data-challenge"]
    wait_token_of(html)
    assert nothing_stored()
    assert mail.outbox == []
