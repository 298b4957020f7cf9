"""The stored signature count, the goal ladder, the count API and recent signers."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from petitions import services, tasks
from petitions.models import Petition, Signature
from petitions.selectors import petition_goal
from tests.factories import petition_create, signature_create

pytestmark = pytest.mark.django_db


def page(response) -> str:
    return response.content.decode()


def count_label(html: str) -> str:
    match = re.search(r"data-count-label[^>]*>([^<]*)<", html)
    assert match, "no count on the page"
    return match.group(1)


def shown_names(html: str) -> list[str]:
    return re.findall(r'class="recent__name">([^<]*)<', html)


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the prisoners of conscience")


# --- Refreshing and repairing the stored count --------------------------------------------


def test_the_refresh_adds_confirmed_signatures_once_and_ignores_pending_ones(petition):
    for _ in range(3):
        signature_create(petition=petition, confirmed=True)
    signature_create(petition=petition)  # pending

    assert services.signature_counts_refresh() == 3
    petition.refresh_from_db()
    assert petition.signature_count == 3
    assert petition.count_refreshed_at is not None

    assert services.signature_counts_refresh() == 0
    petition.refresh_from_db()
    assert petition.signature_count == 3


def test_the_refresh_adds_only_what_was_confirmed_since_its_last_run(petition):
    signature_create(petition=petition, confirmed=True)
    services.signature_counts_refresh()
    signature_create(petition=petition, confirmed=True)
    signature_create(petition=petition, confirmed=True)

    assert services.signature_counts_refresh() == 2
    petition.refresh_from_db()
    assert petition.signature_count == 3


def test_the_refresh_keeps_each_petition_count_apart(petition):
    other = petition_create(campaign=petition.campaign)
    signature_create(petition=petition, confirmed=True)
    for _ in range(2):
        signature_create(petition=other, confirmed=True)

    services.signature_counts_refresh()
    petition.refresh_from_db()
    other.refresh_from_db()
    assert (petition.signature_count, other.signature_count) == (1, 2)


def test_the_refresh_works_in_batches(petition):
    for _ in range(5):
        signature_create(petition=petition, confirmed=True)
    assert services.signature_counts_refresh(batch_size=2, max_batches=1) == 2
    assert services.signature_counts_refresh(batch_size=2, max_batches=1) == 2
    assert services.signature_counts_refresh(batch_size=2, max_batches=1) == 1
    assert services.signature_counts_refresh(batch_size=2, max_batches=1) == 0
    petition.refresh_from_db()
    assert petition.signature_count == 5


def test_one_refresh_clears_a_backlog_bigger_than_a_batch(petition):
    for _ in range(5):
        signature_create(petition=petition, confirmed=True)
    assert services.signature_counts_refresh(batch_size=2) == 5
    petition.refresh_from_db()
    assert petition.signature_count == 5


def test_one_refresh_stops_after_its_last_batch_and_the_next_takes_the_rest(petition):
    for _ in range(5):
        signature_create(petition=petition, confirmed=True)
    assert services.signature_counts_refresh(batch_size=2, max_batches=2) == 4
    assert services.signature_counts_refresh(batch_size=2, max_batches=2) == 1
    petition.refresh_from_db()
    assert petition.signature_count == 5


def test_the_periodic_task_refreshes_the_count(petition):
    signature_create(petition=petition, confirmed=True)
    assert tasks.signature_counts_refresh.delay().get() == 1
    petition.refresh_from_db()
    assert petition.signature_count == 1


def test_the_repair_fixes_a_count_that_drifted(petition):
    for _ in range(2):
        signature_create(petition=petition, confirmed=True)
    services.signature_counts_refresh()
    Petition.objects.filter(pk=petition.pk).update(signature_count=999)

    assert services.signature_counts_repair() == 1
    petition.refresh_from_db()
    assert petition.signature_count == 2
    assert services.signature_counts_repair() == 0


def test_the_repair_leaves_correct_counts_alone(petition):
    signature_create(petition=petition, confirmed=True)
    services.signature_counts_refresh()
    assert services.signature_counts_repair() == 0
    assert tasks.signature_counts_repair.delay().get() == 0
    petition.refresh_from_db()
    assert petition.signature_count == 1


def test_the_repair_does_not_count_signatures_the_refresh_has_not_added_yet(petition):
    signature_create(petition=petition, confirmed=True)
    services.signature_counts_refresh()
    signature_create(petition=petition, confirmed=True)  # not yet counted

    assert services.signature_counts_repair() == 0
    services.signature_counts_refresh()
    petition.refresh_from_db()
    assert petition.signature_count == 2


def test_the_repair_removes_signatures_that_were_withdrawn_after_counting(petition):
    signature = signature_create(petition=petition, confirmed=True)
    signature_create(petition=petition, confirmed=True)
    services.signature_counts_refresh()
    Signature.objects.filter(pk=signature.pk).update(status=Signature.Status.WITHDRAWN)

    assert services.signature_counts_repair() == 1
    petition.refresh_from_db()
    assert petition.signature_count == 1


# --- The goal ladder ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "goal"),
    [
        (0, 100),
        (1, 100),
        (99, 100),
        (100, 500),
        (499, 500),
        (500, 1000),
        (1000, 5000),
        (5000, 10_000),
        (10_000, 50_000),
        (50_000, 100_000),
        (100_000, 500_000),
        (123_456, 500_000),
        (10**6, 5 * 10**6),
    ],
)
def test_the_goal_is_the_next_step_on_the_ladder(count, goal):
    assert petition_goal(count=count) == goal


# --- The count on the campaign page -------------------------------------------------------


def test_the_campaign_page_shows_the_stored_count_not_the_rows(client, petition):
    Petition.objects.filter(pk=petition.pk).update(signature_count=123_456)
    html = page(client.get(f"/c/{petition.campaign.slug}/"))
    assert count_label(html) == "123,456 of 500,000 signatures"
    assert '<progress max="500000" value="123456"' in html


@pytest.mark.parametrize(
    ("count", "label"),
    [
        (0, "0 of 100 signatures"),
        (1, "1 of 100 signatures"),
        (2, "2 of 100 signatures"),
        (1000, "1,000 of 5,000 signatures"),
    ],
)
def test_the_count_reads_as_a_sentence(client, petition, count, label):
    Petition.objects.filter(pk=petition.pk).update(signature_count=count)
    assert count_label(page(client.get(f"/c/{petition.campaign.slug}/"))) == label


def test_a_new_confirmed_signature_shows_up_once_the_count_is_refreshed(client, petition):
    signature_create(petition=petition, confirmed=True)
    url = f"/c/{petition.campaign.slug}/"
    assert count_label(page(client.get(url))) == "0 of 100 signatures"
    services.signature_counts_refresh()
    assert count_label(page(client.get(url))) == "1 of 100 signatures"


def _campaign_page_queries(client, petition) -> list[str]:
    cache.clear()  # recent signers are cached
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/c/{petition.campaign.slug}/")
    assert response.status_code == 200
    return [query["sql"] for query in queries.captured_queries]


def test_the_campaign_page_costs_the_same_queries_however_many_have_signed(client, petition):
    empty = _campaign_page_queries(client, petition)
    for number in range(30):
        signature_create(
            petition=petition,
            confirmed=True,
            display="full" if number % 2 else "short",
            country="DE",
        )
    services.signature_counts_refresh()
    full = _campaign_page_queries(client, petition)

    assert len(full) == len(empty)
    for sql in empty + full:
        assert "COUNT(" not in sql.upper()


def test_recent_signers_are_served_from_the_cache_between_refreshes(client, petition):
    _campaign_page_queries(client, petition)
    with CaptureQueriesContext(connection) as cached:
        client.get(f"/c/{petition.campaign.slug}/")
    assert not any('petitions_signature"' in q["sql"] for q in cached.captured_queries)


# --- The count API ------------------------------------------------------------------------


def test_the_count_api_answers_with_a_cacheable_count(client, petition):
    Petition.objects.filter(pk=petition.pk).update(
        signature_count=1234, count_refreshed_at=timezone.now()
    )
    response = client.get(f"/api/v1/petitions/{petition.slug}/count/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert cache_control == {"public", "max-age=5"}
    data = response.json()
    assert data["petition"] == petition.slug
    assert data["count"] == 1234
    assert data["goal"] == 5000
    assert data["label"] == "1,234 of 5,000 signatures"
    assert data["is_open"] is True
    assert data["updated_at"]


def test_the_count_api_says_when_a_petition_is_closed(client, petition):
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.CLOSED)
    data = client.get(f"/api/v1/petitions/{petition.slug}/count/").json()
    assert data["is_open"] is False
    assert data["count"] == 0
    assert data["updated_at"] is None


def test_the_count_api_answers_404_in_json_for_an_unknown_petition(client):
    response = client.get("/api/v1/petitions/no-such-petition/count/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "No such petition"}


def test_the_count_api_never_counts_rows(client, petition):
    for _ in range(3):
        signature_create(petition=petition, confirmed=True)
    with CaptureQueriesContext(connection) as queries:
        data = client.get(f"/api/v1/petitions/{petition.slug}/count/").json()
    assert data["count"] == 0  # not refreshed yet: the stored number is what is shown
    assert len(queries.captured_queries) == 1
    assert "COUNT(" not in queries.captured_queries[0]["sql"].upper()


# --- Recent signers -----------------------------------------------------------------------


def test_recent_signers_show_only_confirmed_public_signatures_as_chosen(client, petition):
    signature_create(
        petition=petition, name="Anna Karenina", display="short", email="anna@example.org",
        country="RU", confirmed=True,
    )  # fmt: skip
    signature_create(
        petition=petition, name="Boris Pasternak", display="full", email="boris@example.org",
        confirmed=True,
    )  # fmt: skip
    signature_create(petition=petition, name="Cher", display="short", confirmed=True)
    signature_create(
        petition=petition, name="Hidden Person", display="hidden", email="hidden@example.org",
        confirmed=True,
    )  # fmt: skip
    signature_create(
        petition=petition, name="Pending Person", display="full", email="pending@example.org"
    )
    withdrawn = signature_create(
        petition=petition, name="Withdrawn Person", display="full", confirmed=True
    )
    Signature.objects.filter(pk=withdrawn.pk).update(status=Signature.Status.WITHDRAWN)

    html = page(client.get(f"/c/{petition.campaign.slug}/"))

    assert sorted(shown_names(html)) == ["Anna K.", "Boris Pasternak", "Cher"]
    assert "Anna K.</span>, Russia" in html
    assert "Karenina" not in html
    for hidden in ("Hidden Person", "Pending Person", "Withdrawn Person"):
        assert hidden not in html
    assert "@example.org" not in html
    assert "Recent signatures" in html


def test_recent_signers_are_newest_first_and_at_most_eight(client, petition):
    for number in range(10):
        signature_create(petition=petition, name=f"Signer {number:02d}", display="full",
                         confirmed=True)  # fmt: skip
    names = shown_names(page(client.get(f"/c/{petition.campaign.slug}/")))
    assert names == [f"Signer {number:02d}" for number in range(9, 1, -1)]


def test_no_recent_signers_section_when_nobody_is_public(client, petition):
    signature_create(petition=petition, display="hidden", confirmed=True)
    html = page(client.get(f"/c/{petition.campaign.slug}/"))
    assert "Recent signatures" not in html
    assert shown_names(html) == []
