"""The honeypot: a field people never meet and scripts fill in."""

from __future__ import annotations

import pytest
from django.core import mail

from mailer.models import OutboxMessage
from petitions import services
from petitions.models import FlaggedAttemptTally, Petition, SignAttempt, Signature, Supporter
from tests.factories import petition_create
from tests.html import elements

pytestmark = pytest.mark.django_db


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the prisoners of conscience")


def sign(client, petition: Petition, **fields: str):
    data = {"name": "Anna Karenina", "email": "anna@example.org", "display": "hidden"}
    data.update(fields)
    return client.post(f"/p/{petition.slug}/sign/", data)


def test_the_honeypot_is_out_of_sight_of_people_and_of_screen_readers(client, petition):
    html = client.get(f"/c/{petition.campaign.slug}/").content.decode()

    [field] = elements(html, "input", name="website")
    assert field["type"] == "text"  # type=hidden is what scripts know to skip
    assert field["tabindex"] == "-1"
    assert field["autocomplete"] == "off"
    assert "style" not in field
    [wrapper] = elements(html, "div", **{"class": "form-extra"})
    assert wrapper["aria-hidden"] == "true"
    assert f'<label for="{field["id"]}">Leave this field empty</label>' in html


def test_a_filled_honeypot_gets_the_same_answer_but_no_email_and_no_count(
    client, petition, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = sign(client, petition, website="https://spam.example/")

    assert response.status_code == 302
    assert response["Location"] == f"/p/{petition.slug}/thanks/"
    assert mail.outbox == []
    assert not OutboxMessage.objects.exists()
    assert not Signature.objects.filter(
        petition=petition, status__in=[Signature.Status.PENDING, Signature.Status.CONFIRMED]
    ).exists()
    services.signature_counts_refresh()
    petition.refresh_from_db()
    assert petition.signature_count == 0


def test_a_filled_honeypot_is_tallied_for_staff_as_automated_and_stores_no_person(
    client, petition, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign(client, petition, website="anything")

    tally = FlaggedAttemptTally.objects.get(petition=petition)
    assert (tally.reason, tally.detail, tally.count) == ("automated", "honeypot", 1)
    assert not Signature.objects.exists()
    assert not Supporter.objects.exists()
    assert not SignAttempt.objects.exists()


def test_spaces_in_the_honeypot_are_not_text_and_the_signature_is_pending(
    client, petition, django_capture_on_commit_callbacks
):
    # Some browsers' autofill writes whitespace into stray fields; that is still a person.
    with django_capture_on_commit_callbacks(execute=True):
        response = sign(client, petition, website="   ")

    assert response.status_code == 302
    assert Signature.objects.get(petition=petition).status == Signature.Status.PENDING
    assert len(mail.outbox) == 1


def test_the_honeypot_never_makes_the_form_invalid(client, petition):
    # A script must learn nothing from the answer: no error for odd values either.
    response = sign(client, petition, website="x" * 5000 + "\x00")

    assert response.status_code == 302
