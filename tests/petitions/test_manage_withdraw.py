"""The manage page's changes: the display choice, withdrawing a signature, withdrawing consent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mailer.models import OutboxMessage
from petitions import tokens
from petitions.models import Consent, SignAttempt, Signature, Supporter
from petitions.services import erasure, signature_counts_refresh
from tests.factories import campaign_create, latest_attempt, petition_create, signature_create
from tests.html import elements
from tests.petitions.manage_helpers import ADDRESS, counted, manage_path, page, withdraw_path

pytestmark = pytest.mark.django_db


# --- Display choice -----------------------------------------------------------------------


def display_path(anna_path: str, signature: Signature) -> str:
    return f"{anna_path}signatures/{signature.public_id}/display/"


def test_changing_the_display_choice_shows_the_name_on_the_petition_at_once(
    client, petition, anna, anna_path
):
    campaign_page = f"/c/{petition.campaign.slug}/"
    assert "Anna Karenina" not in page(client.get(campaign_page))
    field = f"{anna.public_id}-display"
    response = client.post(display_path(anna_path, anna), {field: "full"})
    assert response.status_code == 302
    assert "Saved" in page(client.get(response["Location"]))
    anna.refresh_from_db()
    assert anna.display == Signature.Display.FULL
    assert "Anna Karenina" in page(client.get(campaign_page))
    client.post(display_path(anna_path, anna), {field: "hidden"})
    assert "Anna Karenina" not in page(client.get(campaign_page))


def test_an_unknown_display_choice_is_refused_and_changes_nothing(client, anna, anna_path):
    response = client.post(display_path(anna_path, anna), {f"{anna.public_id}-display": "huge"})
    assert response.status_code == 422
    assert "Choose how your name may be shown." in page(response)
    anna.refresh_from_db()
    assert anna.display == Signature.Display.HIDDEN


def test_nobody_can_change_another_persons_display_choice(client, petition, anna_path):
    boris = signature_create(petition=petition, email="boris@example.org", confirmed=True)
    response = client.post(display_path(anna_path, boris), {f"{boris.public_id}-display": "full"})
    assert response.status_code == 404
    boris.refresh_from_db()
    assert boris.display == Signature.Display.HIDDEN


def test_changing_the_display_needs_a_post(client, anna, anna_path):
    assert client.get(display_path(anna_path, anna)).status_code == 405


def test_the_withdraw_link_asks_first_and_changes_nothing(client, anna, anna_path):
    response = client.get(withdraw_path(anna_path, anna))
    assert response.status_code == 200
    assert "Withdraw your signature?" in page(response)
    assert response["Referrer-Policy"] == "same-origin"
    anna.refresh_from_db()
    assert anna.status == Signature.Status.CONFIRMED


def test_withdrawing_takes_the_signature_out_of_the_count_at_once(
    client, petition, anna, anna_path
):
    petition.refresh_from_db()
    assert petition.signature_count == 1
    response = client.post(withdraw_path(anna_path, anna))
    assert response.status_code == 302
    assert "no longer counts" in page(client.get(response["Location"]))
    anna.refresh_from_db()
    petition.refresh_from_db()
    assert anna.status == Signature.Status.WITHDRAWN
    assert petition.signature_count == 0


def test_withdrawing_the_last_signature_in_a_campaign_deletes_the_consent_to_its_updates(
    client, anna, anna_path
):
    supporter = anna.supporter
    client.post(withdraw_path(anna_path, anna))
    # A record of the consent would tie the person to the campaign they left.
    assert not Consent.objects.filter(supporter=supporter).exists()


def test_withdrawing_detaches_the_signature_from_the_person_at_once(
    client, petition, anna, anna_path
):
    supporter = anna.supporter
    Signature.objects.filter(pk=anna.pk).update(
        display=Signature.Display.FULL, ip_hash="a" * 64, ip_network_hash="b" * 64
    )
    response = client.post(withdraw_path(anna_path, anna))
    assert response.status_code == 302
    anna.refresh_from_db()
    petition.refresh_from_db()
    assert anna.status == Signature.Status.WITHDRAWN
    assert anna.supporter is None
    assert anna.display == Signature.Display.HIDDEN
    assert anna.ip_hash == anna.ip_network_hash == ""
    # Its attempts held the address and name as typed, and a code that could confirm it.
    assert not SignAttempt.objects.filter(signature=anna).exists()
    assert petition.signature_count == 0
    # Nothing else points from the person to the row: no consent, no email about it.
    assert not Consent.objects.filter(signature=anna).exists()
    assert not OutboxMessage.objects.filter(about__signature=str(anna.pk)).exists()
    # The person is still there, with the page, until the keep period ends.
    supporter.refresh_from_db()
    assert supporter.unlinked_at is not None
    html = page(client.get(response["Location"]))
    assert "No signatures are linked to you any more." in html
    assert "Anna Karenina" in html


def test_a_consent_given_with_a_withdrawn_signature_stops_pointing_to_it(
    client, petition, anna, anna_path
):
    sister = petition_create(campaign=petition.campaign)
    signature_create(petition=sister, email=ADDRESS, confirmed=True)
    client.post(withdraw_path(anna_path, anna))
    consent = Consent.objects.get(supporter=anna.supporter)
    assert consent.signature_id is None
    assert consent.withdrawn_at is None


def test_the_page_after_withdrawing_names_the_petition_and_says_what_remains(
    client, anna, anna_path
):
    response = client.post(withdraw_path(anna_path, anna))
    html = page(client.get(response["Location"]))
    assert elements(html, "div", role="status")
    assert "Your signature on “Free the prisoners of conscience” is withdrawn" in html
    assert "withdrawn and no longer linked to you" in html
    assert "keeps only an anonymous row" in html
    assert "Nothing in that row points to you." in html


def test_a_made_up_petition_after_withdrawing_gives_the_plain_message(client, anna_path):
    html = page(client.get(f"{anna_path}?done=withdrawn&petition=not-a-uuid"))
    assert "Your signature is withdrawn and no longer linked to you." in html


def test_withdrawing_again_finds_nothing_to_withdraw(client, anna, anna_path):
    client.post(withdraw_path(anna_path, anna))
    assert client.post(withdraw_path(anna_path, anna)).status_code == 404
    assert client.get(withdraw_path(anna_path, anna)).status_code == 404


def test_a_withdrawn_pending_signature_cannot_be_confirmed_by_link_or_code(client, petition):
    signature = signature_create(petition=petition, email="new@example.org")
    assert signature.supporter is not None
    attempt = latest_attempt(signature)
    code = attempt.confirm_code
    token = tokens.confirm_token_make(str(attempt.public_id))
    client.post(withdraw_path(manage_path(signature.supporter), signature))
    client.get(f"/confirm/{token}/")
    client.post(f"/confirm/{token}/")
    client.post(f"/p/{petition.slug}/confirm/", {"code": code})
    signature.refresh_from_db()
    assert signature.status == Signature.Status.WITHDRAWN
    assert signature.supporter is None
    assert signature_counts_refresh() == 0


def test_a_person_with_no_signature_left_is_deleted_after_the_keep_period(client, anna, anna_path):
    supporter = anna.supporter
    client.post(withdraw_path(anna_path, anna))
    assert erasure.supporters_unlinked_delete() == 0
    Supporter.objects.filter(pk=supporter.pk).update(
        unlinked_at=timezone.now() - erasure.SUPPORTER_UNLINKED_KEEP - timedelta(minutes=1)
    )
    assert erasure.supporters_unlinked_delete() == 1
    assert not Supporter.objects.filter(pk=supporter.pk).exists()
    assert client.get(anna_path).status_code == 400
    anna.refresh_from_db()
    assert anna.status == Signature.Status.WITHDRAWN


def test_someone_who_signed_again_is_not_deleted(client, anna, anna_path):
    supporter = anna.supporter
    client.post(withdraw_path(anna_path, anna))
    signature_create(petition=petition_create(), email=ADDRESS)
    Supporter.objects.filter(pk=supporter.pk).update(
        unlinked_at=timezone.now() - erasure.SUPPORTER_UNLINKED_KEEP - timedelta(minutes=1)
    )
    assert erasure.supporters_unlinked_delete() == 0
    assert Supporter.objects.filter(pk=supporter.pk).exists()


def test_updates_continue_while_another_signature_in_the_campaign_stands(
    client, petition, anna, anna_path
):
    sister = petition_create(campaign=petition.campaign)
    signature_create(petition=sister, email=ADDRESS, confirmed=True)
    client.post(withdraw_path(anna_path, anna))
    assert Consent.objects.get(supporter=anna.supporter).withdrawn_at is None


def test_nobody_can_withdraw_another_persons_signature(client, petition, anna_path):
    boris = counted(signature_create(petition=petition, email="boris@example.org", confirmed=True))
    assert client.get(withdraw_path(anna_path, boris)).status_code == 404
    assert client.post(withdraw_path(anna_path, boris)).status_code == 404
    boris.refresh_from_db()
    petition.refresh_from_db()
    assert boris.status == Signature.Status.CONFIRMED
    assert petition.signature_count == 2


def test_an_invalidated_signature_stays_invalidated(client, anna, anna_path):
    Signature.objects.filter(pk=anna.pk).update(status=Signature.Status.INVALIDATED)
    assert client.post(withdraw_path(anna_path, anna)).status_code == 302
    anna.refresh_from_db()
    assert anna.status == Signature.Status.INVALIDATED


def test_a_pending_signature_can_be_withdrawn(client, petition):
    signature = signature_create(petition=petition, email="new@example.org")
    assert signature.supporter is not None
    client.post(withdraw_path(manage_path(signature.supporter), signature))
    signature.refresh_from_db()
    assert signature.status == Signature.Status.WITHDRAWN


# --- Consent ------------------------------------------------------------------------------


def test_withdrawing_consent_stops_the_updates(client, petition, anna, anna_path):
    path = f"{anna_path}consents/{petition.campaign.public_id}/withdraw/"
    response = client.post(path)
    assert response.status_code == 302
    consent = Consent.objects.get(supporter=anna.supporter)
    assert consent.withdrawn_at is not None
    assert "no more updates" in page(client.get(response["Location"]))
    anna.refresh_from_db()
    assert anna.status == Signature.Status.CONFIRMED  # the signature still counts


def test_withdrawing_consent_for_a_campaign_without_one_is_not_found(client, anna_path):
    other = campaign_create()
    assert client.post(f"{anna_path}consents/{other.public_id}/withdraw/").status_code == 404


def test_nobody_can_withdraw_another_persons_consent(client, petition, anna_path):
    boris = signature_create(
        petition=petition, email="boris@example.org", consent_updates=True, confirmed=True
    )
    other_path = manage_path(Supporter.objects.create(email_digest="0" * 64, name="Zed"))
    client.post(f"{other_path}consents/{petition.campaign.public_id}/withdraw/")
    assert Consent.objects.get(supporter=boris.supporter).withdrawn_at is None


def resume_path(anna_path: str, campaign) -> str:
    return f"{anna_path}consents/{campaign.public_id}/resume/"


def test_the_person_can_hear_about_a_campaign_again_from_their_manage_page(
    client, petition, anna, anna_path
):
    client.post(f"{anna_path}consents/{petition.campaign.public_id}/withdraw/")
    assert elements(
        page(client.get(anna_path)), "form", action=resume_path(anna_path, petition.campaign)
    )

    response = client.post(resume_path(anna_path, petition.campaign))

    assert response.status_code == 302
    assert "you will hear about this campaign again" in page(client.get(response["Location"]))
    assert Consent.objects.get(supporter=anna.supporter).withdrawn_at is None


def test_a_consent_whose_signature_no_longer_stands_is_not_offered_nor_resumed(
    client, petition, anna, anna_path
):
    client.post(f"{anna_path}consents/{petition.campaign.public_id}/withdraw/")
    Signature.objects.filter(pk=anna.pk).update(status=Signature.Status.INVALIDATED)

    shown = page(client.get(anna_path))
    response = client.post(resume_path(anna_path, petition.campaign))

    assert resume_path(anna_path, petition.campaign) not in shown
    assert "cannot be turned back on" in page(client.get(response["Location"]))
    assert Consent.objects.get(supporter=anna.supporter).withdrawn_at is not None


def test_resuming_a_campaign_without_a_consent_is_not_found(client, anna_path):
    assert client.post(resume_path(anna_path, campaign_create())).status_code == 404
    assert client.get(resume_path(anna_path, campaign_create())).status_code == 405
