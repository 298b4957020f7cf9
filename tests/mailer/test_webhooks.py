"""Provider webhooks through anymail, for Postmark and Mailgun: what each event does, and
what bad input gets (forged, expired, replayed, malformed, unknown)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from mailer.models import Delivery, EmailEvent, Suppression
from mailer.selectors import mailing_progress
from tests.bulkkind.kind import address, digest
from tests.mailer.webhook_helpers import (
    delivery_sent,
    events,
    post,
    suppressed,
    webhooks_on,
)
from tests.mailer.webhook_payloads import ESPS, NEW_SECRET, OLD_SECRET, Mailgun, Postmark

pytestmark = pytest.mark.django_db
S = Delivery.Status


@pytest.fixture(autouse=True)
def _webhooks(settings):
    webhooks_on(settings)


@pytest.fixture(params=ESPS, ids=lambda esp: esp.name)
def esp(request):
    return request.param


def sent(esp, n: int = 1) -> tuple[Delivery, str]:
    """A delivery the provider took, and the message id its events will carry."""
    message_id = esp.message_id()
    return delivery_sent(n, provider_message_id=esp.stored_id(message_id)), message_id


def status(delivery: Delivery) -> str:
    delivery.refresh_from_db()
    return delivery.status


# --- What each event does -----------------------------------------------------------------


def test_a_delivery_is_recorded_and_nobody_is_suppressed(client, esp):
    delivery, message_id = sent(esp)

    response = post(client, esp, esp.delivered(address(1), message_id))

    assert response.status_code == 200
    assert status(delivery) == S.DELIVERED
    assert events() == [("delivered", "")]
    assert EmailEvent.objects.get().processed_at is not None
    assert suppressed(1) is None


def test_a_hard_bounce_suppresses_at_once_and_counts_in_the_progress(client, esp):
    delivery, message_id = sent(esp)

    response = post(client, esp, esp.hard_bounce(address(1), message_id))

    assert response.status_code == 200
    assert status(delivery) == S.BOUNCED
    assert events() == [("bounced", "hard")]
    assert suppressed(1) == Suppression.Reason.HARD_BOUNCE
    assert mailing_progress(mailing=delivery.mailing).bounced == 1


def test_one_soft_bounce_records_the_bounce_and_suppresses_nobody(client, esp):
    delivery, message_id = sent(esp)

    post(client, esp, esp.soft_bounce(address(1), message_id))

    assert status(delivery) == S.BOUNCED
    assert events() == [("bounced", "soft")]
    assert suppressed(1) is None


def test_a_deferral_is_answered_and_not_stored(client, esp):
    delivery, message_id = sent(esp)

    response = post(client, esp, esp.deferred(address(1), message_id))

    assert response.status_code == 200
    assert status(delivery) == S.SENT
    assert events() == []


def test_a_complaint_suppresses_at_once_and_counts_in_the_progress(client, esp):
    delivery, message_id = sent(esp)

    post(client, esp, esp.complained(address(1), message_id))

    assert status(delivery) == S.COMPLAINED
    assert suppressed(1) == Suppression.Reason.COMPLAINT
    assert mailing_progress(mailing=delivery.mailing).complained == 1


def test_an_unsubscribe_at_the_provider_suppresses_everything(client, esp):
    delivery, message_id = sent(esp)

    post(client, esp, esp.unsubscribed(address(1), message_id))

    assert suppressed(1) == Suppression.Reason.UNSUBSCRIBED_ALL
    assert status(delivery) == S.SENT  # it was delivered; the person left afterwards


def test_a_refusal_because_of_the_providers_own_list_suppresses(client, esp):
    delivery, message_id = sent(esp)

    post(client, esp, esp.rejected(address(1), message_id))

    assert status(delivery) == S.BOUNCED
    assert suppressed(1) == Suppression.Reason.HARD_BOUNCE


def test_a_delivery_reported_after_a_bounce_keeps_the_bounce(client, esp):
    delivery, message_id = sent(esp)

    post(client, esp, esp.hard_bounce(address(1), message_id))
    post(client, esp, esp.delivered(address(1), message_id))

    assert status(delivery) == S.BOUNCED
    assert mailing_progress(mailing=delivery.mailing).bounced == 1


def test_a_complaint_after_a_delivery_is_the_last_word(client, esp):
    delivery, message_id = sent(esp)

    post(client, esp, esp.delivered(address(1), message_id))
    post(client, esp, esp.complained(address(1), message_id))
    post(client, esp, esp.delivered(address(1), message_id, ago=timedelta(seconds=1)))

    assert status(delivery) == S.COMPLAINED


def test_an_event_changes_only_its_own_recipients_delivery(client, esp):
    # An ESP batch call answers with one id for every recipient of the batch.
    message_id = esp.message_id()
    first = delivery_sent(1, provider_message_id=esp.stored_id(message_id))
    second = delivery_sent(2, provider_message_id=esp.stored_id(message_id), mailing=first.mailing)

    post(client, esp, esp.hard_bounce(address(2), message_id))

    assert (status(first), status(second)) == (S.SENT, S.BOUNCED)
    assert (suppressed(1), suppressed(2)) == (None, Suppression.Reason.HARD_BOUNCE)


def test_the_address_is_matched_by_its_normalised_hash(client, esp):
    delivery, message_id = sent(esp)

    post(client, esp, esp.hard_bounce("Person1@EXAMPLE.org", message_id))

    assert status(delivery) == S.BOUNCED
    assert suppressed(1) == Suppression.Reason.HARD_BOUNCE


# --- Replays, stale and unknown events ------------------------------------------------------


def test_a_replayed_webhook_is_one_event_and_one_change(client, esp):
    delivery, message_id = sent(esp)
    body = esp.body(esp.soft_bounce(address(1), message_id))

    first = post(client, esp, body)
    again = post(client, esp, body)

    assert (first.status_code, again.status_code) == (200, 200)
    assert EmailEvent.objects.count() == 1
    assert status(delivery) == S.BOUNCED
    assert suppressed(1) is None


def test_an_event_older_than_a_week_is_answered_and_ignored(client):
    esp = Postmark()
    _, message_id = sent(esp)

    response = post(client, esp, esp.hard_bounce(address(1), message_id, ago=timedelta(days=8)))

    assert response.status_code == 200
    assert events() == []
    assert suppressed(1) is None


@pytest.mark.parametrize("kind", ["opened", "unknown"])
def test_an_event_we_do_not_act_on_is_answered_200_and_not_stored(client, esp, kind):
    delivery, message_id = sent(esp)

    response = post(client, esp, getattr(esp, kind)(address(1), message_id))

    assert response.status_code == 200
    assert events() == []
    assert status(delivery) == S.SENT


def test_an_event_without_a_recipient_is_answered_and_not_stored(client):
    esp = Postmark()
    payload = esp.hard_bounce(address(1), esp.message_id())
    del payload["Email"]

    assert post(client, esp, payload).status_code == 200
    assert events() == []


# --- Authentication ---------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "sbor-new:wrong", "someone:else", OLD_SECRET + "x"])
def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_stored(client, esp, secret):
    _, message_id = sent(esp)

    response = post(client, esp, esp.hard_bounce(address(1), message_id), secret=secret)

    assert 400 <= response.status_code < 500
    assert events() == []
    assert suppressed(1) is None


def test_both_secrets_work_while_one_is_rotated(client, esp, settings):
    _, message_id = sent(esp)

    old = post(client, esp, esp.delivered(address(1), message_id), secret=OLD_SECRET)
    new = post(client, esp, esp.hard_bounce(address(1), message_id), secret=NEW_SECRET)

    webhooks_on(settings, secrets=[NEW_SECRET])  # the rotation is over
    refused = post(client, esp, esp.complained(address(1), message_id), secret=OLD_SECRET)

    assert (old.status_code, new.status_code, refused.status_code) == (200, 200, 400)
    assert events() == [("delivered", ""), ("bounced", "hard")]


def test_a_forged_mailgun_signature_is_refused(client):
    esp = Mailgun()
    _, message_id = sent(esp)
    payload = esp.hard_bounce(address(1), message_id)
    payload["signature"] = Mailgun(key="key-not-ours").signature()

    assert post(client, esp, payload).status_code == 400
    assert events() == []


def test_an_expired_mailgun_signature_is_refused(client):
    esp = Mailgun()
    _, message_id = sent(esp)
    payload = esp.hard_bounce(address(1), message_id)
    payload["signature"] = esp.signature(ago=timedelta(days=8))

    assert post(client, esp, payload).status_code == 400
    assert events() == []


def test_a_mailgun_token_used_again_with_another_event_changes_nothing(client):
    esp = Mailgun()
    delivery, message_id = sent(esp)
    signature = esp.signature()
    post(client, esp, {"signature": signature, **esp.delivered(address(1), message_id)})

    # Mailgun signs the token, not the event: the captured signature on a forged event.
    again = post(client, esp, {"signature": signature, **esp.hard_bounce(address(1), message_id)})

    assert again.status_code == 200
    assert status(delivery) == S.DELIVERED
    assert suppressed(1) is None


def test_a_provider_that_is_not_configured_has_no_webhook(client, settings):
    settings.MAILER_WEBHOOK_ESPS = ["mailgun"]
    esp = Postmark()

    assert post(client, esp, esp.delivered(address(1), esp.message_id())).status_code == 404
    assert client.post("/anymail/nonsense/tracking/").status_code == 404
    assert events() == []


# --- Malformed payloads -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe", b"[1, 2]", b"null", b'"text"'],
    ids=["broken", "not-utf8", "list", "null", "string"],
)
def test_a_malformed_payload_gets_400_and_nothing_is_stored(client, esp, body):
    response = post(client, esp, body)

    assert response.status_code == 400
    assert events() == []


@pytest.mark.parametrize("body", [b"{}", b'{"event-data": 1}', b'{"event-data": {}}'])
def test_an_object_without_an_event_is_refused_or_ignored_never_a_500(client, esp, body):
    response = post(client, esp, body)

    # Postmark: an object of no known RecordType is an unknown event (200); Mailgun: 400.
    assert response.status_code == {"postmark": 200, "mailgun": 400}[esp.name]
    assert events() == []


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.update(BouncedAt="yesterday"),
        lambda p: p.update(BouncedAt=12),
        lambda p: p.update(Email=["a@example.org"]),
        lambda p: p.update(RecordType="Inbound", FromFull={"Email": "x@example.org"}),
    ],
    ids=["bad-date", "number-date", "list-recipient", "inbound-on-tracking"],
)
def test_a_postmark_payload_with_fields_of_the_wrong_kind_is_never_a_500(client, change):
    esp = Postmark()
    payload = esp.hard_bounce(address(1), esp.message_id())
    change(payload)

    response = post(client, esp, payload)

    # Refused, or (a date anymail cannot read) taken as happening now.
    assert response.status_code in {200, 400}
    assert EmailEvent.objects.count() <= 1


def test_a_mailgun_payload_with_fields_of_the_wrong_kind_is_never_a_500(client):
    esp = Mailgun()
    payload = esp.hard_bounce(address(1), esp.message_id())
    payload["event-data"]["timestamp"] = "soon"
    bad_signature = esp.hard_bounce(address(1), esp.message_id())
    bad_signature["signature"] = {"timestamp": "nan", "token": "t", "signature": "s"}
    no_event = {"signature": esp.signature(), "event-data": {"timestamp": 1}}
    listed = {"signature": esp.signature(), "event-data": [esp.delivered(address(1), "x")]}

    for body in (payload, bad_signature, no_event, listed):
        assert post(client, esp, body).status_code == 400
    assert events() == []


def test_neither_the_address_nor_the_payload_reaches_the_logs(client, esp, caplog):
    caplog.set_level(logging.DEBUG)
    _, message_id = sent(esp)
    secret_word = "Person1-Private"

    post(client, esp, esp.hard_bounce(f"{secret_word}@example.org", message_id))
    post(client, esp, esp.hard_bounce(address(1), message_id), secret="wrong:secret")
    post(client, esp, json.dumps({"Email": address(1), "x": [1]}).encode() + b"}")

    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert secret_word.lower() not in logged.lower()
    assert address(1) not in logged
    assert message_id not in logged
    assert digest(1) not in logged
