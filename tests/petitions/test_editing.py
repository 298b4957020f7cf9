"""Organisers edit petitions through services: texts and goal, the lifecycle (open, close,
win, the deadline), paper signatures and the target's response. Each checks the member's
right, records an audit entry, and stores nothing on bad input."""

from __future__ import annotations

import datetime
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.access import NotAllowed, NotAMember
from campaigns.models import AuditEntry, Campaign
from petitions import services, tasks
from petitions.models import PaperBatch, Petition, Signature
from petitions.services import PetitionDetails, PetitionStateError
from tests.factories import (
    campaign_create,
    member_create,
    organiser_create,
    petition_create,
    signature_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return member_create(role="campaigner")


@pytest.fixture
def campaign(member) -> Campaign:
    return campaign_create(organisation=member.organisation, retention_days=30)


@pytest.fixture
def actor(member):
    return member.user


def details(**fields) -> PetitionDetails:
    fields.setdefault("title", "Free the prisoners of conscience")
    fields.setdefault("ask", "Release everyone held for their views.")
    fields.setdefault("target_name", "Ivan Petrov")
    return PetitionDetails(**fields)


def draft(campaign: Campaign, **fields) -> Petition:
    fields.setdefault("status", Petition.Status.DRAFT)
    return petition_create(campaign=campaign, **fields)


def audit_actions(campaign: Campaign) -> list[str]:
    entries = AuditEntry.objects.filter(organisation=campaign.organisation).order_by("id")
    return list(entries.values_list("action", flat=True))


def field_errors(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- Creating and editing ---------------------------------------------------------------


def test_a_new_petition_is_a_draft_with_its_target_in_three_parts(campaign, actor):
    petition = services.petition_create(
        actor=actor,
        campaign=campaign,
        details=details(
            target_position="Prosecutor General", target_organisation="The Prosecutor's Office"
        ),
    )

    petition.refresh_from_db()
    assert petition.status == Petition.Status.DRAFT
    assert petition.target_label == "Ivan Petrov, Prosecutor General, The Prosecutor's Office"
    assert petition.slug == "free-the-prisoners-of-conscience"
    entry = AuditEntry.objects.get(organisation=campaign.organisation)
    assert entry.action == AuditEntry.Action.PETITION_CREATE
    assert entry.actor == actor
    assert entry.details["petition"] == str(petition.public_id)


def test_a_russian_title_gives_a_latin_address_that_no_other_petition_has(campaign, actor):
    petition_create(slug="osvobodite-ivana")

    petition = services.petition_create(
        actor=actor, campaign=campaign, details=details(title="Освободите Ивана!")
    )

    assert petition.slug == "osvobodite-ivana-2"


def test_an_address_typed_that_another_petition_has_is_refused(campaign, actor):
    petition_create(slug="taken")

    with pytest.raises(ValidationError) as excinfo:
        services.petition_create(actor=actor, campaign=campaign, details=details(), slug="taken")

    assert "another petition has this address" in field_errors(excinfo)["slug"][0].lower()
    assert Petition.objects.filter(campaign=campaign).count() == 0


@pytest.mark.parametrize("goal", [None, 0, -5])
def test_a_fixed_goal_must_be_a_positive_number(campaign, actor, goal):
    with pytest.raises(ValidationError) as excinfo:
        services.petition_create(
            actor=actor, campaign=campaign, details=details(goal_kind="fixed", goal_fixed=goal)
        )

    assert list(field_errors(excinfo)) == ["goal_fixed"]
    assert not Petition.objects.filter(campaign=campaign).exists()
    assert audit_actions(campaign) == []


def test_a_ladder_goal_forgets_a_number_typed_for_a_fixed_one(campaign, actor):
    petition = services.petition_create(
        actor=actor, campaign=campaign, details=details(goal_kind="ladder", goal_fixed=700)
    )

    assert petition.goal_fixed is None


def test_a_deadline_in_the_past_is_refused(campaign, actor):
    past = timezone.now() - timedelta(minutes=1)

    with pytest.raises(ValidationError) as excinfo:
        services.petition_create(actor=actor, campaign=campaign, details=details(closes_at=past))

    assert field_errors(excinfo) == {"closes_at": ["The deadline must be in the future."]}
    assert not Petition.objects.filter(campaign=campaign).exists()


def test_empty_texts_and_too_long_ones_are_all_reported_at_once(campaign, actor):
    with pytest.raises(ValidationError) as excinfo:
        services.petition_create(
            actor=actor,
            campaign=campaign,
            details=details(title=" ", ask="", target_name="x", target_position="p" * 201),
        )

    assert set(field_errors(excinfo)) == {"title", "ask", "target_position"}


def test_a_viewer_cannot_create_a_petition(campaign):
    viewer = member_create(organisation=campaign.organisation, role="viewer").user

    with pytest.raises(NotAllowed):
        services.petition_create(actor=viewer, campaign=campaign, details=details())

    assert not Petition.objects.filter(campaign=campaign).exists()


def test_someone_outside_the_organisation_cannot_create_a_petition(campaign):
    with pytest.raises(NotAMember):
        services.petition_create(actor=organiser_create(), campaign=campaign, details=details())


def test_editing_saves_the_changed_fields_and_records_which(campaign, actor):
    petition = draft(campaign, title="Old", ask="Old ask", target_name="Old target")

    changed = services.petition_update(
        actor=actor,
        petition=petition,
        details=details(
            title="New", ask="Old ask", target_name="Old target", goal_kind="fixed", goal_fixed=5000
        ),
    )

    assert changed == ["title", "goal_kind", "goal_fixed"]
    petition.refresh_from_db()
    assert (petition.title, petition.goal_fixed) == ("New", 5000)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.PETITION_UPDATE)
    assert entry.details["fields"] == ["title", "goal_kind", "goal_fixed"]


def test_editing_never_turns_back_the_count_kept_by_the_count_task(campaign, actor):
    petition = draft(campaign, status=Petition.Status.OPEN)
    Petition.objects.filter(pk=petition.pk).update(signature_count=1234, paper_count=40)

    services.petition_update(actor=actor, petition=petition, details=details(title="Renamed"))

    petition.refresh_from_db()
    assert (petition.title, petition.signature_count, petition.paper_count) == (
        "Renamed",
        1234,
        40,
    )


def test_the_address_cannot_change_once_the_petition_is_open(campaign, actor):
    petition = draft(campaign, status=Petition.Status.OPEN, slug="first-address")

    with pytest.raises(ValidationError) as excinfo:
        services.petition_update(
            actor=actor, petition=petition, details=details(), slug="second-address"
        )

    assert list(field_errors(excinfo)) == ["slug"]
    assert Petition.objects.get(pk=petition.pk).slug == "first-address"
    assert petition.slug == "first-address"


def test_a_drafts_address_can_change_and_an_empty_one_keeps_it(campaign, actor):
    petition = draft(campaign, slug="first-address")

    services.petition_update(actor=actor, petition=petition, details=details(), slug="")
    assert Petition.objects.get(pk=petition.pk).slug == "first-address"
    services.petition_update(actor=actor, petition=petition, details=details(), slug="Second")
    assert Petition.objects.get(pk=petition.pk).slug == "second"


def test_an_unchanged_deadline_is_kept_and_a_new_past_one_refused(campaign, actor):
    soon = timezone.now() + timedelta(days=3)
    petition = draft(campaign, closes_at=soon)

    services.petition_update(actor=actor, petition=petition, details=details(closes_at=soon))
    with pytest.raises(ValidationError):
        services.petition_update(
            actor=actor,
            petition=petition,
            details=details(closes_at=timezone.now() - timedelta(hours=1)),
        )

    assert Petition.objects.get(pk=petition.pk).closes_at == soon


@pytest.mark.parametrize("status", [Petition.Status.CLOSED, Petition.Status.WON])
def test_a_closed_or_won_petition_keeps_its_text(campaign, actor, status):
    petition = draft(campaign, status=status, title="As closed")

    with pytest.raises(PetitionStateError):
        services.petition_update(actor=actor, petition=petition, details=details(title="New"))

    assert Petition.objects.get(pk=petition.pk).title == "As closed"


# --- Opening ------------------------------------------------------------------------------


def test_opening_a_draft_lets_people_sign_and_is_recorded(campaign, actor):
    petition = draft(campaign)

    services.petition_open(actor=actor, petition=petition)

    petition.refresh_from_db()
    assert petition.status == Petition.Status.OPEN
    assert petition.is_open
    services.signing_gate_enter(petition=petition)  # does not raise
    assert audit_actions(campaign) == [AuditEntry.Action.PETITION_PUBLISH]


def test_opening_twice_records_it_once(campaign, actor):
    petition = draft(campaign)

    services.petition_open(actor=actor, petition=petition)
    services.petition_open(actor=actor, petition=petition)

    assert audit_actions(campaign) == [AuditEntry.Action.PETITION_PUBLISH]


@pytest.mark.parametrize(
    "campaign_status", [Campaign.Status.DRAFT, Campaign.Status.CLOSED, Campaign.Status.WON]
)
def test_a_petition_opens_only_on_a_published_campaign(member, actor, campaign_status):
    campaign = campaign_create(organisation=member.organisation, status=campaign_status)
    petition = draft(campaign)

    with pytest.raises(PetitionStateError) as excinfo:
        services.petition_open(actor=actor, petition=petition)

    assert "Publish the campaign first" in excinfo.value.message
    assert Petition.objects.get(pk=petition.pk).status == Petition.Status.DRAFT
    assert audit_actions(campaign) == []


def test_a_draft_whose_deadline_passed_does_not_open(campaign, actor):
    petition = draft(campaign)
    Petition.objects.filter(pk=petition.pk).update(closes_at=timezone.now() - timedelta(hours=1))
    petition.refresh_from_db()

    with pytest.raises(PetitionStateError, match="deadline has passed"):
        services.petition_open(actor=actor, petition=petition)

    assert Petition.objects.get(pk=petition.pk).status == Petition.Status.DRAFT


@pytest.mark.parametrize("status", [Petition.Status.CLOSED, Petition.Status.WON])
def test_a_closed_or_won_petition_is_not_opened_again(campaign, actor, status):
    petition = draft(campaign, status=status)

    with pytest.raises(PetitionStateError):
        services.petition_open(actor=actor, petition=petition)

    assert Petition.objects.get(pk=petition.pk).status == status


def test_a_viewer_cannot_open_a_petition(campaign):
    petition = draft(campaign)
    viewer = member_create(organisation=campaign.organisation, role="viewer").user

    with pytest.raises(NotAllowed):
        services.petition_open(actor=viewer, petition=petition)

    assert Petition.objects.get(pk=petition.pk).status == Petition.Status.DRAFT


# --- Closing and winning ------------------------------------------------------------------


def test_closing_stops_signing_and_stamps_when(campaign, actor):
    petition = draft(campaign, status=Petition.Status.OPEN)

    services.petition_close(actor=actor, petition=petition)

    petition.refresh_from_db()
    assert petition.status == Petition.Status.CLOSED
    assert petition.closed_at is not None
    with pytest.raises(services.PetitionClosedError):
        services.signing_gate_enter(petition=petition)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.details["reason"]) == (
        AuditEntry.Action.PETITION_CLOSE,
        "organiser",
    )


def test_closing_twice_records_it_once_and_keeps_the_first_moment(campaign, actor):
    petition = draft(campaign, status=Petition.Status.OPEN)
    services.petition_close(actor=actor, petition=petition)
    first = Petition.objects.get(pk=petition.pk).closed_at

    services.petition_close(actor=actor, petition=petition)

    assert Petition.objects.get(pk=petition.pk).closed_at == first
    assert audit_actions(campaign) == [AuditEntry.Action.PETITION_CLOSE]


def test_a_draft_cannot_be_closed_or_won(campaign, actor):
    petition = draft(campaign)

    with pytest.raises(PetitionStateError):
        services.petition_close(actor=actor, petition=petition)
    with pytest.raises(PetitionStateError):
        services.petition_win(actor=actor, petition=petition)

    assert Petition.objects.get(pk=petition.pk).status == Petition.Status.DRAFT


def test_winning_an_open_petition_closes_it_with_a_victory(campaign, actor):
    petition = draft(campaign, status=Petition.Status.OPEN)

    services.petition_win(actor=actor, petition=petition)

    petition.refresh_from_db()
    assert petition.status == Petition.Status.WON
    assert petition.closed_at is not None
    assert not petition.is_open
    with pytest.raises(services.PetitionClosedError):
        services.signing_gate_enter(petition=petition)
    assert audit_actions(campaign) == [AuditEntry.Action.PETITION_WIN]


def test_a_closed_petition_can_still_be_won_and_keeps_when_it_closed(campaign, actor):
    petition = draft(campaign, status=Petition.Status.OPEN)
    services.petition_close(actor=actor, petition=petition)
    closed_at = Petition.objects.get(pk=petition.pk).closed_at

    services.petition_win(actor=actor, petition=petition)

    petition.refresh_from_db()
    assert (petition.status, petition.closed_at) == (Petition.Status.WON, closed_at)
    with pytest.raises(PetitionStateError, match="won"):
        services.petition_close(actor=actor, petition=petition)


def test_a_sign_attempt_processed_after_the_petition_was_won_leaves_nothing(campaign, actor):
    petition = draft(campaign, status=Petition.Status.OPEN)
    attempt = services.sign_attempt_create(petition=petition, email="a@example.org", name="A")
    assert attempt is not None
    services.petition_win(actor=actor, petition=petition)

    services.sign_attempt_process(attempt_id=attempt.pk)

    assert not Signature.objects.filter(petition=petition).exists()


def test_a_won_petition_is_anonymised_once_its_retention_period_is_over(campaign, actor):
    petition = draft(campaign, status=Petition.Status.OPEN)
    signature_create(petition=petition, confirmed=True)
    services.petition_win(actor=actor, petition=petition)

    assert services.petitions_retention_apply() == 0
    Petition.objects.filter(pk=petition.pk).update(closed_at=timezone.now() - timedelta(days=31))
    assert services.petitions_retention_apply() == 1

    petition.refresh_from_db()
    assert petition.anonymised_at is not None
    assert petition.status == Petition.Status.WON
    assert not Signature.objects.filter(petition=petition, supporter__isnull=False).exists()


def test_a_lockdown_leaves_a_won_petition_won(campaign):
    won = draft(campaign, status=Petition.Status.WON)
    open_one = draft(campaign, status=Petition.Status.OPEN)

    services.campaign_lockdown(campaign=campaign, confirm_name=campaign.title)

    assert Petition.objects.get(pk=won.pk).status == Petition.Status.WON
    assert Petition.objects.get(pk=open_one.pk).status == Petition.Status.CLOSED


# --- The deadline -------------------------------------------------------------------------


def test_the_deadline_task_closes_open_petitions_past_their_deadline(campaign):
    deadline = timezone.now() - timedelta(minutes=2)
    due = draft(campaign, status=Petition.Status.OPEN)
    Petition.objects.filter(pk=due.pk).update(closes_at=deadline)
    later = draft(campaign, status=Petition.Status.OPEN, closes_at=timezone.now() + timedelta(1))
    undated = draft(campaign, status=Petition.Status.OPEN)
    a_draft = draft(campaign)
    Petition.objects.filter(pk=a_draft.pk).update(closes_at=deadline)

    tasks.petitions_close_due.delay()

    due.refresh_from_db()
    assert (due.status, due.closed_at) == (Petition.Status.CLOSED, deadline)
    statuses = Petition.objects.filter(pk__in=[later.pk, undated.pk, a_draft.pk])
    assert sorted(statuses.values_list("status", flat=True)) == ["draft", "open", "open"]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.actor_label) == ("petition.close", None, "system")
    assert entry.details["reason"] == "deadline"


def test_the_deadline_task_is_safe_to_run_twice(campaign):
    petition = draft(campaign, status=Petition.Status.OPEN)
    Petition.objects.filter(pk=petition.pk).update(closes_at=timezone.now() - timedelta(1))

    assert services.petitions_close_due() == 1
    assert services.petitions_close_due() == 0

    assert AuditEntry.objects.count() == 1


def test_the_deadline_task_runs_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["petitions-close-due"]

    assert entry["task"] == "petitions.tasks.petitions_close_due"
    assert entry["schedule"] == 60.0


# --- Paper signatures ---------------------------------------------------------------------


def test_paper_batches_add_up_to_the_paper_total_and_leave_the_online_count(campaign, actor):
    petition = draft(campaign, status=Petition.Status.OPEN)
    Petition.objects.filter(pk=petition.pk).update(signature_count=7)
    today = timezone.localdate()

    services.paper_batch_add(
        actor=actor,
        petition=petition,
        count=120,
        collected_by="Volunteers in Perm",
        collected_on=today,
    )
    batch = services.paper_batch_add(
        actor=actor, petition=petition, count=30, collected_by="Rally", collected_on=today
    )

    assert petition.paper_count == 150
    petition.refresh_from_db()
    assert (petition.paper_count, petition.signature_count) == (150, 7)
    assert sum(PaperBatch.objects.filter(petition=petition).values_list("count", flat=True)) == 150
    assert (batch.added_by, batch.collected_by) == (actor, "Rally")
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.PETITION_PAPER).first()
    assert entry is not None
    assert (entry.details["count"], entry.details["paper_total"]) == (30, 150)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": -10}, "count"),
        ({"count": 1_000_001}, "count"),
        ({"collected_by": "  "}, "collected_by"),
        ({"collected_by": "x" * 201}, "collected_by"),
        ({"collected_on": timezone.localdate() + timedelta(days=2)}, "collected_on"),
    ],
)
def test_a_bad_paper_batch_is_refused_and_nothing_changes(campaign, actor, fields, field):
    petition = draft(campaign, status=Petition.Status.OPEN)
    values = {"count": 10, "collected_by": "Volunteers", "collected_on": timezone.localdate()}
    values.update(fields)

    with pytest.raises(ValidationError) as excinfo:
        services.paper_batch_add(actor=actor, petition=petition, **values)

    assert list(field_errors(excinfo)) == [field]
    assert Petition.objects.get(pk=petition.pk).paper_count == 0
    assert not PaperBatch.objects.exists()
    assert audit_actions(campaign) == []


def test_a_date_already_today_east_of_utc_is_not_in_the_future(campaign, actor, monkeypatch):
    petition = draft(campaign, status=Petition.Status.OPEN)
    # 22:00 UTC on 1 March is 01:00 on 2 March in Moscow: "today" there is the 2nd.
    monkeypatch.setattr(
        timezone, "now", lambda: datetime.datetime(2026, 3, 1, 22, tzinfo=datetime.UTC)
    )
    batch = {"actor": actor, "petition": petition, "count": 1, "collected_by": "Rally"}

    services.paper_batch_add(**batch, collected_on=datetime.date(2026, 3, 2))
    with pytest.raises(ValidationError):
        services.paper_batch_add(**batch, collected_on=datetime.date(2026, 3, 3))

    assert Petition.objects.get(pk=petition.pk).paper_count == 1


def test_a_viewer_cannot_add_paper_signatures(campaign):
    petition = draft(campaign, status=Petition.Status.OPEN)
    viewer = member_create(organisation=campaign.organisation, role="viewer").user

    with pytest.raises(NotAllowed):
        services.paper_batch_add(
            actor=viewer,
            petition=petition,
            count=5,
            collected_by="Rally",
            collected_on=timezone.localdate(),
        )

    assert Petition.objects.get(pk=petition.pk).paper_count == 0


# --- The target's response ----------------------------------------------------------------


def test_the_response_is_stored_with_its_date_and_recorded(campaign, actor):
    petition = draft(campaign, status=Petition.Status.CLOSED)
    date = datetime.date(2026, 1, 15)

    services.target_response_record(
        actor=actor, petition=petition, text="  We will review the cases.  ", date=date
    )

    petition.refresh_from_db()
    assert (petition.response_text, petition.response_date) == ("We will review the cases.", date)
    assert petition.response_recorded_at is not None
    entry = AuditEntry.objects.get()
    assert entry.action == AuditEntry.Action.PETITION_RESPONSE
    assert (entry.details["date"], entry.details["replaced"]) == ("2026-01-15", False)


@pytest.mark.parametrize(("text", "days", "field"), [("", 0, "text"), ("Reply", 2, "date")])
def test_a_response_without_text_or_dated_in_the_future_is_refused(
    campaign, actor, text, days, field
):
    petition = draft(campaign, status=Petition.Status.OPEN)

    with pytest.raises(ValidationError) as excinfo:
        services.target_response_record(
            actor=actor,
            petition=petition,
            text=text,
            date=timezone.localdate() + timedelta(days=days),
        )

    assert list(field_errors(excinfo)) == [field]
    assert Petition.objects.get(pk=petition.pk).response_text == ""
    assert audit_actions(campaign) == []


def test_a_draft_has_no_response_to_record(campaign, actor):
    petition = draft(campaign)

    with pytest.raises(PetitionStateError):
        services.target_response_record(
            actor=actor, petition=petition, text="Reply", date=timezone.localdate()
        )
