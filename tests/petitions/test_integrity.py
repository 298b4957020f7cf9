"""The integrity line under each petition's progress bar, and the task that keeps it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from petitions import services, tasks
from petitions.models import FlaggedAttemptTally, Petition, Signature
from petitions.selectors import petition_integrity
from tests.factories import flagged_attempt_create, petition_create, signature_create

pytestmark = pytest.mark.django_db


def integrity_line(html: str) -> str:
    match = re.search(r'class="integrity__line[^"]*">([^<]*)<', html)
    assert match, "no integrity line on the page"
    return match.group(1).replace("&#x27;", "'")


def campaign_page(client, petition: Petition) -> str:
    response = client.get(f"/c/{petition.campaign.slug}/")
    assert response.status_code == 200
    return response.content.decode()


def invalidate(signature: Signature, reason: str) -> None:
    services.signature_statuses_change(
        signature_ids=[signature.pk],
        status=Signature.Status.INVALIDATED,
        invalid_reason=reason,
        invalidated_at=timezone.now(),
    )


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the prisoners of conscience")


# --- The stored numbers -------------------------------------------------------------------


def test_the_refresh_stores_pending_withdrawn_and_invalidated_numbers_by_reason(petition):
    for _ in range(2):
        signature_create(petition=petition, confirmed=True)
    signature_create(petition=petition)
    withdrawn = signature_create(petition=petition, confirmed=True)
    services.signature_statuses_change(
        signature_ids=[withdrawn.pk], status=Signature.Status.WITHDRAWN
    )
    flagged_attempt_create(petition=petition)
    for _ in range(2):
        invalidate(signature_create(petition=petition), Signature.InvalidReason.STAFF)

    assert services.petition_integrity_refresh() == 1

    petition.refresh_from_db()
    assert petition.integrity == {
        "pending": 1,
        "withdrawn": 1,
        "invalidated": {"automated": 1, "staff": 2},
        "domain_limited": 0,
    }
    assert petition.integrity_refreshed_at is not None


def test_flagged_attempts_count_by_reason_over_every_rule_and_day(petition):
    FlaggedAttemptTally.objects.create(
        petition=petition, reason="rate_limit", detail="ip_burst", day="2026-01-01", count=4
    )
    FlaggedAttemptTally.objects.create(
        petition=petition, reason="rate_limit", detail="domain_rate", day="2026-01-02", count=3
    )
    flagged_attempt_create(petition=petition)
    flagged_attempt_create(petition=petition)

    services.petition_integrity_refresh()

    petition.refresh_from_db()
    # Over the domain's limit is kept apart, for staff only (trust.services.DOMAIN_RATE_DETAIL).
    assert petition.integrity["invalidated"] == {"rate_limit": 4, "automated": 2}
    assert petition.integrity["domain_limited"] == 3
    assert FlaggedAttemptTally.objects.get(reason="automated").count == 2


def test_the_refresh_keeps_each_petition_apart_and_writes_zeros_for_an_empty_one(petition):
    other = petition_create(campaign=petition.campaign)
    signature_create(petition=petition)

    services.petition_integrity_refresh()

    petition.refresh_from_db()
    other.refresh_from_db()
    assert petition.integrity["pending"] == 1
    assert other.integrity == {
        "pending": 0,
        "withdrawn": 0,
        "invalidated": {},
        "domain_limited": 0,
    }


def test_the_periodic_refresh_skips_long_closed_petitions_refreshed_today(petition):
    long_closed = petition_create(
        campaign=petition.campaign,
        status=Petition.Status.CLOSED,
        closed_at=timezone.now() - timedelta(days=30),
    )
    Petition.objects.filter(pk=long_closed.pk).update(
        integrity_refreshed_at=timezone.now() - timedelta(hours=2)
    )
    stale = petition_create(
        campaign=petition.campaign,
        status=Petition.Status.CLOSED,
        closed_at=timezone.now() - timedelta(days=30),
    )
    Petition.objects.filter(pk=stale.pk).update(
        integrity_refreshed_at=timezone.now() - timedelta(days=2)
    )
    draft = petition_create(campaign=petition.campaign, status=Petition.Status.DRAFT)

    assert services.petition_integrity_refresh() == 2  # the open one and the stale one

    refreshed = set(
        Petition.objects.filter(
            integrity_refreshed_at__gte=timezone.now() - timedelta(minutes=1)
        ).values_list("pk", flat=True)
    )
    assert refreshed == {petition.pk, stale.pk}
    assert draft.pk not in refreshed


def test_the_celery_task_refreshes_the_numbers(petition):
    signature_create(petition=petition)

    tasks.petition_integrity_refresh.delay()

    petition.refresh_from_db()
    assert petition.integrity["pending"] == 1


# --- The line on the campaign page --------------------------------------------------------


def test_the_campaign_page_shows_every_part_with_its_number_and_plural(client, petition):
    for _ in range(3):
        signature_create(petition=petition, confirmed=True)
    signature_create(petition=petition)
    flagged_attempt_create(petition=petition)
    flagged_attempt_create(petition=petition)
    invalidate(signature_create(petition=petition), Signature.InvalidReason.DISPOSABLE)
    invalidate(signature_create(petition=petition), Signature.InvalidReason.STAFF)
    Petition.objects.filter(pk=petition.pk).update(paper_count=1350)
    services.signature_counts_refresh()
    services.petition_integrity_refresh()

    line = integrity_line(campaign_page(client, petition))

    assert line == (
        "3 confirmed · 4 invalidated (2 automated, "
        "1 from a disposable address, 1 removed after review) · 1,350 on paper"
    )


def test_the_public_line_never_shows_how_many_await_confirmation(client, petition):
    """It would rise when an address that never signed signs, and not when one that has
    signs again: watching it would tell whether an address has signed. Staff see it."""
    signature_create(petition=petition, confirmed=True)
    for _ in range(5):
        signature_create(petition=petition)
    services.signature_counts_refresh()
    services.petition_integrity_refresh()

    line = integrity_line(campaign_page(client, petition))

    assert line == "1 confirmed"
    assert "awaiting" not in campaign_page(client, petition)
    petition.refresh_from_db()
    assert petition.integrity["pending"] == 5  # kept for the admin


def test_parts_that_are_zero_are_left_out(client, petition):
    for _ in range(2):
        signature_create(petition=petition, confirmed=True)
    for _ in range(2):
        invalidate(signature_create(petition=petition), Signature.InvalidReason.DISPOSABLE)
    services.signature_counts_refresh()
    services.petition_integrity_refresh()

    line = integrity_line(campaign_page(client, petition))

    assert line == "2 confirmed · 2 invalidated (2 from disposable addresses)"
    assert "awaiting" not in line and "paper" not in line


def test_a_petition_without_any_signature_shows_no_integrity_line(client, petition):
    services.petition_integrity_refresh()

    assert 'class="integrity' not in campaign_page(client, petition)


def test_the_line_explains_itself_without_javascript(client, petition):
    signature_create(petition=petition, confirmed=True)
    services.signature_counts_refresh()
    services.petition_integrity_refresh()

    html = campaign_page(client, petition)

    about = re.search(r'<details class="integrity__about">(.*?)</details>', html, re.S)
    assert about, "no explanation next to the line"
    assert "<summary>What these numbers mean</summary>" in about.group(1)
    assert "never added to the online count" in about.group(1)
    assert "<script" not in about.group(1)


def test_the_page_reads_stored_numbers_and_never_counts_rows(client, petition):
    signature_create(petition=petition)
    services.petition_integrity_refresh()
    campaign_page(client, petition)  # warm caches (countries, templates)
    with CaptureQueriesContext(connection) as few:
        campaign_page(client, petition)

    for _ in range(12):
        signature_create(petition=petition)
        invalidate(signature_create(petition=petition), Signature.InvalidReason.STAFF)
        flagged_attempt_create(petition=petition)
    services.petition_integrity_refresh()
    with CaptureQueriesContext(connection) as many:
        html = campaign_page(client, petition)

    assert len(many) == len(few)
    assert not [q for q in many.captured_queries if "COUNT(" in q["sql"].upper()]
    assert integrity_line(html).startswith("0 confirmed · 24 invalidated")


def test_the_page_shows_what_the_task_stored_not_what_happened_since(client, petition):
    invalidate(signature_create(petition=petition), Signature.InvalidReason.STAFF)
    services.petition_integrity_refresh()
    flagged_attempt_create(petition=petition)  # not refreshed yet

    assert "1 invalidated" in integrity_line(campaign_page(client, petition))


def test_the_selector_reads_a_missing_or_odd_integrity_value_as_nothing_to_show(petition):
    petition.signature_count = 0
    petition.integrity = {"invalidated": []}

    assert petition_integrity(petition=petition).parts == []
