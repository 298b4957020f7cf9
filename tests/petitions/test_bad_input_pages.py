"""Pages that do not exist or take no signatures, CSRF, and any input at all: never an error."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.models import Campaign
from petitions import services, tokens
from petitions.models import FlaggedAttemptTally, Petition, SignAttempt, Signature, Supporter
from tests.factories import (
    campaign_create,
    latest_attempt,
    petition_create,
    post_and_run_tasks,
    signature_create,
)
from tests.html import elements
from tests.petitions.bad_input_helpers import VALID, page, snapshot, stored_rows
from trust import identity

pytestmark = pytest.mark.django_db

CLOSED = "This petition is closed and no longer takes signatures."
NOT_FOUND = "Page not found"


# --- Pages that do not exist or do not take signatures ------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/c/no-such-campaign/"),
        ("post", "/p/no-such-petition/sign/"),
        ("get", "/p/no-such-petition/thanks/"),
        ("get", "/p/no-such-petition/confirmed/"),
        ("get", "/p/no-such-petition/confirm/"),
        ("post", "/p/no-such-petition/confirm/"),
        ("get", "/no/such/page/"),
    ],
)
def test_unknown_addresses_show_the_not_found_page(client, method, path):
    response = getattr(client, method)(path, VALID if method == "post" else None)
    assert response.status_code == 404
    assert NOT_FOUND in page(response)
    assert not Signature.objects.exists()


def test_an_unknown_petition_count_answers_404_in_json(client):
    response = client.get("/api/v1/petitions/no-such-petition/count/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_the_sign_address_refuses_other_methods(client, petition, method):
    response = getattr(client, method)(f"/p/{petition.slug}/sign/")
    assert response.status_code == 405
    assert "POST" in response["Allow"]
    assert not Signature.objects.exists()


def test_opening_the_sign_address_leads_back_to_the_form(client, petition):
    response = client.get(f"/p/{petition.slug}/sign/")
    assert response.status_code == 302
    assert response["Location"] == f"/c/{petition.campaign.slug}/#petition-{petition.slug}"
    assert not Signature.objects.exists()


@pytest.mark.parametrize(
    "source", ["\x00telegram", "tele\x00gram<script>", "x" * 10_000, "\u202etelegram"]
)
def test_odd_hidden_source_values_are_cleaned_not_refused(client, petition, source):
    response = post_and_run_tasks(
        client,
        f"/p/{petition.slug}/sign/",
        {**VALID, "email": "anna@example.org", "utm_source": source},
    )
    assert response.status_code == 302
    stored = Signature.objects.get().source
    assert stored in {"telegram", "telegramscript", "x" * 64}


@pytest.mark.parametrize("name", ["\u200d", "\u200f\u200e", " \u200d "])
def test_a_name_of_only_invisible_characters_is_refused(client, petition, name):
    response = post_and_run_tasks(client, f"/p/{petition.slug}/sign/", {**VALID, "name": name})
    assert response.status_code == 422
    assert "Please enter your name." in response.content.decode()
    assert not Signature.objects.exists()


CLOSED_PETITIONS = [
    pytest.param({"status": Petition.Status.CLOSED}, id="status-closed"),
    pytest.param({"closes_at": timezone.now() - timedelta(minutes=1)}, id="deadline-passed"),
]


@pytest.mark.parametrize("closed", CLOSED_PETITIONS)
def test_a_closed_petition_says_so_and_shows_no_form(client, petition, closed):
    Petition.objects.filter(pk=petition.pk).update(**closed)
    html = page(client.get(f"/c/{petition.campaign.slug}/"))
    assert CLOSED in html
    assert "Free the prisoners of conscience" in html
    assert not elements(html, "form", action=f"/p/{petition.slug}/sign/#petition-{petition.slug}")
    assert not elements(html, "input", name="email")


@pytest.mark.parametrize("closed", CLOSED_PETITIONS)
def test_signing_a_closed_petition_answers_409_and_stores_nothing(
    client, petition, existing, closed, django_capture_on_commit_callbacks
):
    Petition.objects.filter(pk=petition.pk).update(**closed)
    before_rows = stored_rows()
    before = snapshot(existing)
    with django_capture_on_commit_callbacks(execute=True):
        new = post_and_run_tasks(
            client, f"/p/{petition.slug}/sign/", {**VALID, "email": "new@example.org"}
        )
        again = post_and_run_tasks(client, f"/p/{petition.slug}/sign/", VALID)

    for response in (new, again):
        assert response.status_code == 409
        assert CLOSED in page(response)
        assert 'role="alert"' in page(response)
    assert stored_rows() == before_rows
    assert snapshot(existing) == before
    assert mail.outbox == []


def test_the_service_refuses_a_closed_petition_too(petition):
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.CLOSED)
    petition.refresh_from_db()
    with pytest.raises(services.PetitionClosedError):
        services.signature_create(petition=petition, email="anna@example.org", name="Anna")
    assert not Signature.objects.exists()


def test_a_draft_petition_is_not_found(client, petition):
    draft = petition_create(campaign=petition.campaign, status=Petition.Status.DRAFT)
    campaign_page = page(client.get(f"/c/{petition.campaign.slug}/"))
    assert draft.title not in campaign_page
    assert petition.title in campaign_page
    response = post_and_run_tasks(client, f"/p/{draft.slug}/sign/", VALID)
    assert response.status_code == 404
    assert NOT_FOUND in page(response)
    assert client.get(f"/p/{draft.slug}/thanks/").status_code == 404
    assert client.get(f"/api/v1/petitions/{draft.slug}/count/").status_code == 404
    assert not Signature.objects.filter(petition=draft).exists()


def test_a_petition_of_a_draft_campaign_is_not_found(client):
    campaign = campaign_create(status=Campaign.Status.DRAFT)
    petition = petition_create(campaign=campaign)
    assert client.get(f"/c/{campaign.slug}/").status_code == 404
    response = post_and_run_tasks(client, f"/p/{petition.slug}/sign/", VALID)
    assert response.status_code == 404
    assert NOT_FOUND in page(response)
    assert client.get(f"/api/v1/petitions/{petition.slug}/count/").status_code == 404
    assert not Signature.objects.exists()


# --- CSRF ---------------------------------------------------------------------------------


def test_a_sign_without_a_csrf_token_is_refused_and_stores_nothing(petition):
    client = Client(enforce_csrf_checks=True)
    response = post_and_run_tasks(client, f"/p/{petition.slug}/sign/", VALID)
    assert response.status_code == 403
    assert "Please try again" in page(response)
    assert stored_rows() == {"signatures": 0, "supporters": 0, "outbox": 0, "consents": 0}


def test_a_sign_with_the_page_csrf_token_is_accepted(petition):
    client = Client(enforce_csrf_checks=True)
    html = page(client.get(f"/c/{petition.campaign.slug}/"))
    token = elements(html, "input", name="csrfmiddlewaretoken")[0]["value"]
    response = post_and_run_tasks(
        client, f"/p/{petition.slug}/sign/", {**VALID, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert Signature.objects.count() == 1


def test_a_confirmation_without_a_csrf_token_is_refused(petition):
    signature = signature_create(petition=petition)
    token = tokens.confirm_token_make(str(latest_attempt(signature).public_id))
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/confirm/{token}/")
    assert response.status_code == 403
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING


# --- Anything at all ----------------------------------------------------------------------


@settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.text(), email=st.one_of(st.text(), st.emails()), display=st.text(max_size=10))
def test_any_text_in_the_form_gets_an_answer_never_a_server_error(
    client, petition, name, email, display
):
    response = post_and_run_tasks(
        client, f"/p/{petition.slug}/sign/", {"name": name, "email": email, "display": display}
    )
    assert response.status_code in {302, 422}
    if response.status_code == 422:
        assert "Please correct the following:" in page(response)


@settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.text(min_size=1), email=st.emails())
def test_any_name_with_a_valid_email_is_stored_or_refused_never_a_server_error(
    client, petition, name, email
):
    response = post_and_run_tasks(
        client, f"/p/{petition.slug}/sign/", {"name": name, "email": email, "display": "full"}
    )
    assert response.status_code in {302, 422}
    if response.status_code == 302:
        supporter = Supporter.objects.filter(email_digest=identity.email_digest(email)).first()
        if supporter is None:
            # Many examples from one client run into the rate limits: tallied, not stored.
            assert FlaggedAttemptTally.objects.filter(petition=petition).exists()
            return
        attempt = SignAttempt.objects.filter(signature__supporter=supporter).order_by("-pk")[0]
        assert attempt.name  # nothing invisible-only gets through as a blank name
