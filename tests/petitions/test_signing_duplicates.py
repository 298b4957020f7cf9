"""Signing twice, and the form's defaults for display and consent."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from petitions.consent import UPDATES_WORDING_VERSION
from petitions.models import Consent, Signature, Supporter
from tests.factories import petition_create, signature_create
from tests.html import elements
from tests.petitions.signing_helpers import code_of, confirm_link_path, page, sign

pytestmark = pytest.mark.django_db


def without_csrf_tokens(html: str) -> str:
    # Django masks the CSRF token differently on every response.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


# --- Duplicates ---------------------------------------------------------------------------


def test_a_new_and_a_repeated_signature_get_exactly_the_same_answer(
    client, petition, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = sign(client, petition)
        second = sign(client, petition)
    signature_create(petition=petition, email="boris@example.org", confirmed=True)
    with django_capture_on_commit_callbacks(execute=True):
        third = sign(client, petition, email="boris@example.org")

    assert first.status_code == second.status_code == third.status_code == 302
    assert first["Location"] == second["Location"] == third["Location"]
    bodies = {without_csrf_tokens(page(client.get(r["Location"]))) for r in (first, second, third)}
    assert len(bodies) == 1


def test_signing_again_while_pending_sends_the_confirmation_email_again(
    client, petition, signed, django_capture_on_commit_callbacks
):
    Signature.objects.update(confirmation_requested_at=timezone.now() - timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        sign(client, petition)

    assert Signature.objects.count() == 1
    assert len(mail.outbox) == 2
    again = mail.outbox[1]
    assert again.subject == "Confirm your signature: Free the prisoners of conscience"
    assert again.to == ["anna@example.org"]
    assert code_of(signed) in again.body
    signed.refresh_from_db()
    assert timezone.now() - signed.confirmation_requested_at < timedelta(minutes=1)
    # The new link works.
    response = client.post(confirm_link_path(again))
    assert response.status_code == 302
    signed.refresh_from_db()
    assert signed.status == Signature.Status.CONFIRMED


def test_signing_again_once_confirmed_sends_the_already_signed_email(
    client, petition, signed, django_capture_on_commit_callbacks
):
    client.post(confirm_link_path(mail.outbox[0]))
    with django_capture_on_commit_callbacks(execute=True):
        sign(client, petition)

    assert len(mail.outbox) == 2
    notice = mail.outbox[1]
    assert notice.subject == "You have already signed: Free the prisoners of conscience"
    assert notice.to == ["anna@example.org"]
    assert "You have already signed it, and your signature is counted once." in notice.body
    assert "/confirm/" not in notice.body
    assert notice.extra_headers["Auto-Submitted"] == "auto-generated"
    assert Signature.objects.get().status == Signature.Status.CONFIRMED


def test_a_second_attempt_decides_nothing_until_it_is_confirmed(
    client, petition, django_capture_on_commit_callbacks
):
    sign(client, petition, name="Anna Karenina", display="hidden", country="RU", utm_source="vk")
    response = sign(
        client,
        petition,
        name="Someone Else",
        email="ANNA@example.org",
        display="full",
        country="FR",
        consent_updates="on",
        utm_source="telegram",
    )

    assert response.status_code == 302
    signature = Signature.objects.select_related("supporter").get()
    assert signature.supporter.name == ""
    assert signature.supporter.email == "anna@example.org"
    assert signature.display == Signature.Display.HIDDEN
    assert signature.source == "vk"
    assert not Consent.objects.exists()
    # Anna confirms her own attempt (the first email): her choices count, the other goes.
    assert client.post(confirm_link_path(mail.outbox[0])).status_code == 302
    signature.refresh_from_db()
    signature.supporter.refresh_from_db()
    assert signature.supporter.name == "Anna Karenina"
    assert signature.supporter.country.code == "RU"
    assert signature.display == Signature.Display.HIDDEN
    assert signature.source == "vk"
    assert not Consent.objects.exists()
    assert client.post(confirm_link_path(mail.outbox[1])).status_code == 400


def test_the_attempt_confirmed_decides_the_name_display_and_consent(client, petition):
    sign(client, petition, name="Someone Else", display="full", country="FR")
    sign(client, petition, name="Anna Karenina", display="short", consent_updates="on")

    # As a browser sends the review form: its prefilled values, consent ticked again.
    review = {"name": "Anna Karenina", "display": "short", "consent_updates": "on"}
    assert client.post(confirm_link_path(mail.outbox[1]), review).status_code == 302
    signature = Signature.objects.select_related("supporter").get()
    assert signature.status == Signature.Status.CONFIRMED
    assert signature.supporter.name == "Anna Karenina"
    assert signature.supporter.country.code == ""
    assert signature.display == Signature.Display.SHORT
    assert Consent.objects.get().confirmed_at == signature.confirmed_at
    # The first attempt can no longer confirm anything, nor change the name.
    assert client.post(confirm_link_path(mail.outbox[0])).status_code == 400
    signature.supporter.refresh_from_db()
    assert signature.supporter.name == "Anna Karenina"


@pytest.mark.parametrize(
    "again",
    ["Anna.Karenina@gmail.com", "annakarenina@googlemail.com", "ANNA.KARENINA+x@GMAIL.COM"],
)
def test_one_signature_per_normalised_email(client, petition, again):
    sign(client, petition, email="annakarenina@gmail.com")
    sign(client, petition, email=again)
    assert Signature.objects.count() == 1
    assert Supporter.objects.count() == 1
    assert Supporter.objects.get().email == "annakarenina@gmail.com"


def test_one_supporter_signs_several_petitions(client, petition):
    other = petition_create(campaign=petition.campaign)
    sign(client, petition)
    sign(client, other, email="Anna@Example.org")
    assert Supporter.objects.count() == 1
    assert Signature.objects.count() == 2


# --- The form's defaults and consent ------------------------------------------------------


def test_the_updates_checkbox_is_unticked_and_not_shown_is_the_default_display(client, petition):
    html = page(client.get(f"/c/{petition.campaign.slug}/"))
    (checkbox,) = elements(html, "input", name="consent_updates")
    assert checkbox["type"] == "checkbox"
    assert "checked" not in checkbox
    radios = {attrs["value"]: attrs for attrs in elements(html, "input", name="display")}
    assert set(radios) == {"hidden", "short", "full"}
    assert "checked" in radios["hidden"]
    assert "checked" not in radios["short"]
    assert "checked" not in radios["full"]
    assert "Don&#x27;t show my name" in html


def test_no_consent_is_stored_when_the_box_is_not_ticked(client, petition):
    sign(client, petition)
    assert Signature.objects.count() == 1
    assert not Consent.objects.exists()


def test_consent_is_stored_with_its_wording_once_the_signature_is_confirmed(client, petition):
    sign(client, petition, consent_updates="on")
    # Nothing yet: until the address is confirmed, anyone may have ticked the box.
    assert not Consent.objects.exists()

    # Pressing Confirm without ticking it again on the review page gives no consent.
    client.post(confirm_link_path(mail.outbox[0]), {"name": "Anna", "display": "hidden"})
    assert not Consent.objects.exists()
    sign(client, petition, email="boris@example.org", consent_updates="on")
    client.post(
        confirm_link_path(mail.outbox[-1]),
        {"name": "Boris", "display": "hidden", "consent_updates": "on"},
    )
    consent = Consent.objects.get()
    signature = Signature.objects.get(supporter=consent.supporter)
    assert consent.signature == signature
    assert consent.supporter == signature.supporter
    assert consent.campaign == petition.campaign
    assert consent.purpose == Consent.Purpose.CAMPAIGN_UPDATES
    assert consent.method == Consent.Method.SIGN_FORM
    assert consent.wording_version == UPDATES_WORDING_VERSION
    assert timezone.now() - consent.given_at < timedelta(minutes=1)
    assert consent.confirmed_at is not None
    assert consent.confirmed_at == signature.confirmed_at
