"""What the public page shows of a petition organisers edited: the target in full, the goal,
the deadline, "closed" or "won", and the target's response with its date."""

from __future__ import annotations

import datetime
from datetime import timedelta

import pytest
from django.utils import timezone

from petitions.models import Petition
from tests.factories import petition_create
from tests.html import elements

pytestmark = pytest.mark.django_db


def page(client, petition: Petition, **headers) -> str:
    response = client.get(f"/c/{petition.campaign.slug}/", **headers)
    assert response.status_code == 200
    return response.content.decode()


def sign_form(html: str, petition: Petition) -> list:
    return elements(html, "form", action=f"/p/{petition.slug}/sign/#petition-{petition.slug}")


def test_the_target_reads_name_position_organisation(client):
    petition = petition_create(
        target_name="Ivan Petrov",
        target_position="Prosecutor General",
        target_organisation="The Prosecutor's Office",
    )

    assert "Ivan Petrov, Prosecutor General, The Prosecutor&#x27;s Office" in page(client, petition)


def test_a_target_given_by_name_only_has_no_dangling_commas(client):
    petition = petition_create(target_name="The State Duma")

    html = page(client, petition)

    assert '<span lang="en">The State Duma</span>' in html


def test_a_fixed_goal_is_shown_with_the_stored_count(client):
    petition = petition_create(goal_kind="fixed", goal_fixed=300)
    Petition.objects.filter(pk=petition.pk).update(signature_count=120)

    html = page(client, petition)
    api = client.get(f"/api/v1/petitions/{petition.slug}/count/").json()
    embed = client.get(f"/p/{petition.slug}/embed/").content.decode()

    assert "120 of 300 signatures" in html
    assert elements(html, "progress", max="300", value="120")
    assert (api["goal"], api["label"]) == (300, "120 of 300 signatures")
    assert "120 of 300 signatures" in embed


def test_a_fixed_goal_passed_fills_the_bar(client):
    petition = petition_create(goal_kind="fixed", goal_fixed=100)
    Petition.objects.filter(pk=petition.pk).update(signature_count=150)

    html = page(client, petition)

    assert "150 of 100 signatures" in html
    assert elements(html, "progress", max="100", value="150")


def test_without_a_fixed_goal_the_ladder_gives_the_next_step(client):
    petition = petition_create()
    Petition.objects.filter(pk=petition.pk).update(signature_count=500)

    assert "500 of 1,000 signatures" in page(client, petition)


def test_an_open_petitions_deadline_is_shown(client):
    deadline = timezone.now().replace(microsecond=0) + timedelta(days=5)
    petition = petition_create(closes_at=deadline)

    html = page(client, petition)

    assert "Collecting signatures until" in html
    assert elements(html, "time", datetime=deadline.isoformat())


def test_a_closed_petition_says_it_is_closed_and_shows_no_form(client):
    petition = petition_create(status=Petition.Status.CLOSED)

    html = page(client, petition)

    assert "This petition is closed and no longer takes signatures." in html
    assert "has won" not in html
    assert not sign_form(html, petition)


def test_a_won_petition_says_it_won_and_shows_no_form(client):
    petition = petition_create(status=Petition.Status.WON, closes_at=timezone.now() + timedelta(1))

    html = page(client, petition)

    assert "This petition has won." in html
    assert "Collecting signatures until" not in html
    assert not sign_form(html, petition)
    assert client.get(f"/api/v1/petitions/{petition.slug}/count/").json()["is_open"] is False


def test_signing_a_won_petition_is_refused_and_stores_nothing(client):
    petition = petition_create(status=Petition.Status.WON)

    response = client.post(
        f"/p/{petition.slug}/sign/",
        {"name": "Anna", "email": "anna@example.org", "display": "hidden"},
    )

    assert response.status_code == 409
    assert not petition.sign_attempts.exists()


def test_the_targets_response_is_shown_with_its_date_and_escaped(client):
    petition = petition_create(
        status=Petition.Status.CLOSED,
        response_text="We <b>will</b> review\n\nthe cases.",
        response_date=datetime.date(2026, 1, 15),
    )

    html = page(client, petition)

    assert "Response to the petition" in html
    assert "We &lt;b&gt;will&lt;/b&gt; review" in html
    assert "<p>the cases.</p>" in html
    assert elements(html, "time", datetime="2026-01-15")
    assert "Jan. 15, 2026" in html


def test_no_response_no_section(client):
    assert "Response to the petition" not in page(client, petition_create())


def test_the_page_reads_in_russian(client):
    petition = petition_create(
        status=Petition.Status.WON,
        response_text="Ответ",
        response_date=datetime.date(2026, 1, 15),
    )

    html = page(client, petition, HTTP_ACCEPT_LANGUAGE="ru")

    assert "Петиция победила." in html
    assert "Ответ на петицию" in html
    assert "15 января 2026" in html
