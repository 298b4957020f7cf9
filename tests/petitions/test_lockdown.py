"""Lockdown: purge all personal data of a campaign at once, keeping its counts.

Through the service, the management command and the admin action that asks for the title.
"""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from campaigns.models import Campaign
from mailer.models import OutboxMessage
from petitions import services
from petitions.models import Consent, Petition, SignAttempt, Signature, Supporter
from tests.factories import (
    campaign_create,
    flagged_attempt_create,
    petition_create,
    signature_create,
    staff_user_create,
)

pytestmark = pytest.mark.django_db

TITLE = "Freedom for the Kherson Three"


@pytest.fixture
def campaign() -> Campaign:
    """A campaign with two petitions: confirmed, pending and flagged signers, consents and
    queued mail, plus one signer who also signed elsewhere."""
    campaign = campaign_create(title=TITLE, slug="kherson-three")
    first = petition_create(campaign=campaign, slug="first")
    second = petition_create(campaign=campaign, slug="second")
    for _ in range(3):
        signature_create(petition=first, confirmed=True, consent_updates=True)
    signature_create(petition=second, confirmed=True, email="also@example.org")
    signature_create(petition=petition_create(), confirmed=True, email="also@example.org")
    signature_create(petition=second)  # pending, its confirmation email queued
    flagged_attempt_create(petition=second)
    services.signature_counts_refresh()
    services.petition_integrity_refresh()
    Petition.objects.filter(pk=first.pk).update(paper_count=40)
    # The confirmed signers' emails went out; the pending signer's is still queued.
    pending = Signature.objects.filter(status=Signature.Status.PENDING).values_list("pk", flat=True)
    OutboxMessage.objects.exclude(about__signature__in=[str(pk) for pk in pending]).update(
        status=OutboxMessage.Status.SENT
    )
    return campaign


def linked_signatures(campaign: Campaign) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM petitions_signature s JOIN petitions_petition p "
            "ON p.id = s.petition_id WHERE p.campaign_id = %s AND s.supporter_id IS NOT NULL",
            [campaign.pk],
        )
        return int(cursor.fetchone()[0])


def snapshot(campaign: Campaign) -> tuple:
    petitions = Petition.objects.filter(campaign=campaign).order_by("pk")
    return (
        linked_signatures(campaign),
        Supporter.objects.count(),
        Consent.objects.count(),
        OutboxMessage.objects.count(),
        [(p.status, p.closed_at, p.anonymised_at) for p in petitions],
        Campaign.objects.get(pk=campaign.pk).locked_down_at,
    )


def assert_locked_down(campaign: Campaign) -> None:
    petitions = Petition.objects.filter(campaign=campaign).order_by("slug")
    assert linked_signatures(campaign) == 0
    assert {p.status for p in petitions} == {Petition.Status.CLOSED}
    assert all(p.closed_at and p.anonymised_at for p in petitions)
    assert [p.signature_count for p in petitions] == [3, 1]
    assert petitions[0].paper_count == 40
    assert petitions[1].integrity == {
        "pending": 1,
        "withdrawn": 0,
        "invalidated": {"automated": 1},
        "domain_limited": 0,
    }
    assert not Consent.objects.filter(campaign=campaign).exists()
    assert not OutboxMessage.objects.filter(
        about__petition__in=[str(pk) for pk in campaign.petitions.values_list("pk", flat=True)]
    ).exists()
    assert not SignAttempt.objects.filter(petition__campaign=campaign).exists()
    # Only the person who also signed elsewhere is still a supporter.
    assert [s.email for s in Supporter.objects.all()] == ["also@example.org"]
    assert Campaign.objects.get(pk=campaign.pk).locked_down_at is not None
    assert services.signature_counts_repair() == 0


# --- The service --------------------------------------------------------------------------


def test_the_service_purges_every_signer_and_keeps_the_counts(campaign):
    detached = services.campaign_lockdown(campaign=campaign, confirm_name=f"  {TITLE} ")

    assert detached == 5
    assert_locked_down(campaign)


@pytest.mark.parametrize("typed", ["", "freedom for the kherson three", "Freedom", "x" * 300])
def test_the_service_refuses_a_name_that_is_not_the_title_and_changes_nothing(campaign, typed):
    before = snapshot(campaign)

    with pytest.raises(services.LockdownConfirmationError):
        services.campaign_lockdown(campaign=campaign, confirm_name=typed)

    assert snapshot(campaign) == before


def test_a_locked_down_campaign_takes_no_new_signatures(campaign):
    services.campaign_lockdown(campaign=campaign, confirm_name=TITLE)
    petition = Petition.objects.get(slug="first")

    with pytest.raises(services.PetitionClosedError):
        signature_create(petition=petition)


# --- The management command ---------------------------------------------------------------


def test_the_command_locks_down_with_the_exact_title(campaign):
    out = StringIO()

    call_command("campaign_lockdown", "kherson-three", "--confirm", TITLE, stdout=out)

    assert "locked down: 5 signatures" in out.getvalue()
    assert_locked_down(campaign)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["kherson-three"], "without --confirm"),
        (["kherson-three", "--confirm", "Kherson Three"], "does not match"),
        (["kherson-three", "--confirm", ""], "does not match"),
        (["no-such-campaign", "--confirm", TITLE], "No campaign"),
    ],
)
def test_the_command_refuses_without_the_exact_title_and_changes_nothing(
    campaign, arguments, message
):
    before = snapshot(campaign)

    with pytest.raises(CommandError, match=message):
        call_command("campaign_lockdown", *arguments)

    assert snapshot(campaign) == before


# --- The admin action ---------------------------------------------------------------------


def lockdown_url(campaign: Campaign) -> str:
    return f"/admin/campaigns/campaign/{campaign.pk}/lockdown/"


def test_the_admin_action_leads_to_a_confirmation_page_with_the_numbers(client, campaign):
    client.force_login(staff_user_create())

    response = client.post(
        "/admin/campaigns/campaign/",
        {"action": "lockdown", "_selected_action": [campaign.pk]},
    )

    assert response.status_code == 302
    assert response["Location"] == lockdown_url(campaign)
    page = client.get(lockdown_url(campaign)).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "This cannot be undone." in text
    assert "All 2 of the campaign's petitions are closed (2 still open now)" in text
    assert "5 signatures stop pointing to a person" in text
    assert "Of the 5 people who signed, 4 signed nothing else here" in text
    assert "3 consents to this campaign" in text
    assert "1 email not sent yet is cancelled" in text
    assert "The counts: 4 confirmed online, 40 on paper" in text
    assert linked_signatures(campaign) == 5  # showing the page changes nothing


def test_the_admin_action_takes_one_campaign_at_a_time(client, campaign):
    other = campaign_create()
    client.force_login(staff_user_create())

    response = client.post(
        "/admin/campaigns/campaign/",
        {"action": "lockdown", "_selected_action": [campaign.pk, other.pk]},
        follow=True,
    )

    assert "Choose exactly one campaign" in response.content.decode()
    assert Campaign.objects.filter(locked_down_at__isnull=False).count() == 0


def test_a_wrong_title_shows_an_error_by_the_field_and_changes_nothing(client, campaign):
    client.force_login(staff_user_create())
    before = snapshot(campaign)

    response = client.post(lockdown_url(campaign), {"confirm_name": "Kherson"})

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_confirm_name_error"' in page
    assert "does not match the campaign" in page
    assert 'aria-describedby="id_confirm_name_helptext id_confirm_name_error"' in page
    assert 'value="Kherson"' in page
    assert snapshot(campaign) == before


def test_an_empty_title_is_refused_as_a_missing_field(client, campaign):
    client.force_login(staff_user_create())
    before = snapshot(campaign)

    response = client.post(lockdown_url(campaign), {"confirm_name": "   "})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert snapshot(campaign) == before


def test_typing_the_title_locks_the_campaign_down(client, campaign):
    client.force_login(staff_user_create())

    response = client.post(lockdown_url(campaign), {"confirm_name": TITLE}, follow=True)

    assert response.status_code == 200
    assert "Campaign locked down: 5 signatures no longer point to a person." in (
        response.content.decode()
    )
    assert_locked_down(campaign)


def test_staff_without_the_right_to_change_campaigns_cannot_lock_down(client, campaign):
    client.force_login(staff_user_create(superuser=False, permissions=("campaigns.view_campaign",)))
    before = snapshot(campaign)

    assert client.get(lockdown_url(campaign)).status_code == 403
    assert client.post(lockdown_url(campaign), {"confirm_name": TITLE}).status_code == 403
    assert snapshot(campaign) == before


def test_anonymous_visitors_are_sent_to_the_login_page(client, campaign):
    response = client.post(lockdown_url(campaign), {"confirm_name": TITLE})

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert linked_signatures(campaign) == 5


def test_an_unknown_campaign_is_a_404(client):
    client.force_login(staff_user_create())

    assert client.get("/admin/campaigns/campaign/999999/lockdown/").status_code == 404


def test_a_locked_down_campaigns_petitions_cannot_be_reopened_in_the_admin(client, campaign):
    services.campaign_lockdown(campaign=campaign, confirm_name=TITLE)
    petition = Petition.objects.get(slug="first")
    client.force_login(staff_user_create())

    response = client.post(
        f"/admin/petitions/petition/{petition.pk}/change/",
        {
            "campaign": campaign.pk,
            "slug": petition.slug,
            "title": petition.title,
            "ask": petition.ask,
            "target_name": petition.target_name,
            "goal_kind": petition.goal_kind,
            "language": petition.language,
            "status": Petition.Status.OPEN,
        },
    )

    assert response.status_code == 200
    assert "locked down" in response.content.decode()
    petition.refresh_from_db()
    assert petition.status == Petition.Status.CLOSED
    assert Signature.objects.filter(petition=petition, supporter__isnull=False).count() == 0
