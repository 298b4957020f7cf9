"""Retention: a petition closed longer than its campaign's period loses its signers' data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from mailer.models import OutboxMessage
from petitions import services, tasks
from petitions.models import (
    Consent,
    FlaggedAttemptTally,
    Petition,
    SignAttempt,
    Signature,
    Supporter,
)
from tests.factories import (
    campaign_create,
    flagged_attempt_create,
    latest_attempt,
    petition_create,
    signature_create,
)

pytestmark = pytest.mark.django_db

IP = "203.0.113.7"


def closed_petition(*, days_ago: int, retention_days: int = 30, **fields) -> Petition:
    campaign = fields.pop("campaign", None) or campaign_create(retention_days=retention_days)
    petition = petition_create(campaign=campaign, **fields)
    return petition_close(petition, days_ago=days_ago)


def petition_close(petition: Petition, *, days_ago: int) -> Petition:
    Petition.objects.filter(pk=petition.pk).update(
        status=Petition.Status.CLOSED, closed_at=timezone.now() - timedelta(days=days_ago)
    )
    petition.refresh_from_db()
    return petition


def raw(sql: str, *params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def signed(petition: Petition, **fields) -> Signature:
    return signature_create(petition=petition, client_ip=IP, **fields)


# --- Which petitions --------------------------------------------------------------------


def test_only_petitions_past_their_retention_period_are_anonymised():
    due = petition_create(campaign=campaign_create(retention_days=30))
    not_yet = petition_create(campaign=campaign_create(retention_days=30))
    open_one = petition_create(campaign=campaign_create(retention_days=30))
    long_period = petition_create(campaign=campaign_create(retention_days=365))
    for petition in (due, not_yet, open_one, long_period):
        signed(petition, confirmed=True)
    petition_close(due, days_ago=31)
    petition_close(not_yet, days_ago=29)
    petition_close(long_period, days_ago=100)
    Signature.objects.update(created_at=timezone.now() - timedelta(days=400))

    assert services.petitions_retention_apply() == 1

    anonymised = set(
        Petition.objects.filter(anonymised_at__isnull=False).values_list("pk", flat=True)
    )
    assert anonymised == {due.pk}
    assert Signature.objects.filter(supporter__isnull=True).count() == 1
    assert Signature.objects.get(supporter__isnull=True).petition_id == due.pk


def test_a_deadline_long_past_starts_the_period_even_if_nobody_closed_the_petition():
    petition = petition_create(
        campaign=campaign_create(retention_days=10),
        closes_at=timezone.now() + timedelta(days=1),
    )
    signed(petition)
    Petition.objects.filter(pk=petition.pk).update(closes_at=timezone.now() - timedelta(days=11))

    assert services.petitions_retention_apply() == 1
    petition.refresh_from_db()
    assert petition.anonymised_at is not None


def test_the_earlier_of_closing_and_the_deadline_starts_the_period():
    petition = closed_petition(days_ago=2, retention_days=10)
    Petition.objects.filter(pk=petition.pk).update(closes_at=timezone.now() - timedelta(days=12))

    assert services.petitions_retention_apply() == 1


def test_a_petition_closed_without_a_stamp_starts_its_period_now():
    petition = petition_create(campaign=campaign_create(retention_days=1))
    signed(petition)
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.CLOSED, closed_at=None)

    assert services.petitions_retention_apply() == 0
    petition.refresh_from_db()
    assert petition.closed_at is not None
    assert services.petitions_retention_apply(now=timezone.now() + timedelta(days=2)) == 1


def test_an_anonymised_petition_is_not_done_again_and_drafts_are_never_touched():
    petition = closed_petition(days_ago=40)
    draft = petition_create(
        campaign=petition.campaign,
        status=Petition.Status.DRAFT,
        closes_at=timezone.now() - timedelta(days=100),
    )

    assert services.petitions_retention_apply() == 1
    assert services.petitions_retention_apply() == 0
    draft.refresh_from_db()
    assert draft.anonymised_at is None


def test_the_celery_task_applies_retention():
    petition = closed_petition(days_ago=40)

    tasks.petitions_retention_apply.delay()

    petition.refresh_from_db()
    assert petition.anonymised_at is not None


# --- What anonymising removes and keeps ---------------------------------------------------


def test_anonymising_removes_personal_data_but_keeps_counts_and_integrity():
    petition = petition_create(campaign=campaign_create(retention_days=30))
    confirmed = [
        signed(petition, confirmed=True, display=Signature.Display.FULL, consent_updates=True)
        for _ in range(3)
    ]
    signed(petition)  # pending
    flagged_attempt_create(petition=petition, client_ip=IP)
    services.signature_counts_refresh()
    services.petition_integrity_refresh()
    petition_close(petition, days_ago=31)
    supporter_ids = [s.supporter_id for s in confirmed]

    assert services.petitions_retention_apply() == 1

    # Raw SQL, past the ORM: no supporter row and no link to one is left.
    for supporter_id in supporter_ids:
        assert raw("SELECT id FROM petitions_supporter WHERE id = %s", supporter_id) == []
    assert (
        raw(
            "SELECT supporter_id, display, ip_hash, ip_network_hash FROM petitions_signature "
            "WHERE petition_id = %s AND (supporter_id IS NOT NULL OR display <> 'hidden' "
            "OR ip_hash <> '' OR ip_network_hash <> '')",
            petition.pk,
        )
        == []
    )
    assert raw("SELECT COUNT(*) FROM petitions_consent") == [(0,)]
    assert not OutboxMessage.objects.filter(about__petition=str(petition.pk)).exists()
    # Attempts held addresses, names and codes: none is left, confirmed or not.
    assert raw("SELECT COUNT(*) FROM petitions_signattempt") == [(0,)]
    # Statuses, tallies and counts stay.
    assert Signature.objects.filter(petition=petition).count() == 4
    assert FlaggedAttemptTally.objects.get(petition=petition).count == 1
    assert services.signature_counts_repair() == 0
    services.signature_counts_refresh()
    petition.refresh_from_db()
    assert petition.signature_count == 3
    before = petition.integrity
    services.petition_integrity_refresh(petition_ids=[petition.pk])
    petition.refresh_from_db()
    assert (
        petition.integrity
        == before
        == {
            "pending": 1,
            "withdrawn": 0,
            "invalidated": {"automated": 1},
            "domain_limited": 0,
        }
    )


def test_a_signer_of_another_petition_stays_but_loses_the_link_to_this_one():
    petition = petition_create(campaign=campaign_create(retention_days=30))
    elsewhere = petition_create()
    mine = signed(petition, email="both@example.org", confirmed=True)
    theirs = signed(elsewhere, email="both@example.org", confirmed=True)
    petition_close(petition, days_ago=40)

    services.petitions_retention_apply()

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.supporter is None
    assert theirs.supporter is not None
    assert Supporter.objects.filter(pk=theirs.supporter.pk).exists()


def test_consent_to_the_campaign_stays_while_its_other_petition_still_holds_the_signer():
    petition = closed_petition(days_ago=40)
    sibling = petition_create(campaign=petition.campaign)
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.OPEN, closed_at=None)
    petition.refresh_from_db()
    signed(petition, email="loyal@example.org", confirmed=True, consent_updates=True)
    signed(sibling, email="loyal@example.org", confirmed=True)
    gone = signed(petition, email="gone@example.org", confirmed=True, consent_updates=True)
    assert gone.supporter is not None
    gone_supporter = gone.supporter.pk
    petition_close(petition, days_ago=40)

    services.petitions_retention_apply()

    consents = Consent.objects.all()
    assert [c.supporter.email for c in consents] == ["loyal@example.org"]
    assert consents[0].signature is None  # it pointed at the anonymised signature
    assert not Supporter.objects.filter(pk=gone_supporter).exists()


def test_anonymised_signers_leave_the_recent_signatures_at_once(client):
    petition = petition_create(campaign=campaign_create(retention_days=1))
    signed(petition, name="Maria Ivanova", display=Signature.Display.FULL, confirmed=True)
    assert "Maria Ivanova" in client.get(f"/c/{petition.campaign.slug}/").content.decode()
    petition_close(petition, days_ago=2)

    services.petitions_retention_apply()

    assert "Maria Ivanova" not in client.get(f"/c/{petition.campaign.slug}/").content.decode()


def test_a_pending_signature_of_an_anonymised_petition_cannot_be_confirmed_by_code(client):
    petition = petition_create(campaign=campaign_create(retention_days=1))
    pending = signed(petition)
    code = latest_attempt(pending).confirm_code
    petition_close(petition, days_ago=2)

    services.petitions_retention_apply()

    assert not SignAttempt.objects.exists()
    response = client.post(f"/p/{petition.slug}/confirm/", {"code": code})
    assert response.status_code == 400
    pending.refresh_from_db()
    assert pending.status == Signature.Status.PENDING


def test_reopening_an_anonymised_petition_lets_retention_run_again_later():
    petition = closed_petition(days_ago=40)
    services.petitions_retention_apply()
    petition.refresh_from_db()
    petition.status = Petition.Status.OPEN

    services.petition_save(petition=petition)

    petition.refresh_from_db()
    assert (petition.closed_at, petition.anonymised_at) == (None, None)
