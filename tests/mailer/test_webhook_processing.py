"""Processing provider events: soft-bounce windows, running twice, the sweep, suppression
at send time, transactional mail, and how bounces are classified."""

from __future__ import annotations

from datetime import timedelta

import pytest
from anymail.signals import AnymailTrackingEvent
from django.core import mail
from django.utils import timezone

from mailer import services
from mailer.events import processing
from mailer.events.classify import bounce_kind
from mailer.events.processing import email_event_process, email_events_sweep
from mailer.models import Delivery, EmailEvent, Mailing, OutboxMessage, Suppression
from tests.bulkkind import kind as test_kind
from tests.bulkkind.kind import KIND, address, digest, planned
from tests.mailer.helpers import queued_message
from tests.mailer.webhook_helpers import delivery_sent, post, suppressed, url, webhooks_on
from tests.mailer.webhook_payloads import NEW_SECRET, Postmark, basic_auth

pytestmark = pytest.mark.django_db
S = Delivery.Status
POSTMARK = Postmark()


@pytest.fixture(autouse=True)
def _webhooks(settings):
    webhooks_on(settings)


def bounce_stored(
    n: int, *, days_ago: float, kind: str = "soft", message_id: str = ""
) -> EmailEvent:
    """A soft bounce of person ``n`` heard of (and processed) ``days_ago``."""
    at = timezone.now() - timedelta(days=days_ago)
    event = EmailEvent.objects.create(
        esp="Postmark",
        event_id=f"old-{n}-{days_ago}-{message_id}",
        event_type=EmailEvent.Type.BOUNCED,
        bounce_kind=kind,
        provider_message_id=message_id or POSTMARK.message_id(),
        address_digest=digest(n),
        occurred_at=at,
        processed_at=at,
    )
    EmailEvent.objects.filter(pk=event.pk).update(received_at=at)
    return event


def soft_bounce_now(client, n: int = 1) -> None:
    message_id = POSTMARK.message_id()
    delivery_sent(n, provider_message_id=message_id)
    assert post(client, POSTMARK, POSTMARK.soft_bounce(address(n), message_id)).status_code == 200


def posted_unprocessed(client, payload: dict) -> EmailEvent:
    """Stored by the webhook, whose task never ran (the broker was down)."""
    response = client.post(
        url(POSTMARK), data=POSTMARK.body(payload), content_type="application/json",
        **basic_auth(NEW_SECRET),
    )  # fmt: skip
    assert response.status_code == 200
    return EmailEvent.objects.get(processed_at=None)


def received_ago(event: EmailEvent, ago: timedelta) -> None:
    EmailEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - ago)


# --- Soft bounces ---------------------------------------------------------------------------


def test_three_soft_bounces_within_thirty_days_suppress(client):
    bounce_stored(1, days_ago=29)
    bounce_stored(1, days_ago=12)
    assert suppressed(1) is None

    soft_bounce_now(client)

    assert suppressed(1) == Suppression.Reason.SOFT_BOUNCES


def test_three_soft_bounces_spread_over_forty_days_do_not(client):
    bounce_stored(1, days_ago=40)
    bounce_stored(1, days_ago=20)

    soft_bounce_now(client)

    assert suppressed(1) is None


def test_soft_bounces_count_whatever_order_they_arrive_in():
    latest = bounce_stored(1, days_ago=1)
    middle = bounce_stored(1, days_ago=10)
    earliest = bounce_stored(1, days_ago=20)
    EmailEvent.objects.filter(pk__in=[latest.pk, middle.pk]).update(processed_at=None)
    EmailEvent.objects.filter(pk=earliest.pk).update(processed_at=None)

    outcome = email_event_process(event_id=earliest.pk, final=True)

    assert outcome.suppressed == Suppression.Reason.SOFT_BOUNCES


def test_one_message_soft_bouncing_three_times_counts_once(client):
    message_id = POSTMARK.message_id()
    delivery_sent(1, provider_message_id=message_id)
    bounce_stored(1, days_ago=3, message_id=message_id)
    bounce_stored(1, days_ago=2, message_id=message_id)

    post(client, POSTMARK, POSTMARK.soft_bounce(address(1), message_id))

    assert EmailEvent.objects.count() == 3
    assert suppressed(1) is None


def test_bounces_of_unknown_kind_count_as_soft_and_other_addresses_do_not(client):
    bounce_stored(1, days_ago=5, kind="unknown")
    bounce_stored(2, days_ago=4)
    bounce_stored(2, days_ago=3)

    soft_bounce_now(client, n=1)

    assert (suppressed(1), suppressed(2)) == (None, None)
    bounce_stored(1, days_ago=2, kind="unknown")
    soft_bounce_now(client, n=1)
    assert suppressed(1) == Suppression.Reason.SOFT_BOUNCES


# --- Processing once, the sweep, a webhook ahead of its message -----------------------------


def test_processing_twice_does_nothing_twice(client):
    message_id = POSTMARK.message_id()
    delivery = delivery_sent(1, provider_message_id=message_id)
    event = posted_unprocessed(client, POSTMARK.hard_bounce(address(1), message_id))

    first = email_event_process(event_id=event.pk)
    second = email_event_process(event_id=event.pk)

    assert (first.status, first.recorded, first.suppressed) == ("processed", 1, "hard_bounce")
    assert (second.status, second.recorded, second.suppressed) == ("skipped", 0, None)
    assert Suppression.objects.count() == 1
    delivery.refresh_from_db()
    assert delivery.status == S.BOUNCED


def test_the_sweep_processes_events_whose_task_was_lost(client):
    message_id = POSTMARK.message_id()
    delivery = delivery_sent(1, provider_message_id=message_id)
    event = posted_unprocessed(client, POSTMARK.complained(address(1), message_id))

    assert email_events_sweep()["processed"] == 0  # too fresh: its task may still run
    received_ago(event, timedelta(minutes=3))
    assert email_events_sweep()["processed"] == 1
    assert email_events_sweep()["processed"] == 0

    delivery.refresh_from_db()
    assert delivery.status == S.COMPLAINED
    assert suppressed(1) == Suppression.Reason.COMPLAINT


def test_an_event_ahead_of_its_message_suppresses_now_and_records_the_status_later(client):
    message_id = POSTMARK.message_id()
    delivery = delivery_sent(1, provider_message_id="")  # the worker has not recorded it yet

    post(client, POSTMARK, POSTMARK.hard_bounce(address(1), message_id))

    event = EmailEvent.objects.get()
    assert event.processed_at is None
    assert suppressed(1) == Suppression.Reason.HARD_BOUNCE
    Delivery.objects.filter(pk=delivery.pk).update(provider_message_id=message_id)
    received_ago(event, processing.SWEEP_AFTER + timedelta(seconds=1))
    assert email_events_sweep()["processed"] == 1
    delivery.refresh_from_db()
    assert delivery.status == S.BOUNCED


def test_an_event_about_a_message_never_found_is_processed_after_the_grace(client):
    post(client, POSTMARK, POSTMARK.delivered(address(1), POSTMARK.message_id()))
    event = EmailEvent.objects.get()

    received_ago(event, processing.SWEEP_AFTER + timedelta(seconds=1))
    assert email_events_sweep()["processed"] == 0
    received_ago(event, processing.MATCH_GRACE + timedelta(seconds=1))
    assert email_events_sweep()["processed"] == 1


def test_the_sweep_deletes_processed_events_past_the_retention():
    kept = bounce_stored(1, days_ago=30)
    bounce_stored(1, days_ago=46)
    bounce_stored(2, days_ago=60)

    assert email_events_sweep()["deleted"] == 2
    assert list(EmailEvent.objects.values_list("pk", flat=True)) == [kept.pk]


# --- Suppression at send time -------------------------------------------------------------


def test_after_a_hard_bounce_the_next_bulk_delivery_to_the_address_is_suppressed(
    client, django_capture_on_commit_callbacks
):
    message_id = POSTMARK.message_id()
    delivery_sent(1, provider_message_id=message_id)
    post(client, POSTMARK, POSTMARK.hard_bounce(address(1), message_id))
    mailing = services.mailing_create(kind=KIND, about={"title": "More news"})
    services.deliveries_add(mailing=mailing, recipients=planned([1, 2]))

    with django_capture_on_commit_callbacks(execute=True):
        services.mailing_start(mailing=mailing)

    rows = dict(Delivery.objects.filter(mailing=mailing).values_list("recipient_ref", "status"))
    assert rows == {test_kind.ref(1): S.SUPPRESSED, test_kind.ref(2): S.SENT}
    assert [to for message in mail.outbox for to in message.to] == [address(2)]
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DONE


def test_transactional_mail_is_not_suppressed_and_keeps_its_providers_word(client):
    sent = queued_message(email="signer.bounced@example.org")
    OutboxMessage.objects.filter(pk=sent.pk).update(
        status=OutboxMessage.Status.SENT, provider_message_id="pm-1"
    )
    post(client, POSTMARK, POSTMARK.hard_bounce("signer.bounced@example.org", "pm-1"))
    post(client, POSTMARK, POSTMARK.delivered("signer.bounced@example.org", "pm-1"))
    sent.refresh_from_db()
    assert (sent.status, sent.provider_status) == ("sent", "bounced")
    assert Suppression.objects.filter(reason="hard_bounce").count() == 1

    confirmation = queued_message(email="signer.bounced@example.org")
    outcome = services.outbox_message_send(message_id=confirmation.pk)

    assert outcome.status == OutboxMessage.Status.SENT
    assert [message.to for message in mail.outbox] == [["signer.bounced@example.org"]]


def test_a_refusal_for_the_providers_policy_suppresses_nobody(client):
    message_id = POSTMARK.message_id()
    delivery = delivery_sent(1, provider_message_id=message_id)
    payload = POSTMARK.hard_bounce(address(1), message_id) | {"Type": "Blocked", "TypeCode": 1}

    post(client, POSTMARK, payload)

    delivery.refresh_from_db()
    assert delivery.status == S.BOUNCED
    assert EmailEvent.objects.get().reject_reason == "blocked"
    assert suppressed(1) is None


# --- Classifying bounces ----------------------------------------------------------------


def event(esp_event: object = None, mta_response: str | None = None) -> AnymailTrackingEvent:
    return AnymailTrackingEvent(
        event_type="bounced", esp_event=esp_event, mta_response=mta_response
    )


@pytest.mark.parametrize(
    ("esp", "payload", "kind"),
    [
        ("Amazon SES", {"bounce": {"bounceType": "Permanent"}}, "hard"),
        ("Amazon SES", {"bounce": {"bounceType": "Transient"}}, "soft"),
        ("Amazon SES", {"bounce": {"bounceType": "Undetermined"}}, "unknown"),
        ("SendGrid", {"event": "bounce", "type": "bounce"}, "hard"),
        ("SendGrid", {"event": "bounce", "type": "blocked"}, "soft"),
        ("Postmark", {"RecordType": "SubscriptionChange", "SuppressionReason": "HardBounce"},
         "hard"),
        ("Mailgun", {"event-data": {"severity": "permanent", "reason": "generic"}}, "hard"),
        ("Mailgun", {"event-data": "nonsense"}, "unknown"),
        ("SparkPost", ["not", "a", "dict"], "unknown"),
    ],
)  # fmt: skip
def test_the_providers_own_word_decides_the_kind_of_bounce(esp, payload, kind):
    assert bounce_kind(esp_name=esp, event=event(payload)) == kind


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        ("smtp;550 5.1.1 <x@example.org>: Recipient address rejected", "hard"),
        ("552-5.2.2 The email account that you tried to reach is over quota", "hard"),
        ("452 4.2.2 Mailbox full", "soft"),
        ("4.4.7 Delivery time expired", "soft"),
        ("Message expired after 4500 seconds", "unknown"),
        ("version 1.5.3 of the relay said no", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_otherwise_the_smtp_status_decides(response, kind):
    assert bounce_kind(esp_name="Brevo", event=event({}, response)) == kind


# --- The check ----------------------------------------------------------------------------


def test_a_provider_without_a_tracking_webhook_fails_the_system_check(settings):
    from mailer.events.checks import webhook_esps_check

    settings.MAILER_WEBHOOK_ESPS = ["postmark", "pigeon_post"]

    errors = webhook_esps_check()

    assert [error.id for error in errors] == ["mailer.E001"]
    assert "pigeon_post" in errors[0].msg


def test_event_tasks_ride_with_bulk_mail_and_their_sweep_is_periodic():
    from config.celery import task_route

    # A mailing's flood of "delivered" events must never delay a confirmation on "mail".
    assert task_route("mailer.tasks.email_event_process", (), {}, {}) == {"queue": "bulk"}
    assert task_route("mailer.tasks.email_events_sweep", (), {}, {}) == {"queue": "periodic"}
