"""Hostile payloads and the check that a page or email shows them inert."""

from __future__ import annotations

from django.test import Client

from petitions.models import Petition
from tests.html import elements
from tests.security.markup import inline_code

PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "attribute": '"><img src=x onerror=alert(1)>',
    "single-quote": "'><svg onload=alert(1)>",
    "javascript-url": "javascript:alert(1)",
    "template": "{{ 7*7 }}",
}

SIGNER = {"name": "Anna Karenina", "email": "anna@example.org", "display": "full"}


def assert_inert(html: str, payload: str = "", *, email: bool = False) -> None:
    """Nothing in ``html`` runs or loads: no inline script, event handler, javascript: URL,
    or injected element; and ``payload``, if it holds markup, only appears escaped.

    Emails may have style attributes (mail clients need them, and no CSP applies there).
    """
    found = inline_code(html)
    if email:
        found = [item for item in found if " style=" not in item]
    assert found == []
    assert elements(html, "img") == []
    assert elements(html, "svg") == []
    if any(char in payload for char in "<>\"'"):
        assert payload not in html


def sign(client: Client, petition: Petition, captured, **fields: str):
    with captured(execute=True):
        return client.post(f"/p/{petition.slug}/sign/", {**SIGNER, **fields})
