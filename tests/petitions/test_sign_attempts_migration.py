"""The migration to sign attempts converts what the old design stored.

Signatures flagged automatically become anonymous tallies (and the people they alone
named are deleted); pending signatures keep their emailed link and code through one
attempt each.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from petitions import tokens
from tests.factories import campaign_create
from tests.migrations import latest, migrate
from trust import identity

BEFORE = [("petitions", "0006_supporter_email_drop_due"), ("mailer", "0002_manage_link_kind")]
AFTER = [("petitions", "0009_signature_code_digest_drop"), ("mailer", "0003_outbox_sign_attempt")]
_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


def old_code(public_id: str) -> str:
    """The code the old design mailed: derived from the signature's id and SECRET_KEY."""
    mac = hmac.new(
        settings.SECRET_KEY.encode(), f"confirm-code:{public_id}".encode(), hashlib.sha256
    ).digest()
    number = int.from_bytes(mac[:8], "big")
    chars = []
    for _ in range(8):
        number, index = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return "".join(chars)


@pytest.mark.django_db(transaction=True)
def test_legacy_rows_become_tallies_and_attempts_with_the_mailed_code() -> None:
    old = migrate(BEFORE)
    try:
        # Campaigns are not rolled back: the real model makes one.
        campaign = campaign_create(slug="c")
        petition = old.get_model("petitions", "Petition").objects.create(
            campaign_id=campaign.pk, slug="p", title="P", ask="A", target="T", status="open"
        )
        Supporter = old.get_model("petitions", "Supporter")
        Signature = old.get_model("petitions", "Signature")
        Consent = old.get_model("petitions", "Consent")

        def supporter(email: str, name: str) -> Any:
            return Supporter.objects.create(
                email_digest=identity.email_digest(email), email=email, name=name
            )

        bot = supporter("bot@example.org", "Bot")
        Signature.objects.create(
            petition=petition,
            supporter=bot,
            status="invalidated",
            invalid_reason="automated",
            invalid_detail="honeypot",
            invalidated_at=timezone.now(),
            confirm_code_digest="x",
        )
        staff_removed = supporter("reviewed@example.org", "Reviewed")
        Signature.objects.create(
            petition=petition,
            supporter=staff_removed,
            status="invalidated",
            invalid_reason="staff",
            confirm_code_digest="y",
        )
        anna = supporter("anna@example.org", "Anna")
        pending = Signature.objects.create(
            petition=petition,
            supporter=anna,
            display="short",
            confirmation_requested_at=timezone.now() - timedelta(days=1),
            confirm_code_digest="z",
        )
        Consent.objects.create(
            supporter=anna,
            campaign_id=campaign.pk,
            signature=pending,
            purpose="campaign_updates",
            method="sign_form",
            wording_version="1",
        )
        pending_id = str(pending.public_id)
    finally:
        new = migrate(AFTER)
        # Leave today's schema (later migrations of other apps too) for the tests after this.
        migrate(latest())

    Tally = new.get_model("petitions", "FlaggedAttemptTally")
    assert list(Tally.objects.values_list("reason", "detail", "count")) == [
        ("automated", "honeypot", 1)
    ]
    Signature = new.get_model("petitions", "Signature")
    assert sorted(Signature.objects.values_list("status", "invalid_reason")) == [
        ("invalidated", "staff"),
        ("pending", ""),
    ]
    Supporter = new.get_model("petitions", "Supporter")
    assert not Supporter.objects.filter(email_digest=identity.email_digest("bot@example.org"))
    attempt = new.get_model("petitions", "SignAttempt").objects.get()
    assert str(attempt.public_id) == pending_id  # the emailed link names it
    assert (attempt.name, attempt.display, attempt.consent_updates) == ("Anna", "short", True)
    assert not new.get_model("petitions", "Consent").objects.exists()  # until confirmed

    # The link and the code mailed before the migration confirm the signature.
    client = Client()
    code = old_code(pending_id)
    response = client.post("/p/p/confirm/", {"code": code})
    assert response.status_code == 302  # to the review page the emailed link opens
    assert client.post(response["Location"]).status_code == 302  # confirmed as shown
    assert Signature.objects.get(status="confirmed").display == "short"
    link = tokens.confirm_token_make(pending_id)
    assert client.post(f"/confirm/{link}/").status_code == 302
