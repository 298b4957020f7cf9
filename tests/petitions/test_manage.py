"""'Manage my signature': asking for a link, and what the linked page shows and changes."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail, signing
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format

from mailer.models import OutboxMessage
from petitions import tokens
from petitions.consent import UPDATES_WORDING_VERSION
from petitions.models import Consent, ManageLinkRequest, Petition, SignAttempt, Signature, Supporter
from petitions.services import erasure, manage_links, signature_counts_refresh
from tests.factories import campaign_create, latest_attempt, petition_create, signature_create
from tests.html import elements

pytestmark = pytest.mark.django_db

ADDRESS = "Anna.Karenina@example.org"
SAME_ANSWER = "If this address has signed, we have sent it a link"


# --- Helpers ------------------------------------------------------------------------------


def page(response) -> str:
    return response.content.decode()


def without_csrf_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def manage_path(supporter: Supporter) -> str:
    return f"/manage/{manage_links.manage_token_make(supporter=supporter)}/"


def manage_link_path(message) -> str:
    match = re.search(r"https?://\S+/manage/[^/\s]+/", message.body)
    assert match, "the email has no manage link"
    return urlsplit(match.group(0)).path


def counted(signature: Signature) -> Signature:
    signature_counts_refresh()
    signature.refresh_from_db()
    assert signature.counted
    return signature


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the prisoners of conscience")


@pytest.fixture
def anna(petition) -> Signature:
    """Anna signed, confirmed and agreed to updates; her signature is in the count."""
    signature = signature_create(
        petition=petition,
        email=ADDRESS,
        name="Anna Karenina",
        country="LT",
        consent_updates=True,
        confirmed=True,
    )
    return counted(signature)


@pytest.fixture
def anna_path(anna) -> str:
    assert anna.supporter is not None
    return manage_path(anna.supporter)


# --- Asking for a link --------------------------------------------------------------------


def test_the_request_page_asks_for_an_email_address(client):
    response = client.get("/manage/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [field] = elements(page(response), "input", name="email")
    assert field["type"] == "email"
    assert elements(page(response), "label", **{"for": field["id"] or ""})


def test_a_known_and_an_unknown_address_get_exactly_the_same_answer(
    client, anna, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post("/manage/", {"email": ADDRESS})
        unknown = client.post("/manage/", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert SAME_ANSWER in page(known)
    assert without_csrf_tokens(page(known)) == without_csrf_tokens(page(unknown))
    assert [message.to for message in mail.outbox] == [[ADDRESS]]


def test_the_link_goes_to_the_stored_address_for_any_spelling_of_it(
    client, anna, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/manage/", {"email": "  ANNA.KARENINA@EXAMPLE.ORG "})
    [message] = mail.outbox
    assert message.to == [ADDRESS]
    row = OutboxMessage.objects.get(kind="signature_manage_link")
    assert row.recipient_ref == f"petitions.supporter:{anna.supporter_id}"


def test_the_link_in_the_email_opens_the_manage_page(
    client, anna, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/manage/", {"email": ADDRESS})
    response = client.get(manage_link_path(mail.outbox[0]))
    assert response.status_code == 200
    assert "Anna Karenina" in page(response)


def test_a_malformed_address_is_refused_with_a_message_tied_to_the_field(client):
    response = client.post("/manage/", {"email": "not an address"})
    assert response.status_code == 422
    assert "Enter an email address like name@example.org." in page(response)
    [field] = elements(page(response), "input", name="email")
    assert field["value"] == "not an address"
    assert field["aria-invalid"] == "true"
    assert "id_email_error" in (field["aria-describedby"] or "")
    assert elements(page(response), "p", id="id_email_error")


@pytest.mark.parametrize("email", ["", "a@b\x00.org", "x" * 300 + "@example.org", "@"])
def test_odd_input_on_the_request_form_never_fails(client, email):
    response = client.post("/manage/", {"email": email})
    assert response.status_code == 422
    assert OutboxMessage.objects.count() == 0


def test_only_one_link_per_interval_is_sent(
    client, anna, settings, django_capture_on_commit_callbacks
):
    settings.MANAGE_LINK_INTERVAL_SECONDS = 120
    settings.RATE_MANAGE_ADDRESS_PER_HOUR = settings.RATE_MANAGE_IP_PER_HOUR = 10
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(4):
            response = client.post("/manage/", {"email": ADDRESS})
            assert SAME_ANSWER in page(response)
    assert len(mail.outbox) == 1
    OutboxMessage.objects.filter(kind="signature_manage_link").update(
        created_at=OutboxMessage.objects.get(kind="signature_manage_link").created_at
        - timedelta(seconds=121)
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/manage/", {"email": ADDRESS})
    assert len(mail.outbox) == 2


def test_past_the_limit_per_address_the_page_is_the_usual_one_and_no_link_is_sent(
    client, anna, settings, django_capture_on_commit_callbacks
):
    # The limit is shared by whoever types the address: a 429 would tell a stranger that
    # its owner asked this hour. The owner already got a link from the first request.
    settings.MANAGE_LINK_INTERVAL_SECONDS = 0
    settings.RATE_MANAGE_ADDRESS_PER_HOUR = 2
    settings.RATE_MANAGE_IP_PER_HOUR = 10
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answers = [client.post("/manage/", {"email": ADDRESS}) for _ in range(4)]
    assert [response.status_code for response in answers] == [200] * 4
    assert len({without_csrf_tokens(page(response)) for response in answers}) == 1
    assert SAME_ANSWER in page(answers[-1])
    assert len(mail.outbox) == 2


def test_past_the_limit_per_client_the_page_says_so(client, settings):
    settings.RATE_MANAGE_IP_PER_HOUR = 1
    client.post("/manage/", {"email": "someone@example.org"})
    response = client.post("/manage/", {"email": "someone.else@example.org"})
    assert response.status_code == 429
    assert "Too many links have been asked for from your network" in page(response)
    assert SAME_ANSWER not in page(response)


def test_an_unknown_address_stores_nothing(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/manage/", {"email": "nobody@example.org"})
    assert Supporter.objects.count() == 0
    assert OutboxMessage.objects.count() == 0
    assert ManageLinkRequest.objects.count() == 0


# --- The manage page ----------------------------------------------------------------------


def test_the_manage_page_says_what_is_kept_and_until_when(client, petition, anna, anna_path):
    html = page(client.get(anna_path))
    assert elements(html, "h2", id="kept-heading")
    assert "while any signature of yours stands" in html
    assert "A signature you withdraw is detached from you at once" in html
    assert "the rest is deleted 7 days later" in html
    days = petition.campaign.retention_days
    assert f"while the petition is open, then {days} days after it closes" in html
    Petition.objects.filter(pk=petition.pk).update(
        status=Petition.Status.CLOSED, closed_at=timezone.now()
    )
    ends = timezone.localtime(timezone.now() + timedelta(days=days))
    assert date_format(ends, "DATE_FORMAT") in page(client.get(anna_path))


def test_after_the_last_withdrawal_the_page_gives_the_date_everything_goes(client, anna, anna_path):
    response = client.post(withdraw_path(anna_path, anna))
    html = page(client.get(response["Location"]))
    ends = timezone.localtime(timezone.now() + erasure.SUPPORTER_UNLINKED_KEEP)
    assert f"will be deleted on {date_format(ends, 'DATE_FORMAT')}" in html


def test_the_manage_page_shows_everything_stored(client, anna, anna_path, settings):
    settings.FRAUD_WINDOW_DAYS = 30
    html = page(client.get(anna_path))
    assert ADDRESS in html
    assert "Anna Karenina" in html
    assert "Lithuania" in html
    assert "Free the prisoners of conscience" in html
    assert "Confirmed" in html
    assert "Don&#x27;t show my name" in html or "Don't show my name" in html
    assert UPDATES_WORDING_VERSION in html
    assert "kept for 30 days" in html


def test_a_dropped_address_is_shown_as_not_kept(client, anna, anna_path):
    Supporter.objects.filter(pk=anna.supporter_id).update(email="")
    html = page(client.get(anna_path))
    assert "Not kept: only a keyed hash" in html
    assert ADDRESS not in html


def test_token_pages_are_never_cached_indexed_or_referred(client, anna_path):
    response = client.get(anna_path)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"].startswith("noindex")
    assert response["Referrer-Policy"] == "same-origin"


def test_names_and_titles_on_the_manage_page_are_escaped(client):
    payload = "<script>alert(1)</script>"
    petition = petition_create(title=f"Title {payload}")
    signature = signature_create(petition=petition, name=f"Eve {payload}", email="eve@example.org")
    assert signature.supporter is not None
    html = page(client.get(manage_path(signature.supporter)))
    assert payload not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_forged_link_is_refused(client, anna_path):
    token = anna_path.split("/")[2]
    response = client.get(f"/manage/{token[:-2]}xx/")
    assert response.status_code == 400
    assert "This link is not valid" in page(response)
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"].startswith("noindex")


def test_a_confirmation_link_token_does_not_open_the_manage_page(client, anna):
    token = tokens.confirm_token_make(str(anna.supporter.public_id))
    assert client.get(f"/manage/{token}/").status_code == 400


def test_an_expired_link_offers_a_new_one(client, anna, monkeypatch):
    then = time.time() - tokens.MANAGE_TOKEN_MAX_AGE_SECONDS - 1
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: then)
        token = manage_links.manage_token_make(supporter=anna.supporter)
    response = client.get(f"/manage/{token}/")
    assert response.status_code == 400
    assert "This link has expired" in page(response)
    assert elements(page(response), "form", action="/manage/")
    assert "Anna" not in page(response)


def test_a_link_just_inside_its_lifetime_still_works(client, anna, monkeypatch):
    then = time.time() - tokens.MANAGE_TOKEN_MAX_AGE_SECONDS + 60
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: then)
        token = manage_links.manage_token_make(supporter=anna.supporter)
    assert client.get(f"/manage/{token}/").status_code == 200


@pytest.mark.parametrize("path", ["/manage/%00/", "/manage/..%2F/", "/manage/" + "a" * 5000 + "/"])
def test_garbage_tokens_are_refused_without_an_error(client, path):
    assert client.get(path).status_code in (400, 404)


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


# --- Withdrawing --------------------------------------------------------------------------


def withdraw_path(anna_path: str, signature: Signature) -> str:
    return f"{anna_path}signatures/{signature.public_id}/withdraw/"


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


# --- Download -----------------------------------------------------------------------------


def test_download_gives_everything_stored_as_a_json_attachment(client, anna, anna_path):
    response = client.post(f"{anna_path}export/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["supporter"]["email"] == ADDRESS
    assert data["supporter"]["name"] == "Anna Karenina"
    assert data["supporter"]["country"] == "LT"
    [signature] = data["signatures"]
    assert signature["id"] == str(anna.public_id)
    assert signature["petition"] == "Free the prisoners of conscience"
    assert signature["status"] == "confirmed"
    [consent] = data["consents"]
    assert consent["wording_version"] == UPDATES_WORDING_VERSION
    assert consent["confirmed_at"]
    assert {email["kind"] for email in data["emails"]} == {"signature_confirm"}
    assert signature["kept_until"] is None
    assert signature["kept_after_petition_closes_days"] == anna.petition.campaign.retention_days
    assert any("detached from you at once" in note for note in data["what_is_kept"])


def test_download_after_withdrawing_says_what_remains_and_until_when(client, anna, anna_path):
    client.post(withdraw_path(anna_path, anna))
    data = json.loads(client.post(f"{anna_path}export/").content)
    assert data["signatures"] == []
    assert data["consents"] == []
    assert data["supporter"]["unlinked_at"]
    assert any("will be deleted on" in note for note in data["what_is_kept"])


def test_download_holds_only_the_persons_own_data(client, petition, anna_path):
    signature_create(petition=petition, email="boris@example.org", name="Boris Godunov")
    data = page(client.post(f"{anna_path}export/"))
    assert "boris" not in data.lower()


def test_download_needs_a_post(client, anna_path):
    assert client.get(f"{anna_path}export/").status_code == 405


# --- Erasing ------------------------------------------------------------------------------


def test_erasing_needs_the_box_ticked(client, anna, anna_path):
    response = client.post(f"{anna_path}erase/")
    assert response.status_code == 422
    html = page(response)
    assert "Tick the box to confirm" in html
    [box] = elements(html, "input", name="confirm")
    assert "id_confirm_error" in (box["aria-describedby"] or "")
    assert Supporter.objects.filter(pk=anna.supporter_id).exists()


def test_erasing_withdraws_detaches_and_deletes_everything_personal(
    client, petition, anna, anna_path
):
    supporter_id = anna.supporter_id
    Signature.objects.filter(pk=anna.pk).update(
        display=Signature.Display.FULL, ip_hash="a" * 64, ip_network_hash="b" * 64
    )
    response = client.post(f"{anna_path}erase/", {"confirm": "on"})
    assert response.status_code == 302
    assert response["Location"] == "/manage/erased/"
    assert client.get(response["Location"]).status_code == 200
    anna.refresh_from_db()
    petition.refresh_from_db()
    assert anna.status == Signature.Status.WITHDRAWN
    assert anna.supporter is None
    assert anna.display == Signature.Display.HIDDEN
    assert anna.ip_hash == anna.ip_network_hash == ""
    assert petition.signature_count == 0
    assert not Supporter.objects.filter(pk=supporter_id).exists()
    assert not Consent.objects.filter(supporter_id=supporter_id).exists()
    assert not OutboxMessage.objects.filter(
        recipient_ref=f"petitions.supporter:{supporter_id}"
    ).exists()


def test_after_erasure_the_link_is_dead(client, anna_path):
    client.post(f"{anna_path}erase/", {"confirm": "on"})
    response = client.get(anna_path)
    assert response.status_code == 400
    assert "This link is not valid" in page(response)
    assert client.post(f"{anna_path}export/").status_code == 400


def test_erasing_twice_erases_once_and_then_finds_nobody(client, anna, anna_path):
    supporter = anna.supporter
    assert client.post(f"{anna_path}erase/", {"confirm": "on"}).status_code == 302
    second = client.post(f"{anna_path}erase/", {"confirm": "on"})
    assert second.status_code == 400
    assert "This link is not valid" in page(second)
    assert erasure.supporter_erase(supporter=supporter) == 0


def test_erasing_leaves_other_signers_alone(client, petition, anna_path):
    boris = counted(signature_create(petition=petition, email="boris@example.org", confirmed=True))
    client.post(f"{anna_path}erase/", {"confirm": "on"})
    boris.refresh_from_db()
    petition.refresh_from_db()
    assert boris.supporter is not None
    assert petition.signature_count == 1


# --- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action", ["erase/", "export/", "signatures/{sig}/withdraw/", "signatures/{sig}/display/"]
)
def test_every_change_needs_the_csrf_token(anna, anna_path, action):
    client = Client(enforce_csrf_checks=True)
    path = anna_path + action.format(sig=anna.public_id)
    data = {"confirm": "on", f"{anna.public_id}-display": "full"}
    assert client.post(path, data).status_code == 403
    anna.refresh_from_db()
    assert anna.status == Signature.Status.CONFIRMED
    assert anna.display == Signature.Display.HIDDEN


def test_every_form_on_the_manage_page_posts_with_a_csrf_token(client, anna_path):
    html = page(client.get(anna_path))
    forms = html.split("<form")[1:]
    assert len(forms) >= 5
    for form in forms:
        body = form.split("</form>")[0]
        assert 'method="post"' in body
        assert "csrfmiddlewaretoken" in body


# --- Links to the page --------------------------------------------------------------------


def test_the_footer_links_to_the_manage_page(client, petition):
    html = page(client.get(f"/c/{petition.campaign.slug}/"))
    assert elements(html, "a", href="/manage/")


@pytest.mark.parametrize("page_name", ["thanks", "confirmed"])
def test_the_thanks_and_confirmed_pages_link_to_the_manage_page(client, petition, page_name):
    html = page(client.get(f"/p/{petition.slug}/{page_name}/"))
    assert "Manage or withdraw your signature" in html


def test_what_is_kept_is_said_in_russian_with_russian_plurals(anna_path):
    html = page(Client(HTTP_ACCEPT_LANGUAGE="ru").get(anna_path))
    assert "Что мы храним и до какого времени" in html
    assert "удаляется через 7 дней" in html
