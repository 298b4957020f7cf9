"""A scheduled update goes out on the right of the member who scheduled it, read when its time
comes: someone removed from the organisation, or left without the right, sends nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import AuditEntry, Membership, Role
from mailer.models import Mailing
from tests.factories import member_create, tasks_run_on_commit, workspace_login
from tests.updates.conftest import signer
from updates import services
from updates.models import UnscheduledReason, Update

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduled(campaign, petition, organiser) -> Update:
    signer(petition)
    update = services.update_create(
        actor=organiser, campaign=campaign, subject="Tomorrow", body="The hearing."
    )
    services.update_schedule(
        actor=organiser, update=update, when=timezone.now() + timedelta(hours=1)
    )
    return update


def fire() -> int:
    with tasks_run_on_commit():
        return services.updates_due_start(now=timezone.now() + timedelta(hours=2))


def assert_taken_back(update: Update) -> None:
    update.refresh_from_db()
    assert update.status == Update.Status.DRAFT
    assert update.scheduled_at is None
    assert update.unscheduled_at is not None
    assert update.unscheduled_reason == UnscheduledReason.SCHEDULER_NOT_ALLOWED
    assert update.mailing is None
    assert not Mailing.objects.exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UPDATE_CANCEL)
    assert entry.actor is None and entry.actor_label == "system"
    assert entry.details == {
        "update": str(update.public_id),
        "reason": "scheduler_not_allowed",
    }


def test_a_scheduled_update_of_a_member_removed_since_is_not_sent(scheduled, organiser):
    Membership.objects.filter(user=organiser).delete()

    assert fire() == 0

    assert_taken_back(scheduled)
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE_SEND).exists()


def test_a_scheduled_update_of_a_member_made_a_viewer_since_is_not_sent(scheduled, organiser):
    Membership.objects.filter(user=organiser).update(role=Role.VIEWER)

    assert fire() == 0

    assert_taken_back(scheduled)


def test_a_scheduled_update_of_a_closed_account_is_not_sent(scheduled, organiser):
    type(organiser).objects.filter(pk=organiser.pk).update(is_active=False)

    assert fire() == 0

    assert_taken_back(scheduled)


def test_a_scheduled_update_of_a_member_still_allowed_goes_out(scheduled):
    assert fire() == 1

    scheduled.refresh_from_db()
    assert scheduled.status == Update.Status.SENDING
    assert scheduled.unscheduled_at is None


def test_a_schedule_set_again_by_another_member_goes_out_on_their_right(
    scheduled, campaign, organiser
):
    colleague = member_create(organisation=campaign.organisation, role="campaigner").user
    colleague.is_verified = lambda: True  # as django-otp's middleware marks a verified session
    services.update_schedule(
        actor=colleague, update=scheduled, when=timezone.now() + timedelta(minutes=90)
    )
    Membership.objects.filter(user=organiser).delete()

    assert fire() == 1


def test_the_update_page_says_why_its_schedule_was_taken_back(
    client, scheduled, campaign, organiser
):
    Membership.objects.filter(user=organiser).delete()
    fire()
    colleague = member_create(organisation=campaign.organisation, role="campaigner").user
    workspace_login(client, colleague)
    url = reverse(
        "workspace:update",
        kwargs={
            "org": campaign.organisation.slug,
            "campaign": campaign.public_id,
            "update": scheduled.public_id,
        },
    )

    page = client.get(url).content.decode()

    assert "Its scheduled send was cancelled on" in page
    assert "the member who scheduled it may no longer send this organisation&#x27;s updates" in (
        page
    )
    # Sending it again clears the note.
    colleague.is_verified = lambda: True  # as django-otp's middleware marks a verified session
    services.update_send(actor=colleague, update=scheduled)
    assert "Its scheduled send was cancelled" not in client.get(url).content.decode()
