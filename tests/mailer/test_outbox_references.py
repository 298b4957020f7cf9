"""The outbox knows whom and what a message is about only by references, asked by index."""

from __future__ import annotations

import pytest
from django.db import connection

from mailer import selectors, services
from mailer.models import AboutKey, OutboxMessage
from mailer.registry import UnknownEmailKindError, email_type_get, email_type_register

pytestmark = pytest.mark.django_db


def row(recipient: int, **about: int) -> OutboxMessage:
    return OutboxMessage.objects.create(
        kind="signature_already_signed",
        recipient_ref=f"petitions.supporter:{recipient}",
        about={key: str(value) for key, value in about.items()},
    )


def plan(query: str, params: list[object]) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A few rows: the planner would scan; ask whether it can use the index at all.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {query}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {query}", params)
        return " ".join(str(line) for line in cursor.fetchall())


@pytest.mark.parametrize("key", ["petition", "signature", "sign_attempt"])
def test_asking_by_what_a_message_is_about_uses_that_keys_index(key):
    for pk in range(20):
        row(pk, **{key: pk})
    messages = selectors.outbox_messages_filter(about_key=key, about_ids=[3, 4])
    query, params = messages.query.sql_with_params()
    assert f"outbox_about_{key}" in plan(query, list(params))
    assert messages.count() == 2


def test_deleting_by_recipient_or_subject_spares_everyone_else():
    anna, bo, cy = row(1, signature=10), row(2, signature=20), row(3, petition=5)
    OutboxMessage.objects.filter(pk=cy.pk).update(status=OutboxMessage.Status.SENT)

    assert services.outbox_messages_delete(recipient_refs=["petitions.supporter:1"]) == 1
    assert (
        services.outbox_messages_delete(about_key="petition", about_ids=[5], unsent_only=True) == 0
    )
    assert services.outbox_messages_delete(about_key="signature", about_ids=[]) == 0

    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {bo.pk, cy.pk}
    assert not OutboxMessage.objects.filter(pk=anna.pk).exists()


def test_an_about_key_must_be_a_plain_name():
    with pytest.raises(ValueError, match="not a key"):
        AboutKey("petition'); DROP TABLE x; --")


def test_a_message_whose_recipient_is_gone_fails_for_good_and_sends_nothing(mailoutbox):
    """Without a cascade, a row left behind by a deleted person is never mailed."""
    message = row(999_999)

    outcome = services.outbox_message_send(message_id=message.pk)

    message.refresh_from_db()
    assert outcome.status == OutboxMessage.Status.FAILED
    assert message.last_error == services.NO_ADDRESS_ERROR
    assert mailoutbox == []


def test_a_kind_belongs_to_the_app_that_registered_it():
    existing = email_type_get(kind="signature_confirm")

    with pytest.raises(ValueError, match="already registered"):
        email_type_register(kind="signature_confirm", label="Mine", build=lambda message: None)

    assert email_type_get(kind="signature_confirm") == existing
    with pytest.raises(UnknownEmailKindError):
        email_type_get(kind="no_such_email")
