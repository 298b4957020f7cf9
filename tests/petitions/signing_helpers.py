"""Helpers shared by the signing and confirming tests."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.test import Client

from petitions import tokens
from petitions.models import Petition, Signature
from tests.factories import latest_attempt, tasks_run_on_commit
from tests.html import elements

# --- Helpers ------------------------------------------------------------------------------


def page(response) -> str:
    return response.content.decode()


def sign(client: Client, petition: Petition, **fields: str):
    data = {"name": "Anna Karenina", "email": "anna@example.org", "display": "hidden"}
    data.update(fields)
    with tasks_run_on_commit():
        return client.post(f"/p/{petition.slug}/sign/", data)


def confirm_link_path(message) -> str:
    match = re.search(r"https?://\S+/confirm/[^/\s]+/", message.body)
    assert match, "the confirmation email has no confirmation link"
    return urlsplit(match.group(0)).path


def code_of(signature: Signature) -> str:
    """The code in the signature's latest confirmation email."""
    return tokens.confirm_code_display(latest_attempt(signature).confirm_code)


def code_confirm(client, petition: Petition, code: str):  # type: ignore[no-untyped-def]
    """Type the code, land on the review page of the emailed link, and confirm as shown."""
    typed = client.post(f"/p/{petition.slug}/confirm/", {"code": code})
    assert typed.status_code == 302
    assert typed["Location"].startswith("/confirm/")
    review = client.get(typed["Location"])
    assert review.status_code == 200
    assert elements(page(review), "input", name="name")
    assert Signature.objects.get().status == Signature.Status.PENDING  # not before the POST
    response = client.post(typed["Location"])
    assert response.status_code == 302
    return response
