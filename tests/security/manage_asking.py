"""Asking for a manage link as a client would, and what a client sees of the answer."""

from __future__ import annotations

from typing import Any

from django.test import Client

KNOWN = "Known.Signer@example.org"
UNKNOWN = "never.signed@example.org"


def ask(email: str, *, ip: str = "198.51.100.7", client: Client | None = None) -> Any:
    return (client or Client()).post("/manage/", {"email": email}, REMOTE_ADDR=ip)
