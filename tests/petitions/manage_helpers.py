"""Helpers shared by the manage page tests."""

from __future__ import annotations

from petitions.models import Signature, Supporter
from petitions.services import manage_links, signature_counts_refresh

ADDRESS = "Anna.Karenina@example.org"


# --- Helpers ------------------------------------------------------------------------------


def page(response) -> str:
    return response.content.decode()


def manage_path(supporter: Supporter) -> str:
    return f"/manage/{manage_links.manage_token_make(supporter=supporter)}/"


def counted(signature: Signature) -> Signature:
    signature_counts_refresh()
    signature.refresh_from_db()
    assert signature.counted
    return signature


# --- Withdrawing --------------------------------------------------------------------------


def withdraw_path(anna_path: str, signature: Signature) -> str:
    return f"{anna_path}signatures/{signature.public_id}/withdraw/"
