"""The outbox's move to references keeps every row's recipient, subject and status.

Rows written with foreign keys to petitions' tables become ``recipient_ref`` and
``about``; a queued one is still sent to the address stored on its supporter.
"""

from __future__ import annotations

import pytest
from django.core import mail

from mailer.models import OutboxMessage
from mailer.services import outbox_message_send
from tests.factories import campaign_create
from tests.migrations import latest, migrate
from trust import identity

LATEST_PETITIONS = ("petitions", "0009_signature_code_digest_drop")
BEFORE = [LATEST_PETITIONS, ("mailer", "0003_outbox_sign_attempt")]
AFTER = [LATEST_PETITIONS, ("mailer", "0004_outbox_references")]


@pytest.mark.django_db(transaction=True)
def test_old_rows_keep_recipient_subject_and_status_and_a_queued_one_is_still_sent() -> None:
    old = migrate(BEFORE)
    try:
        campaign = campaign_create(slug="c")  # campaigns are not migrated here
        petition = old.get_model("petitions", "Petition").objects.create(
            campaign_id=campaign.pk, slug="p", title="Save the park", ask="A", target="T"
        )
        anna = old.get_model("petitions", "Supporter").objects.create(
            email_digest=identity.email_digest("anna@example.org"), email="anna@example.org"
        )
        dropped = old.get_model("petitions", "Supporter").objects.create(
            email_digest=identity.email_digest("bo@example.org"), email=""
        )
        signature = old.get_model("petitions", "Signature").objects.create(
            petition=petition, supporter=anna
        )
        attempt = old.get_model("petitions", "SignAttempt").objects.create(
            petition=petition,
            signature=signature,
            email="anna@example.org",
            confirm_code="ABCD2345",
            confirm_code_digest="d",
        )
        Outbox = old.get_model("mailer", "OutboxMessage")
        confirm = Outbox.objects.create(
            kind="signature_confirm",
            supporter=anna,
            petition=petition,
            signature=signature,
            sign_attempt=attempt,
        )
        sent = Outbox.objects.create(
            kind="signature_already_signed",
            supporter=anna,
            petition=petition,
            signature=signature,
            status="sent",
        )
        link = Outbox.objects.create(kind="signature_manage_link", supporter=dropped)
    finally:
        migrate(latest())

    rows = {
        row.pk: (row.kind, row.recipient_ref, row.about, row.status)
        for row in OutboxMessage.objects.all()
    }
    assert rows == {
        confirm.pk: (
            "signature_confirm",
            f"petitions.supporter:{anna.pk}",
            {
                "petition": str(petition.pk),
                "signature": str(signature.pk),
                "sign_attempt": str(attempt.pk),
            },
            "queued",
        ),
        sent.pk: (
            "signature_already_signed",
            f"petitions.supporter:{anna.pk}",
            {"petition": str(petition.pk), "signature": str(signature.pk)},
            "sent",
        ),
        link.pk: ("signature_manage_link", f"petitions.supporter:{dropped.pk}", {}, "queued"),
    }

    mail.outbox.clear()
    assert outbox_message_send(message_id=confirm.pk).status == "sent"
    [email] = mail.outbox
    assert email.to == ["anna@example.org"]
    assert email.subject == "Confirm your signature: Save the park"
    assert "ABCD-2345" in email.body
    # The address was dropped before the migration: still nobody to write to.
    assert outbox_message_send(message_id=link.pk).status == "failed"
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_going_back_restores_the_foreign_keys_and_drops_rows_of_people_gone() -> None:
    new = migrate(AFTER)
    try:
        campaign = campaign_create(slug="c")
        petition = new.get_model("petitions", "Petition").objects.create(
            campaign_id=campaign.pk, slug="p", title="P", ask="A", target="T"
        )
        anna = new.get_model("petitions", "Supporter").objects.create(
            email_digest=identity.email_digest("anna@example.org"), email="anna@example.org"
        )
        signature = new.get_model("petitions", "Signature").objects.create(
            petition=petition, supporter=anna
        )
        Outbox = new.get_model("mailer", "OutboxMessage")
        kept = Outbox.objects.create(
            kind="signature_already_signed",
            recipient_ref=f"petitions.supporter:{anna.pk}",
            about={"petition": str(petition.pk), "signature": str(signature.pk)},
        )
        Outbox.objects.create(
            kind="signature_manage_link", recipient_ref="petitions.supporter:999999"
        )
        old = migrate(BEFORE)
        rows = list(
            old.get_model("mailer", "OutboxMessage").objects.values_list(
                "pk", "supporter_id", "petition_id", "signature_id", "sign_attempt_id"
            )
        )
        assert rows == [(kept.pk, anna.pk, petition.pk, signature.pk, None)]
    finally:
        migrate(latest())
