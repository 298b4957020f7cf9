"""Sending an update: once, to the audience of the moment, planned in chunks, never twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.access import NotAllowed, NotAMember
from campaigns.models import AuditEntry
from mailer.models import Delivery, Mailing
from petitions.selectors import person as person_selectors
from petitions.services import erasure, subscriptions
from tests.factories import campaign_create, member_create, tasks_run_on_commit
from tests.updates.conftest import signer
from updates import services, tasks
from updates.models import Update

pytestmark = pytest.mark.django_db


def draft(campaign, organiser, **fields) -> Update:
    fields.setdefault("subject", "News from the court")
    fields.setdefault("body", "The hearing is **tomorrow**.")
    return services.update_create(actor=organiser, campaign=campaign, **fields)


def test_an_organiser_writes_a_draft_whose_html_is_rendered_once(campaign, organiser):
    update = draft(campaign, organiser, subject="  News \n from  court ")

    assert update.status == Update.Status.DRAFT
    assert update.subject == "News from court"
    assert update.body_html == "<p>The hearing is <strong>tomorrow</strong>.</p>"
    assert update.created_by == organiser


@pytest.mark.parametrize(
    ("subject", "body", "field", "message"),
    [
        ("", "Text", "subject", "Write a subject."),
        ("   ", "Text", "subject", "Write a subject."),
        ("Subject", "", "body", "Write the message."),
        ("Subject", " \n\n ", "body", "Write the message."),
        (
            "Subject",
            "<script>alert(1)</script>",
            "body",
            "Emails cannot carry this HTML: <script>.",
        ),
        ("Subject", "Look <iframe src=x></iframe>", "body", "<iframe>"),
        ("Subject", "Text\x00with a NUL", "body", "characters emails cannot carry"),
        ("x" * 201, "Text", "subject", "200 characters"),
    ],
)
def test_an_empty_or_broken_update_is_refused_with_a_message(
    campaign, organiser, subject, body, field, message
):
    with pytest.raises(services.UpdateInvalidError) as refused:
        draft(campaign, organiser, subject=subject, body=body)

    assert message in " ".join(refused.value.errors[field])
    assert not Update.objects.exists()


def test_markdown_that_is_only_markup_is_refused(campaign, organiser):
    with pytest.raises(services.UpdateInvalidError) as refused:
        draft(campaign, organiser, body="<!-- nothing here -->")

    assert "write some text" in refused.value.errors["body"][0]


def test_a_viewer_may_not_write_and_an_outsider_is_not_a_member(campaign):
    viewer = member_create(organisation=campaign.organisation, role="viewer").user
    outsider = member_create(organisation=campaign_create().organisation).user

    with pytest.raises(NotAllowed):
        draft(campaign, viewer)
    with pytest.raises(NotAMember):
        draft(campaign, outsider)


def test_sending_plans_one_delivery_per_person_and_starts_the_mailing(
    campaign, petition, organiser
):
    people = [signer(petition, language=language) for language in ("en", "ru", "en")]
    signer(petition, consent=False)
    update = draft(campaign, organiser)

    with tasks_run_on_commit():
        size = services.update_send(actor=organiser, update=update)

    update.refresh_from_db()
    assert size == 3
    assert update.status == Update.Status.SENDING
    assert update.audience_size == 3
    assert update.planned_at is not None
    # The mailer's bulk tasks ran too (eagerly): everyone got it.
    assert update.mailing.status == Mailing.Status.DONE
    assert sorted(email.to[0] for email in mail.outbox) == sorted(person.email for person in people)
    deliveries = Delivery.objects.filter(mailing=update.mailing)
    assert sorted(deliveries.values_list("recipient_ref", flat=True)) == sorted(
        f"petitions.supporter:{person.pk}" for person in people
    )
    assert sorted(deliveries.values_list("language", flat=True)) == ["en", "en", "ru"]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UPDATE_SEND)
    assert entry.details == {"update": str(update.public_id), "audience": 3}
    assert "@" not in entry.target


def test_a_second_click_on_send_sends_nothing_twice(campaign, petition, organiser):
    signer(petition)
    update = draft(campaign, organiser)
    with tasks_run_on_commit():
        services.update_send(actor=organiser, update=update)

    with pytest.raises(services.UpdateAlreadySentError):
        services.update_send(actor=organiser, update=Update.objects.get(pk=update.pk))

    assert Mailing.objects.count() == 1
    assert Delivery.objects.count() == 1
    assert AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE_SEND).count() == 1


def test_an_audience_of_zero_is_refused_and_nothing_changes(campaign, petition, organiser):
    signer(petition, consent=False)
    update = draft(campaign, organiser)

    with pytest.raises(services.UpdateAudienceEmptyError):
        services.update_send(actor=organiser, update=update)

    update.refresh_from_db()
    assert update.status == Update.Status.DRAFT
    assert not Mailing.objects.exists()


def test_an_update_emptied_behind_the_forms_back_is_refused(campaign, petition, organiser):
    signer(petition)
    update = draft(campaign, organiser)
    Update.objects.filter(pk=update.pk).update(body="   ")

    with pytest.raises(services.UpdateInvalidError):
        services.update_send(actor=organiser, update=update)

    assert not Mailing.objects.exists()


def test_planning_walks_the_audience_in_chunks_and_planning_again_adds_nobody(
    campaign, petition, organiser
):
    people = [signer(petition) for _ in range(5)]
    update = draft(campaign, organiser)
    services.update_send(actor=organiser, update=update)  # planning task not run (no commit)

    assert services.update_plan(update_id=update.pk, chunk_size=2)
    update.refresh_from_db()
    assert update.planned_through == max(person.pk for person in people)

    # A second planning run (a duplicate task, the periodic re-plan) adds nobody.
    Update.objects.filter(pk=update.pk).update(planned_at=None, planned_through=0)
    Mailing.objects.filter(pk=update.mailing.pk).update(status=Mailing.Status.PLANNING)
    assert services.update_plan(update_id=update.pk, chunk_size=2)
    assert Delivery.objects.filter(mailing=update.mailing).count() == 5


def test_an_interrupted_planning_resumes_where_it_stopped(campaign, petition, organiser):
    people = sorted((signer(petition) for _ in range(4)), key=lambda person: person.pk)
    update = draft(campaign, organiser)
    services.update_send(actor=organiser, update=update)
    Update.objects.filter(pk=update.pk).update(planned_through=people[1].pk)

    services.update_plan(update_id=update.pk, chunk_size=10)

    refs = set(Delivery.objects.values_list("recipient_ref", flat=True))
    assert refs == {f"petitions.supporter:{person.pk}" for person in people[2:]}


def test_who_unsubscribes_before_planning_is_not_planned(campaign, petition, organiser):
    stays, leaves = signer(petition), signer(petition)
    update = draft(campaign, organiser)
    services.update_send(actor=organiser, update=update)
    subscriptions.updates_unsubscribe(supporter=leaves, campaign_id=campaign.pk)

    services.update_plan(update_id=update.pk)

    assert list(Delivery.objects.values_list("recipient_ref", flat=True)) == [
        f"petitions.supporter:{stays.pk}"
    ]


def test_a_scheduled_update_is_started_by_the_periodic_task_when_due(campaign, petition, organiser):
    signer(petition)
    update = draft(campaign, organiser)
    when = timezone.now() + timedelta(hours=1)

    services.update_schedule(actor=organiser, update=update, when=when)
    assert tasks.updates_tick() == {"started": 0, "replanned": 0, "finished": 0}
    update.refresh_from_db()
    assert update.status == Update.Status.SCHEDULED

    with tasks_run_on_commit():
        started = services.updates_due_start(now=when + timedelta(seconds=1))

    update.refresh_from_db()
    assert started == 1
    assert update.status == Update.Status.SENDING
    assert Delivery.objects.filter(mailing=update.mailing).count() == 1
    assert AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE_SCHEDULE).count() == 1
    assert AuditEntry.objects.get(action=AuditEntry.Action.UPDATE_SEND).actor_label == "system"


@pytest.mark.parametrize(
    "ahead", [timedelta(seconds=-5), timedelta(seconds=10), timedelta(days=400)]
)
def test_a_time_in_the_past_or_too_far_ahead_is_refused(campaign, petition, organiser, ahead):
    signer(petition)
    update = draft(campaign, organiser)

    with pytest.raises(services.UpdateScheduleError):
        services.update_schedule(actor=organiser, update=update, when=timezone.now() + ahead)

    update.refresh_from_db()
    assert update.status == Update.Status.DRAFT


def test_cancelling_a_schedule_makes_the_update_a_draft_again(campaign, petition, organiser):
    signer(petition)
    update = draft(campaign, organiser)
    services.update_schedule(
        actor=organiser, update=update, when=timezone.now() + timedelta(hours=1)
    )

    assert services.update_cancel(actor=organiser, update=update) == Update.Status.DRAFT
    assert services.updates_due_start(now=timezone.now() + timedelta(hours=2)) == 0
    assert AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE_CANCEL).count() == 1


def test_stopping_an_update_being_sent_cancels_what_was_not_handed_over(
    campaign, petition, organiser
):
    signer(petition)
    update = draft(campaign, organiser)
    services.update_send(actor=organiser, update=update)
    services.update_plan(update_id=update.pk)  # planned and started; no batch sent yet

    assert services.update_cancel(actor=organiser, update=update) == Update.Status.CANCELLED
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.CANCELLED}
    with pytest.raises(services.UpdateNotCancellableError):
        services.update_cancel(actor=organiser, update=update)


def test_planning_stops_quietly_for_a_cancelled_update(campaign, petition, organiser):
    signer(petition)
    update = draft(campaign, organiser)
    services.update_send(actor=organiser, update=update)
    services.update_cancel(actor=organiser, update=update)

    assert not services.update_plan(update_id=update.pk)
    assert not Delivery.objects.exists()


def test_a_planning_task_that_was_lost_is_enqueued_again(campaign, petition, organiser):
    signer(petition)
    update = draft(campaign, organiser)
    services.update_send(actor=organiser, update=update)  # its task never ran
    Update.objects.filter(pk=update.pk).update(sending_at=timezone.now() - timedelta(minutes=5))

    result = tasks.updates_tick()

    assert result["replanned"] == 1
    assert Delivery.objects.count() == 1


def test_an_update_being_sent_can_no_longer_be_edited(campaign, petition, organiser):
    signer(petition)
    update = draft(campaign, organiser)
    services.update_send(actor=organiser, update=update)

    with pytest.raises(services.UpdateNotEditableError):
        services.update_edit(actor=organiser, update=update, subject="Other", body="Other")


def test_only_a_draft_can_be_deleted(campaign, petition, organiser):
    signer(petition)
    kept = draft(campaign, organiser)
    services.update_send(actor=organiser, update=kept)
    gone = draft(campaign, organiser)

    assert not services.update_delete(actor=organiser, update=kept)
    assert services.update_delete(actor=organiser, update=gone)
    assert list(Update.objects.all()) == [kept]


def test_a_test_email_goes_to_the_organiser_once_per_half_minute(campaign, organiser, mailoutbox):
    update = draft(campaign, organiser)

    with tasks_run_on_commit():
        services.update_test_send(actor=organiser, update=update, language="en")
    with pytest.raises(services.UpdateTestTooSoonError):
        services.update_test_send(actor=organiser, update=update, language="en")

    [email] = mailoutbox
    assert email.to == [organiser.email]
    assert email.subject == "[Test] News from the court"
    assert "This is a test." in email.body
    assert "The hearing is **tomorrow**." in email.body
    html = email.alternatives[0][0]
    assert "<strong>tomorrow</strong>" in html


def test_the_persons_data_download_lists_the_updates_sent_to_them(campaign, petition, organiser):
    person = signer(petition)
    with tasks_run_on_commit():
        services.update_send(actor=organiser, update=draft(campaign, organiser))

    data = person_selectors.supporter_data_export(supporter=person)

    [update_email] = [email for email in data["emails"] if email["kind"] == "campaign_update"]
    assert update_email["status"] == Delivery.Status.SENT
    assert update_email["sent_at"] is not None


def test_erasing_a_person_deletes_their_deliveries(campaign, petition, organiser):
    person, other = signer(petition), signer(petition)
    with tasks_run_on_commit():
        services.update_send(actor=organiser, update=draft(campaign, organiser))

    erasure.supporter_erase(supporter=person)

    assert list(Delivery.objects.values_list("recipient_ref", flat=True)) == [
        f"petitions.supporter:{other.pk}"
    ]


def test_a_campaigner_whose_session_gave_no_second_factor_cannot_write_or_send(
    campaign, petition, organiser
):
    from campaigns.access import SecondFactorNeeded

    update = draft(campaign, organiser)
    signer(petition)
    password_only = member_create(organisation=campaign.organisation, role="campaigner").user

    with pytest.raises(SecondFactorNeeded):
        draft(campaign, password_only)
    with pytest.raises(SecondFactorNeeded):
        services.update_send(actor=password_only, update=update)
    with pytest.raises(SecondFactorNeeded):
        services.update_schedule(
            actor=password_only, update=update, when=timezone.now() + timedelta(days=1)
        )

    update.refresh_from_db()
    assert update.status == Update.Status.DRAFT
    assert not Mailing.objects.exists()
