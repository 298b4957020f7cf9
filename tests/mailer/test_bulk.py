"""Bulk mail: planning, claiming, the exactly-once state machine, suppression, the sweep."""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.celery import app as celery_app
from mailer import selectors, services
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

pytestmark = pytest.mark.django_db
S = Delivery.Status


@pytest.fixture(autouse=True)
def _kind() -> None:
    test_kind.register()
    test_kind.calls.clear()


@pytest.fixture
def tasks_held(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sweep's re-enqueued tasks are recorded, not run (tasks run eagerly here)."""
    enqueued: list[int] = []

    def hold(*, mailing_id: int) -> int:
        enqueued.append(mailing_id)
        return 2

    monkeypatch.setattr("mailer.bulk.sweep.mailing_tasks_enqueue", hold)
    return enqueued


def mailing_planned(numbers: Sequence[int] | range, **about: str) -> Mailing:
    mailing = services.mailing_create(kind=KIND, about={"title": "Good news", **about})
    services.deliveries_add(mailing=mailing, recipients=planned(numbers))
    return mailing


def mailing_sending(numbers: Sequence[int] | range, **about: str) -> Mailing:
    mailing = mailing_planned(numbers, **about)
    Mailing.objects.filter(pk=mailing.pk).update(status=Mailing.Status.SENDING)
    mailing.refresh_from_db()
    return mailing


def statuses(mailing: Mailing) -> dict[str, str]:
    """Recipient number → status."""
    return {
        str(test_kind.number(recipient_ref)): status
        for recipient_ref, status in Delivery.objects.filter(mailing=mailing).values_list(
            "recipient_ref", "status"
        )
    }


def received() -> list[str]:
    return [to for message in mail.outbox for to in message.to]


class ScriptedBackend(BaseEmailBackend):
    """Raises the scripted error for the recipients named, delivers the rest (locmem)."""

    errors: ClassVar[dict[str, BaseException]] = {}
    open_error: ClassVar[BaseException | None] = None

    def open(self) -> bool:
        if ScriptedBackend.open_error is not None:
            raise ScriptedBackend.open_error
        return True

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            error = ScriptedBackend.errors.pop(message.to[0], None)
            if error is not None:
                raise error
            mail.outbox.append(message)
        return len(email_messages)


@pytest.fixture
def scripted(settings: Any) -> Iterator[type[ScriptedBackend]]:
    settings.EMAIL_BACKEND = f"{__name__}.ScriptedBackend"
    yield ScriptedBackend
    ScriptedBackend.errors.clear()
    ScriptedBackend.open_error = None


@pytest.fixture
def esp(settings: Any) -> None:
    """Anymail's test backend: the batch API path (one call per batch and language)."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"


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


# --- The sweep ------------------------------------------------------------------------------


def test_the_sweep_requeues_stale_claims_and_records_stale_hand_overs_as_unknown(tasks_held):
    mailing = mailing_sending([1, 2, 3])
    past = timezone.now() - timedelta(seconds=1)
    future = timezone.now() + timedelta(minutes=1)
    Delivery.objects.filter(recipient_ref=ref(1)).update(
        status=S.CLAIMED, claim="a" * 32, claimed_until=past
    )
    Delivery.objects.filter(recipient_ref=ref(2)).update(
        status=S.HANDING, claim="a" * 32, claimed_until=past
    )
    Delivery.objects.filter(recipient_ref=ref(3)).update(
        status=S.HANDING, claim="b" * 32, claimed_until=future
    )

    result = mailings_sweep()

    assert (result["requeued"], result["unknown"]) == (1, 1)
    assert statuses(mailing) == {"1": S.QUEUED, "2": S.UNKNOWN, "3": S.HANDING}
    assert Delivery.objects.get(recipient_ref=ref(1)).claim == ""
    # In doubt, never sent again: the rest of the mailing goes, not it.
    Delivery.objects.filter(recipient_ref=ref(3)).update(status=S.SENT)
    mailing_send(mailing_id=mailing.pk)
    assert received() == [address(1)]


def test_the_sweep_enqueues_tasks_for_a_mailing_nobody_works_on(settings, tasks_held):
    settings.MAILER_BULK_STALE_SECONDS = 60
    mailing = mailing_sending([1])
    long_ago = timezone.now() - timedelta(minutes=5)
    Mailing.objects.filter(pk=mailing.pk).update(heartbeat_at=long_ago, enqueued_at=long_ago)

    assert mailings_sweep()["reenqueued"] == 1
    assert tasks_held == [mailing.pk]
    # Enqueued just now: not again at the next run.
    assert mailings_sweep()["reenqueued"] == 0


def test_the_sweep_leaves_a_mailing_with_a_live_task_or_nothing_due(tasks_held):
    mailing = mailing_sending([1])
    Mailing.objects.filter(pk=mailing.pk).update(heartbeat_at=timezone.now())
    waiting = mailing_sending([2])
    Mailing.objects.filter(pk=waiting.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    Delivery.objects.filter(mailing=waiting).update(
        next_attempt_at=timezone.now() + timedelta(hours=1)
    )

    assert mailings_sweep()["reenqueued"] == 0
    assert tasks_held == []


def test_the_sweep_marks_a_mailing_with_nothing_pending_done(tasks_held):
    mailing = mailing_sending([1, 2])
    Delivery.objects.filter(mailing=mailing).update(status=S.SENT)
    busy = mailing_sending([3])

    assert mailings_sweep()["finished"] == 1
    mailing.refresh_from_db()
    busy.refresh_from_db()
    assert mailing.status == Mailing.Status.DONE
    assert mailing.finished_at is not None
    assert busy.status == Mailing.Status.SENDING


# --- Progress -------------------------------------------------------------------------------


def test_progress_counts_every_status_of_a_mailing():
    mailing = mailing_sending(range(6))
    other = mailing_sending(range(2))
    for n, status in enumerate([S.SENT, S.SENT, S.FAILED, S.BOUNCED, S.COMPLAINED]):
        Delivery.objects.filter(mailing=mailing, recipient_ref=ref(n)).update(status=status)

    progress = selectors.mailing_progress(mailing=mailing)

    assert progress.total == 6
    assert progress.counts[S.SENT] == 2
    assert progress.counts[S.DELIVERED] == 0
    assert (progress.queued, progress.sent, progress.failed) == (1, 4, 1)
    assert (progress.bounced, progress.complained) == (1, 1)
    assert progress.finished is False
    both = selectors.mailings_progress(mailing_ids=[mailing.pk, other.pk])
    assert both[other.pk].queued == 2
    assert both[mailing.pk] == progress


# --- Suppression and what providers report ---------------------------------------------------


def test_an_address_is_suppressed_once_with_its_first_reason():
    assert services.suppression_add(address_digest=digest(1), reason="complaint") is True
    assert services.suppression_add(address_digest=digest(1), reason="hard_bounce") is False

    assert Suppression.objects.get().reason == "complaint"
    assert selectors.suppressed_digests(address_digests=[digest(1), digest(2)]) == {digest(1)}
    assert selectors.suppression_exists(address_digest=digest(2)) is False


def test_a_suppression_needs_a_known_reason_and_a_digest():
    with pytest.raises(ValueError):
        services.suppression_add(address_digest=digest(1), reason="bored")
    with pytest.raises(ValueError):
        services.suppression_add(address_digest=address(1), reason="manual")


def test_subscribing_again_lifts_an_unsubscribe_but_not_a_complaint():
    services.suppression_add(address_digest=digest(1), reason="unsubscribed_all")
    services.suppression_add(address_digest=digest(2), reason="complaint")

    lift = ("unsubscribed_all",)
    assert services.suppression_remove(address_digest=digest(1), reasons=lift) is True
    assert services.suppression_remove(address_digest=digest(2), reasons=lift) is False
    assert set(Suppression.objects.values_list("address_digest", flat=True)) == {digest(2)}


def test_provider_reports_move_a_delivery_forward_only():
    mailing = mailing_sending([1, 2])
    Delivery.objects.filter(mailing=mailing).update(status=S.SENT, provider_message_id="m-1")

    record = services.delivery_status_record
    assert record(provider_message_id="m-1", status="delivered", address_digest=digest(1)) == 1
    assert statuses(mailing) == {"1": S.DELIVERED, "2": S.SENT}
    assert record(provider_message_id="m-1", status="bounced", address_digest=digest(1)) == 1
    # A late "delivered" does not undo the bounce; a repeat changes nothing.
    assert record(provider_message_id="m-1", status="delivered", address_digest=digest(1)) == 0
    assert record(provider_message_id="m-1", status="bounced", address_digest=digest(1)) == 0
    assert record(provider_message_id="m-1", status="complained", address_digest=digest(1)) == 1
    assert statuses(mailing) == {"1": S.COMPLAINED, "2": S.SENT}
    assert record(provider_message_id="nope", status="delivered") == 0
    assert record(provider_message_id="", status="delivered") == 0
    with pytest.raises(ValueError):
        record(provider_message_id="m-1", status="queued")


# --- Deleting -------------------------------------------------------------------------------


def test_an_erased_person_loses_their_deliveries_and_a_deleted_mailing_its_rows():
    mailing = mailing_planned([1, 2])
    other = mailing_planned([1])

    assert services.deliveries_delete(recipient_refs=[ref(1)]) == 2
    assert services.deliveries_delete(recipient_refs=[]) == 0
    services.mailing_delete(mailing=mailing)

    assert not Mailing.objects.filter(pk=mailing.pk).exists()
    assert not Delivery.objects.filter(mailing_id=mailing.pk).exists()
    assert Mailing.objects.filter(pk=other.pk).exists()
    assert selectors.deliveries_of_recipient(recipient_ref=ref(2)) == []


# --- The ESP batch path (anymail's test backend) ---------------------------------------------


def test_with_a_batch_api_a_batch_is_one_provider_call_per_language(esp):
    mailing = services.mailing_create(kind=KIND, about={"title": "News"})
    services.deliveries_add(
        mailing=mailing, recipients=planned(range(3), "en") + planned([3, 4], "ru")
    )
    Mailing.objects.filter(pk=mailing.pk).update(status=Mailing.Status.SENDING)

    report = mailing_send(mailing_id=mailing.pk)

    assert report.sent == 5
    assert len(mail.outbox) == 2
    english = next(m for m in mail.outbox if m.subject == "News (en)")
    params = english.anymail_test_params
    assert params["is_batch_send"] is True
    assert sorted(e.addr_spec for e in params["to"]) == [address(n) for n in range(3)]
    assert english.body.startswith("Hello {{name}},")
    assert 'href="{{unsubscribe_url__html}}"' in english.alternatives[0][0]
    data = params["merge_data"][address(1)]
    url = f"https://sbor.test/u/{mailing.public_id}/1/"
    assert data == {"name": "Person <1>", "unsubscribe_url": url, "name__html": "Person &lt;1&gt;",
                    "unsubscribe_url__html": url}  # fmt: skip
    assert params["merge_headers"][address(1)]["List-Unsubscribe"] == f"<{url}>"
    row = Delivery.objects.get(mailing=mailing, recipient_ref=ref(1))
    assert params["merge_metadata"][address(1)] == {"delivery": str(row.pk)}
    assert params["track_opens"] is False
    assert params["track_clicks"] is False
    assert "metadata" not in params
    assert params["extra_headers"]["Auto-Submitted"] == "auto-generated"
    assert row.status == S.SENT
    assert row.provider_message_id == str(mail.outbox.index(english))


def test_with_a_batch_api_one_address_twice_goes_in_two_calls(esp, monkeypatch):
    mailing = mailing_sending([1, 2])
    original = test_kind.build_batch

    def same_address(mailing: Mailing, deliveries: Any) -> Any:
        batch = original(mailing, deliveries)
        for key, recipient in batch.recipients.items():
            batch.recipients[key] = BulkRecipient(
                address=address(1),
                template=recipient.template,
                merge_data=recipient.merge_data,
                headers=recipient.headers,
            )
        return batch

    monkeypatch.setattr(test_kind, "active", same_address)

    mailing_send(mailing_id=mailing.pk)

    assert len(mail.outbox) == 2
    assert set(statuses(mailing).values()) == {S.SENT}


def test_with_a_batch_api_refused_recipients_fail_and_the_rest_are_sent(esp, monkeypatch):
    from anymail.message import AnymailRecipientStatus

    mailing = mailing_sending([1, 2])

    def post_to_esp(self: Any, payload: Any, message: Any) -> dict[str, Any]:
        mail.outbox.append(message)
        return {
            "recipient_status": {
                address(1): AnymailRecipientStatus(message_id="esp-1", status="queued"),
                address(2): AnymailRecipientStatus(message_id=None, status="rejected"),
            }
        }

    monkeypatch.setattr("anymail.backends.test.EmailBackend.post_to_esp", post_to_esp)

    mailing_send(mailing_id=mailing.pk)

    assert statuses(mailing) == {"1": S.SENT, "2": S.FAILED}
    assert Delivery.objects.get(recipient_ref=ref(1)).provider_message_id == "esp-1"


@pytest.mark.parametrize(
    ("status_code", "expected"),
    [(503, S.QUEUED), (400, S.FAILED), (None, S.UNKNOWN)],
    ids=["esp-503-retried", "esp-400-failed", "no-answer-in-doubt"],
)
def test_with_a_batch_api_a_failed_call_is_retried_failed_or_in_doubt(
    esp, monkeypatch, status_code, expected
):
    import requests
    from anymail.exceptions import AnymailRequestsAPIError

    mailing = mailing_sending([1, 2])

    def post_to_esp(self: Any, payload: Any, message: Any) -> None:
        if status_code is None:
            try:
                raise requests.exceptions.ReadTimeout("read timed out")
            except requests.exceptions.ReadTimeout as exc:
                raise AnymailRequestsAPIError("timed out", esp_name="Test") from exc
        response = requests.Response()
        response.status_code = status_code
        raise AnymailRequestsAPIError("no", response=response, esp_name="Test")

    monkeypatch.setattr("anymail.backends.test.EmailBackend.post_to_esp", post_to_esp)

    mailing_send(mailing_id=mailing.pk)

    assert set(statuses(mailing).values()) == {expected}


# --- The throttle, shared through Redis ------------------------------------------------------


@pytest.fixture
def redis_url(settings: Any) -> str:
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    return str(settings.REDIS_URL)


def test_two_limiters_share_one_budget_through_redis(redis_url):
    from mailer.bulk.throttle import RateLimiter

    key = f"test:bulk-rate:{uuid.uuid4().hex}"
    first = RateLimiter(rate=100, redis_url=redis_url, key=key)
    second = RateLimiter(rate=100, redis_url=redis_url, key=key)

    # A second's worth goes at once (the burst); the next second's worth waits its turn,
    # whichever worker asks.
    assert first.reserve(100) == pytest.approx(0.0, abs=0.05)
    assert second.reserve(50) == pytest.approx(0.5, abs=0.05)
    assert first.reserve(50) == pytest.approx(1.0, abs=0.05)
    alone = RateLimiter(rate=100, redis_url=redis_url, key=key + ":other")
    assert alone.reserve(100) == pytest.approx(0.0, abs=0.05)


def test_without_redis_a_limiter_keeps_to_its_share_and_says_so_once(settings, caplog):
    from mailer.bulk.throttle import RateLimiter

    settings.MAILER_BULK_TASKS = 2
    limiter = RateLimiter(rate=100, redis_url="redis://127.0.0.1:1/0")

    # Its share: 50 a second.
    assert limiter.reserve(50) == pytest.approx(0.0, abs=0.05)
    assert limiter.reserve(50) == pytest.approx(1.0, abs=0.05)
    warnings = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(warnings) == 1


def test_no_rate_means_no_waiting():
    from mailer.bulk.throttle import RateLimiter

    assert RateLimiter(rate=0, redis_url="redis://127.0.0.1:1/0").reserve(10_000) == 0.0


def test_a_rate_makes_batches_no_larger_than_a_second_of_it(settings):
    from mailer.bulk.sending import batch_size

    settings.MAILER_BULK_RATE = 14
    assert batch_size() == 14
    settings.MAILER_BULK_RATE = 0
    assert batch_size() == settings.MAILER_BULK_BATCH_SIZE


# --- Queues ---------------------------------------------------------------------------------


def test_bulk_sends_travel_on_their_own_queue_and_the_sweep_on_the_periodic_one():
    from config.celery import task_route

    assert task_route("mailer.tasks.mailing_send", (), {}, {}) == {"queue": "bulk"}
    assert task_route("mailer.tasks.outbox_send", (), {}, {}) == {"queue": "mail"}
    assert task_route("mailer.tasks.mailings_sweep", (), {}, {}) == {"queue": "periodic"}
    assert "mailer.tasks.mailings_sweep" in {
        entry["task"] for entry in celery_app.conf.beat_schedule.values()
    }


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


# --- Admin ----------------------------------------------------------------------------------


def test_staff_see_mailings_by_their_label_and_suppressions_without_the_digest(client):
    from tests.factories import staff_user_create

    mailing_planned([1])
    services.suppression_add(address_digest=digest(1), reason="complaint")
    client.force_login(staff_user_create(superuser=True))

    mailings = client.get("/admin/mailer/mailing/")
    suppressions = client.get("/admin/mailer/suppression/")

    assert mailings.status_code == 200
    assert "Test bulk mail" in mailings.content.decode()
    assert suppressions.status_code == 200
    assert "Complaint" in suppressions.content.decode()
    assert digest(1) not in suppressions.content.decode()
