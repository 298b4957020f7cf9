"""Bulk mail: planning, sending, failures, and the exactly-once claim and hand-over."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from mailer import services
from mailer.bulk import rows
from mailer.bulk.sending import mailing_send
from mailer.bulk.sweep import mailings_sweep
from mailer.models import Delivery, Mailing, Suppression
from mailer.registry import (
    BulkRecipient,
    UnknownEmailKindError,
    bulk_email_type_register,
    email_type_register,
    merge_field,
)
from tests.bulkkind import kind as test_kind
from tests.bulkkind.kind import KIND, address, digest, planned, ref
from tests.mailer.bulk_helpers import mailing_planned, mailing_sending, received, statuses

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bulk_kind")]
S = Delivery.Status


# --- Planning -------------------------------------------------------------------------------


def test_planning_adds_one_delivery_per_recipient_and_says_how_many():
    mailing = services.mailing_create(kind=KIND, about={"update": "7"})

    added = services.deliveries_add(mailing=mailing, recipients=planned(range(2500)))

    assert added == 2500
    assert Delivery.objects.filter(mailing=mailing, status=S.QUEUED).count() == 2500
    row = Delivery.objects.get(mailing=mailing, recipient_ref=ref(7))
    assert row.address_digest == digest(7)
    assert row.language == "en"
    assert mailing.status == Mailing.Status.PLANNING


def test_planning_again_adds_only_the_recipients_still_missing():
    mailing = mailing_planned(range(10))

    added = services.deliveries_add(mailing=mailing, recipients=planned(range(5, 15)))

    assert added == 5
    assert Delivery.objects.filter(mailing=mailing).count() == 15


def test_the_database_refuses_a_second_delivery_to_one_recipient():
    mailing = mailing_planned([1])

    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(mailing=mailing, recipient_ref=ref(1), address_digest=digest(1))


def test_planning_reads_the_audience_lazily_from_a_generator():
    mailing = services.mailing_create(kind=KIND)
    seen: list[int] = []

    def audience() -> Iterator[tuple[str, str, str]]:
        for n in range(2100):
            seen.append(n)
            yield ref(n), digest(n), "en"

    assert services.deliveries_add(mailing=mailing, recipients=audience()) == 2100
    assert len(seen) == 2100


def test_a_started_mailing_takes_no_more_recipients():
    mailing = mailing_sending([1])

    with pytest.raises(services.MailingNotPlanning):
        services.deliveries_add(mailing=mailing, recipients=planned([2]))


def test_a_recipient_needs_a_reference_and_a_full_digest():
    mailing = services.mailing_create(kind=KIND)

    with pytest.raises(ValueError, match="digest"):
        services.deliveries_add(mailing=mailing, recipients=[(ref(1), "abc", "en")])
    with pytest.raises(ValueError, match="reference"):
        services.deliveries_add(mailing=mailing, recipients=[("", digest(1), "en")])
    assert not Delivery.objects.exists()


def test_a_mailing_of_an_unregistered_kind_is_refused():
    with pytest.raises(UnknownEmailKindError):
        services.mailing_create(kind="no_such_kind")


def test_a_kind_is_either_transactional_or_bulk():
    with pytest.raises(ValueError, match="bulk"):
        email_type_register(kind=KIND, label="x", build=lambda message: None)
    with pytest.raises(ValueError, match="transactional"):
        bulk_email_type_register(
            kind="signature_confirm", label="x", build_batch=test_kind.build_batch
        )


def test_a_merge_field_name_is_lower_case_words():
    assert merge_field("unsubscribe_url") == "[[sbor:unsubscribe_url]]"
    for bad in ("Name", "a__b", "with space", "trailing_", ""):
        with pytest.raises(ValueError):
            merge_field(bad)


# --- Starting and sending -------------------------------------------------------------------


def test_starting_enqueues_the_send_tasks_after_commit_and_sends_everyone(
    django_capture_on_commit_callbacks, settings
):
    mailing = mailing_planned(range(5))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert services.mailing_start(mailing=mailing) is True
        assert mail.outbox == []

    assert len(callbacks) == settings.MAILER_BULK_TASKS
    assert sorted(received()) == sorted(address(n) for n in range(5))
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DONE
    assert mailing.started_at is not None
    assert mailing.finished_at is not None
    assert set(statuses(mailing).values()) == {S.SENT}


def test_starting_twice_starts_once(django_capture_on_commit_callbacks):
    mailing = mailing_planned([1])
    with django_capture_on_commit_callbacks(execute=False):
        assert services.mailing_start(mailing=mailing) is True
        assert services.mailing_start(mailing=mailing) is False


def test_each_recipient_gets_their_own_message_with_their_own_headers():
    mailing = mailing_sending([1, 2])

    report = mailing_send(mailing_id=mailing.pk)

    assert report.sent == 2
    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {address(1), address(2)}
    first = by_address[address(1)]
    url = f"https://sbor.test/u/{mailing.public_id}/1/"
    assert first.subject == "Good news (en)"
    assert first.body == f"Hello Person <1>,\n\nGood news\n\nUnsubscribe: {url}\n"
    html = first.alternatives[0][0]
    assert "Hello Person &lt;1&gt;," in html
    assert f'href="{url}"' in html
    assert first.extra_headers["List-Unsubscribe"] == f"<{url}>"
    assert first.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first.extra_headers["Auto-Submitted"] == "auto-generated"
    assert "/u/" in by_address[address(2)].extra_headers["List-Unsubscribe"]
    assert "/2/" in by_address[address(2)].extra_headers["List-Unsubscribe"]
    # No tracking, and only an opaque id for the provider.
    assert first.track_opens is False
    assert first.track_clicks is False
    assert first.tags == []
    row = Delivery.objects.get(mailing=mailing, recipient_ref=ref(1))
    assert first.metadata == {"delivery": str(row.pk)}
    assert row.status == S.SENT
    assert row.sent_at is not None
    assert row.attempts == 1
    # Without an ESP's id, the Message-ID we gave it (bounces quote it).
    assert row.provider_message_id == first.extra_headers["Message-ID"]


def test_each_recipient_gets_the_language_they_were_planned_in():
    mailing = services.mailing_create(kind=KIND, about={"title": "News"})
    services.deliveries_add(mailing=mailing, recipients=planned([1], "en") + planned([2], "ru"))
    Mailing.objects.filter(pk=mailing.pk).update(status=Mailing.Status.SENDING)

    mailing_send(mailing_id=mailing.pk)

    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert subjects == {address(1): "News (en)", address(2): "News (ru)"}
    russian = next(message for message in mail.outbox if message.to[0] == address(2))
    assert russian.body.startswith("Здравствуйте Person <2>,")


def test_the_builder_is_called_once_per_batch(settings):
    settings.MAILER_BULK_BATCH_SIZE = 10
    mailing = mailing_sending(range(25))

    mailing_send(mailing_id=mailing.pk)

    assert test_kind.calls == [10, 10, 5]
    assert len(mail.outbox) == 25


def test_nobody_on_the_suppression_list_is_mailed_even_if_listed_after_planning():
    mailing = mailing_sending([1, 2, 3])
    services.suppression_add(address_digest=digest(2), reason=Suppression.Reason.HARD_BOUNCE)

    mailing_send(mailing_id=mailing.pk)

    assert sorted(received()) == [address(1), address(3)]
    assert statuses(mailing) == {"1": S.SENT, "2": S.SUPPRESSED, "3": S.SENT}


def test_a_recipient_the_builder_finds_nobody_for_is_skipped():
    mailing = mailing_sending([1, 2, 3], skip="2")

    mailing_send(mailing_id=mailing.pk)

    assert sorted(received()) == [address(1), address(3)]
    assert statuses(mailing)["2"] == S.SKIPPED


def test_a_recipient_whose_data_does_not_fit_the_template_fails_alone(monkeypatch):
    mailing = mailing_sending([1, 2])
    original = test_kind.build_batch

    def build_without_a_field(mailing: Mailing, deliveries: Any) -> Any:
        batch = original(mailing, deliveries)
        for recipient in batch.recipients.values():
            if recipient is not None and recipient.address == address(2):
                del recipient.merge_data["unsubscribe_url"]
        return batch

    monkeypatch.setattr(test_kind, "active", build_without_a_field)

    mailing_send(mailing_id=mailing.pk)

    assert received() == [address(1)]
    row = Delivery.objects.get(mailing=mailing, recipient_ref=ref(2))
    assert row.status == S.FAILED
    assert "unsubscribe_url" in row.last_error


def test_a_failing_builder_puts_the_batch_back_for_later(monkeypatch):
    mailing = mailing_sending([1, 2])

    def broken(mailing: Mailing, deliveries: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(test_kind, "active", broken)

    mailing_send(mailing_id=mailing.pk)

    assert mail.outbox == []
    for row in Delivery.objects.filter(mailing=mailing):
        assert row.status == S.QUEUED
        assert row.attempts == 1
        assert row.next_attempt_at > timezone.now()
        assert row.claim == ""
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENDING


def test_a_transient_refusal_is_retried_later_and_the_rest_still_go(scripted):
    mailing = mailing_sending([1, 2, 3])
    scripted.errors[address(2)] = smtplib.SMTPResponseException(
        451, f"4.7.1 Greylisted {address(2)}".encode()
    )

    mailing_send(mailing_id=mailing.pk)

    assert sorted(received()) == [address(1), address(3)]
    row = Delivery.objects.get(mailing=mailing, recipient_ref=ref(2))
    assert row.status == S.QUEUED
    assert row.attempts == 1
    assert row.next_attempt_at > timezone.now()
    assert "451" in row.last_error
    assert "@" not in row.last_error

    # Its time comes: it goes, once.
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    mailing_send(mailing_id=mailing.pk)

    assert sorted(received()) == [address(1), address(2), address(3)]
    row.refresh_from_db()
    assert row.status == S.SENT
    assert row.attempts == 2
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DONE


def test_a_permanent_refusal_fails_the_delivery_without_the_address(scripted):
    mailing = mailing_sending([1, 2])
    scripted.errors[address(1)] = smtplib.SMTPRecipientsRefused(
        {address(1): (550, f"5.1.1 <{address(1)}> no such user".encode())}
    )

    mailing_send(mailing_id=mailing.pk)

    assert received() == [address(2)]
    row = Delivery.objects.get(mailing=mailing, recipient_ref=ref(1))
    assert row.status == S.FAILED
    assert "SMTPRecipientsRefused" in row.last_error
    assert "@" not in row.last_error


def test_the_last_transient_attempt_fails_the_delivery(scripted, settings):
    settings.MAILER_MAX_ATTEMPTS = 2
    mailing = mailing_sending([1])
    Delivery.objects.filter(mailing=mailing).update(attempts=1)
    scripted.errors[address(1)] = smtplib.SMTPResponseException(451, b"4.7.1 later")

    mailing_send(mailing_id=mailing.pk)

    assert statuses(mailing) == {"1": S.FAILED}


def test_a_connection_lost_mid_send_leaves_that_one_in_doubt_and_the_rest_queued(scripted):
    mailing = mailing_sending([1, 2, 3])
    scripted.errors[address(2)] = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    report = mailing_send(mailing_id=mailing.pk)

    # Sent before; in doubt (perhaps accepted: never sent again); the rest go on afterwards.
    assert report.sent == 2
    assert sorted(received()) == [address(1), address(3)]
    assert statuses(mailing) == {"1": S.SENT, "2": S.UNKNOWN, "3": S.SENT}
    assert len(received()) == len(set(received()))


def test_a_provider_that_cannot_be_reached_leaves_the_batch_queued(scripted):
    mailing = mailing_sending([1, 2])
    scripted.open_error = ConnectionRefusedError(111, "Connection refused")

    mailing_send(mailing_id=mailing.pk)

    assert mail.outbox == []
    for row in Delivery.objects.filter(mailing=mailing):
        assert (row.status, row.attempts, row.claim) == (S.QUEUED, 1, "")
        assert row.next_attempt_at > timezone.now()


def test_a_cancelled_mailing_sends_nothing_more():
    mailing = mailing_sending([1, 2, 3])

    assert services.mailing_cancel(mailing=mailing) == 3
    report = mailing_send(mailing_id=mailing.pk)

    assert report.status == "stopped"
    assert mail.outbox == []
    assert set(statuses(mailing).values()) == {S.CANCELLED}
    assert services.mailing_cancel(mailing=mailing) == 0


# --- Exactly once: the claim and the hand-over ----------------------------------------------


def test_a_claim_takes_queued_due_rows_in_order_and_only_once():
    mailing = mailing_sending(range(5))
    later = Delivery.objects.get(mailing=mailing, recipient_ref=ref(0))
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))

    first = rows.rows_claim(mailing_id=mailing.pk, size=3, claim="a" * 32)
    second = rows.rows_claim(mailing_id=mailing.pk, size=3, claim="b" * 32)

    assert [row.recipient_ref for row in first] == [ref(1), ref(2), ref(3)]
    assert [row.recipient_ref for row in second] == [ref(4)]
    assert rows.rows_claim(mailing_id=mailing.pk, size=3, claim="c" * 32) == []
    held = Delivery.objects.get(pk=first[0].id)
    assert (held.status, held.claim) == (S.CLAIMED, "a" * 32)
    assert held.claimed_until > timezone.now()


def test_handing_over_needs_the_claim_and_keeps_one_row_in_hand():
    mailing = mailing_sending([1, 2])
    claimed = rows.rows_claim(mailing_id=mailing.pk, size=2, claim="a" * 32)
    first, second = (row.id for row in claimed)

    assert rows.row_hand(claim="b" * 32, current=first, previous=None, previous_id="") is False
    assert rows.row_hand(claim="a" * 32, current=first, previous=None, previous_id="") is True
    assert Delivery.objects.get(pk=first).status == S.HANDING
    # Handing the next records the previous as sent, in the same statement.
    assert rows.row_hand(claim="a" * 32, current=second, previous=first, previous_id="<id1>")
    one, two = Delivery.objects.get(pk=first), Delivery.objects.get(pk=second)
    assert (one.status, one.provider_message_id) == (S.SENT, "<id1>")
    assert two.status == S.HANDING
    assert Delivery.objects.filter(mailing=mailing, status=S.HANDING).count() == 1
    # A row already handed over is not handed again.
    assert rows.row_hand(claim="a" * 32, current=first, previous=None, previous_id="") is False


def test_a_worker_whose_lease_ran_out_cannot_send_a_row_given_to_another(tasks_held):
    mailing = mailing_sending([1])
    [row] = rows.rows_claim(mailing_id=mailing.pk, size=1, claim="a" * 32)
    Delivery.objects.filter(pk=row.id).update(claimed_until=timezone.now() - timedelta(seconds=1))

    assert mailings_sweep()["requeued"] == 1
    [again] = rows.rows_claim(mailing_id=mailing.pk, size=1, claim="b" * 32)

    assert again.id == row.id
    assert rows.row_hand(claim="a" * 32, current=row.id, previous=None, previous_id="") is False
    assert rows.row_hand(claim="b" * 32, current=row.id, previous=None, previous_id="") is True


def test_an_address_with_a_display_name_fails_rather_than_go_without_its_merge_data(monkeypatch):
    mailing = mailing_sending([1, 2])
    original = test_kind.build_batch

    def display_name(mailing: Mailing, deliveries: Any) -> Any:
        batch = original(mailing, deliveries)
        for key, recipient in batch.recipients.items():
            if recipient is not None and recipient.address == address(1):
                batch.recipients[key] = BulkRecipient(
                    address=f"Person One <{address(1)}>",
                    template=recipient.template,
                    merge_data=recipient.merge_data,
                    headers=recipient.headers,
                )
        return batch

    monkeypatch.setattr(test_kind, "active", display_name)

    mailing_send(mailing_id=mailing.pk)

    assert received() == [address(2)]
    assert statuses(mailing) == {"1": S.FAILED, "2": S.SENT}
