"""Reminders to confirm: at most two, on time, only while the link works, never after
confirming; confirmation emails per signature are capped; every email says why it came
and how to stop it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation

from config.env import env_durations
from mailer.models import OutboxMessage
from mailer.services import email_render, outbox_message_send
from petitions import emails, services
from petitions.emails import SIGNATURE_CONFIRM, SIGNATURE_CONFIRM_REMINDER
from petitions.models import Petition, SignAttempt, Signature
from petitions.services import reminders
from petitions.services.reminders import signature_reminders_send
from tests.config.processes import python, subprocess_env
from tests.factories import latest_attempt, petition_create, signature_confirm, signature_create
from tests.petitions.signing_helpers import sign
from trust.identity import email_digest

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def _reminder_settings(settings: Any) -> None:
    settings.CONFIRM_REMINDER_DELAYS = [24 * 3600, 72 * 3600]
    settings.CONFIRM_MAX_AGE_DAYS = 14
    settings.CONFIRM_EMAILS_MAX = 4


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the Three")


@pytest.fixture
def pending(petition: Petition) -> Signature:
    return signature_create(petition=petition, email="anna@example.org")


def reminders_of(signature: Signature) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(
            kind=SIGNATURE_CONFIRM_REMINDER, about__signature=str(signature.pk)
        ).order_by("pk")
    )


def at(signature: Signature, after: timedelta) -> datetime:
    return signature.created_at + after


# --- When reminders go ------------------------------------------------------------------


def test_no_reminder_before_the_first_delay(pending):
    assert signature_reminders_send(now=at(pending, DAY - timedelta(minutes=1))) == 0
    assert reminders_of(pending) == []


def test_the_first_reminder_goes_after_its_delay_with_the_attempts_own_link(pending):
    assert signature_reminders_send(now=at(pending, DAY)) == 1

    [message] = reminders_of(pending)
    assert message.about["sign_attempt"] == str(latest_attempt(pending).pk)
    assert message.about["reminder"] == "1"
    pending.refresh_from_db()
    assert (pending.reminders_sent, pending.confirm_emails_sent) == (1, 2)


def test_a_signature_gets_at_most_two_reminders_each_on_its_delay(pending):
    assert signature_reminders_send(now=at(pending, DAY + HOUR)) == 1
    assert signature_reminders_send(now=at(pending, 2 * DAY)) == 0
    assert signature_reminders_send(now=at(pending, 3 * DAY)) == 1
    for days in (4, 7, 13):
        assert signature_reminders_send(now=at(pending, days * DAY)) == 0
    assert [m.about["reminder"] for m in reminders_of(pending)] == ["1", "2"]


def test_a_late_run_sends_only_the_latest_reminder_due(pending):
    assert signature_reminders_send(now=at(pending, 4 * DAY)) == 1
    assert signature_reminders_send(now=at(pending, 5 * DAY)) == 0
    [message] = reminders_of(pending)
    assert message.about["reminder"] == "2"


def test_running_the_task_twice_sends_once(pending):
    now = at(pending, DAY + HOUR)
    assert signature_reminders_send(now=now) == 1
    assert signature_reminders_send(now=now) == 0
    assert len(reminders_of(pending)) == 1


def test_a_run_that_lost_the_race_to_claim_sends_nothing(pending):
    """Two runs read the same due signature; the conditional update lets one through."""
    now = at(pending, DAY + HOUR)
    claim = {
        "signature_id": pending.pk,
        "petition_id": pending.petition_id,
        "sent": 0,
        "number": 1,
        "now": now,
    }
    assert reminders._reminder_send(**claim) == 1
    assert reminders._reminder_send(**claim) == 0
    assert len(reminders_of(pending)) == 1


def test_the_task_works_through_batches(petition):
    signatures = [signature_create(petition=petition) for _ in range(5)]
    now = max(s.created_at for s in signatures) + DAY
    assert signature_reminders_send(now=now, batch_size=2) == 5
    assert all(len(reminders_of(s)) == 1 for s in signatures)


def test_no_reminder_right_after_another_email_about_the_signature(settings, pending):
    settings.DUPLICATE_EMAIL_INTERVAL_SECONDS = 120
    resent = at(pending, DAY - timedelta(minutes=1))
    Signature.objects.filter(pk=pending.pk).update(emailed_at=resent)
    assert signature_reminders_send(now=at(pending, DAY)) == 0
    assert signature_reminders_send(now=resent + timedelta(minutes=2)) == 1


def test_no_reminders_when_the_delays_are_empty(settings, pending):
    settings.CONFIRM_REMINDER_DELAYS = []
    assert signature_reminders_send(now=at(pending, 3 * DAY)) == 0


def test_the_periodic_task_runs_every_few_minutes(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["signature-reminders-send"]
    assert entry["task"] == "petitions.tasks.signature_reminders_send"
    assert entry["schedule"] <= 600


# --- When they never go --------------------------------------------------------------------


def test_never_after_confirming(pending):
    signature_confirm(pending)
    assert signature_reminders_send(now=at(pending, DAY + HOUR)) == 0
    assert reminders_of(pending) == []


def test_a_reminder_queued_before_a_confirmation_is_never_sent(pending):
    signature_reminders_send(now=at(pending, DAY + HOUR))
    [message] = reminders_of(pending)
    signature_confirm(pending)
    mail.outbox.clear()

    outbox_message_send(message_id=message.pk)

    assert mail.outbox == []


@pytest.mark.parametrize(
    "status", [Signature.Status.WITHDRAWN, Signature.Status.INVALIDATED, Signature.Status.CONFIRMED]
)
def test_never_for_a_signature_that_no_longer_awaits_confirmation(pending, status):
    Signature.objects.filter(pk=pending.pk).update(status=status)
    assert signature_reminders_send(now=at(pending, DAY + HOUR)) == 0


def test_never_on_a_petition_that_stopped_taking_signatures(petition, pending):
    petition.status = Petition.Status.CLOSED
    services.petition_save(petition=petition)
    assert signature_reminders_send(now=at(pending, DAY + HOUR)) == 0


def test_never_past_the_links_lifetime(settings, pending):
    settings.CONFIRM_MAX_AGE_DAYS = 3
    assert signature_reminders_send(now=at(pending, DAY + HOUR)) == 1
    # The second reminder is due as the link dies: it would come too late.
    assert signature_reminders_send(now=at(pending, 3 * DAY)) == 0
    assert signature_reminders_send(now=at(pending, 3 * DAY - timedelta(minutes=30))) == 0
    assert len(reminders_of(pending)) == 1


def test_a_reminder_carries_the_newest_attempts_link(petition, pending):
    """Signing again mails a new link; a later reminder carries that one, valid longer."""
    first = latest_attempt(pending)
    signature_create(petition=petition, email="anna@example.org")
    newest = latest_attempt(pending)
    assert newest.pk != first.pk
    SignAttempt.objects.filter(pk=first.pk).update(created_at=pending.created_at - 12 * DAY)

    assert signature_reminders_send(now=at(pending, 3 * DAY)) == 1
    [message] = reminders_of(pending)
    assert message.about["sign_attempt"] == str(newest.pk)


# --- The cap on confirmation emails ---------------------------------------------------------


def confirm_emails(signature: Signature) -> int:
    return OutboxMessage.objects.filter(
        kind__in=[SIGNATURE_CONFIRM, SIGNATURE_CONFIRM_REMINDER],
        about__signature=str(signature.pk),
    ).count()


def test_repeat_attempts_stop_resending_at_the_cap(settings, petition):
    settings.CONFIRM_EMAILS_MAX = 3
    for _ in range(5):
        signature = signature_create(petition=petition, email="anna@example.org")
    signature.refresh_from_db()
    assert confirm_emails(signature) == 3
    assert signature.confirm_emails_sent == 3
    # Attempts that got no email are gone at once, as within the interval.
    assert SignAttempt.objects.filter(signature=signature).count() == 3


def test_reminders_count_against_the_cap_and_resends_too(settings, petition, pending):
    settings.CONFIRM_EMAILS_MAX = 3
    signature_create(petition=petition, email="anna@example.org")  # a resend: 2 of 3
    assert signature_reminders_send(now=at(pending, DAY + HOUR)) == 1  # 3 of 3
    assert signature_reminders_send(now=at(pending, 3 * DAY + HOUR)) == 0
    signature_create(petition=petition, email="anna@example.org")
    assert confirm_emails(pending) == 3


def test_a_capped_repeat_attempt_gets_the_same_public_answer(settings, client, petition):
    settings.CONFIRM_EMAILS_MAX = 1
    first = sign(client, petition, email="anna@example.org")
    capped = sign(client, petition, email="anna@example.org")
    unknown = sign(client, petition, email="boris@example.org")

    assert first.status_code == capped.status_code == unknown.status_code == 302
    assert first["Location"] == capped["Location"] == unknown["Location"]
    anna = Signature.objects.get(supporter__email_digest=email_digest("anna@example.org"))
    assert anna.confirm_emails_sent == 1


# --- What the emails say ----------------------------------------------------------------------

WHY = (
    "You get this email because someone, hopefully you, signed “Free the Three” "
    "with this email address."
)
STOP = (
    "If it wasn't you, ignore it: without confirmation nothing is published, and we delete "
    "the unconfirmed signature and this address after 14 days."
)


def rendered(message: OutboxMessage) -> tuple[str, str, str]:
    email = email_render(message=message)
    return email.subject, email.text, email.html


def html_text(html: str) -> str:
    return html.replace("&#x27;", "'").replace("&#39;", "'").replace("<br>", "\n")


def test_the_reminders_say_why_they_came_and_how_to_stop(pending):
    signature_reminders_send(now=at(pending, DAY + HOUR))
    signature_reminders_send(now=at(pending, 3 * DAY + HOUR))
    first, last = reminders_of(pending)

    subject, text, html = rendered(first)
    assert subject == "Reminder: confirm your signature: Free the Three"
    for body in (text, html_text(html)):
        assert WHY in body
        assert STOP in body
        assert "This is reminder 1 of 2; after the last one we will not write to you" in body
        assert "/confirm/" in body
        assert latest_attempt(pending).confirm_code[:4] in body
    _, text, html = rendered(last)
    for body in (text, html_text(html)):
        assert "This is the last reminder: if you do nothing, we will not write" in body


def test_the_confirmation_email_says_why_it_came_and_how_to_stop(pending):
    message = OutboxMessage.objects.get(kind=SIGNATURE_CONFIRM)
    _, text, html = rendered(message)
    for body in (text, html_text(html)):
        assert WHY in body
        assert STOP in body
        assert "We send at most 2 reminders, then nothing more about this signature." in body


def test_the_already_signed_email_says_why_it_came_and_how_to_stop(petition):
    signature = signature_create(petition=petition, email="anna@example.org", confirmed=True)
    signature_create(petition=petition, email="anna@example.org")
    message = OutboxMessage.objects.get(kind=emails.SIGNATURE_ALREADY_SIGNED)
    _, text, html = rendered(message)
    for body in (text, html_text(html)):
        assert "You get this email because this address has signed “Free the Three”" in body
        assert "If it was not you, ignore this email: nothing changes" in body
        assert "/manage/" in body
    assert signature.status == Signature.Status.CONFIRMED


def test_the_manage_link_email_says_why_it_came_and_how_to_stop(pending):
    emails.signature_manage_link_email_queue(supporter=pending.supporter)
    message = OutboxMessage.objects.get(kind=emails.SIGNATURE_MANAGE_LINK)
    _, text, html = rendered(message)
    for body in (text, html_text(html)):
        assert "You get this email because someone, hopefully you, asked for a link" in body
        assert "we send no more unless a link is asked for again" in body


def test_the_reminder_is_in_the_signers_language(petition):
    signature = signature_create(petition=petition, language="ru")
    signature_reminders_send(now=at(signature, DAY + HOUR))
    [message] = reminders_of(signature)
    subject, text, _ = rendered(message)
    assert subject.startswith("Напоминание")
    assert "Free the Three" in text
    assert translation.get_language() == "en"


# --- Settings ------------------------------------------------------------------------------


def test_reminder_delays_are_read_with_units(monkeypatch):
    monkeypatch.setenv("SBOR_TEST_DELAYS", " 30m, 24h ,2d")
    assert env_durations("SBOR_TEST_DELAYS", "") == [1800, 86400, 172800]
    monkeypatch.setenv("SBOR_TEST_DELAYS", "")
    assert env_durations("SBOR_TEST_DELAYS", "24h") == []
    monkeypatch.delenv("SBOR_TEST_DELAYS")
    assert env_durations("SBOR_TEST_DELAYS", "24h,72h") == [86400, 259200]


@pytest.mark.parametrize("value", ["24", "24x", "h", "-1h", "0h", "1.5h"])
def test_reminder_delays_refuse_what_is_not_a_duration(monkeypatch, value):
    monkeypatch.setenv("SBOR_TEST_DELAYS", value)
    with pytest.raises(ImproperlyConfigured, match="positive whole number with a unit"):
        env_durations("SBOR_TEST_DELAYS", "")


@pytest.mark.parametrize(
    ("delays", "error"),
    [
        ("1h,2h,3h", "at most two reminders"),
        ("72h,24h", "each delay longer than the last"),
        ("24h,14d", "before the link expires"),
    ],
)
def test_settings_refuse_reminder_delays_that_break_the_promises(tmp_path, delays, error):
    env = subprocess_env(tmp_path, SBOR_CONFIRM_REMINDER_DELAYS=delays)
    done = python(env, "import django; django.setup()")
    assert done.returncode != 0
    assert error in done.stderr
