"""The manage page's data rights: downloading everything stored, erasing it."""

from __future__ import annotations

import json

import pytest

from mailer.models import OutboxMessage
from petitions.consent import UPDATES_WORDING_VERSION
from petitions.models import Consent, Signature, Supporter
from petitions.services import erasure
from tests.factories import signature_create
from tests.html import elements
from tests.petitions.manage_helpers import ADDRESS, counted, page, withdraw_path

pytestmark = pytest.mark.django_db


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
