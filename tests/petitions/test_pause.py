"""The site-wide switch that pauses all signing, with a message."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail

from mailer.models import OutboxMessage
from petitions.models import Petition, Signature, Supporter
from tests.factories import petition_create, signature_create
from tests.html import elements
from trust.models import SiteSettings
from trust.selectors import site_settings_get
from trust.site import site_settings_update

pytestmark = pytest.mark.django_db

STANDARD_MESSAGE = "Signing is paused for a while. Please come back later."


@pytest.fixture
def petition() -> Petition:
    return petition_create(title="Free the prisoners of conscience")


def campaign_page(client, petition: Petition) -> str:
    return client.get(f"/c/{petition.campaign.slug}/").content.decode()


def sign_forms(html: str, petition: Petition) -> list:
    return elements(html, "form", action=f"/p/{petition.slug}/sign/#petition-{petition.slug}")


def stored_rows() -> tuple[int, int, int]:
    return Signature.objects.count(), Supporter.objects.count(), OutboxMessage.objects.count()


# --- The setting --------------------------------------------------------------------------


def test_until_staff_save_them_the_settings_read_as_signing_open_and_nothing_is_written():
    site = site_settings_get()

    assert site.pk == 1
    assert not site.signing_paused
    assert not SiteSettings.objects.exists()


def test_saving_makes_the_one_settings_row():
    site_settings_update(signing_paused=True, pause_message="")
    site_settings_update(signing_paused=False, pause_message="Soon.")

    [row] = SiteSettings.objects.all()
    assert (row.pk, row.signing_paused, row.pause_message) == (1, False, "Soon.")


def test_reading_the_settings_again_costs_no_query(django_assert_num_queries):
    site_settings_get()

    with django_assert_num_queries(0):
        assert not site_settings_get().signing_paused


def test_saving_the_settings_takes_effect_on_the_next_read_despite_the_cache():
    site_settings_get()

    site_settings_update(signing_paused=True, pause_message="  Back at noon.  ")

    site = site_settings_get()
    assert site.signing_paused
    assert site.pause_message == "Back at noon."


# --- The campaign page --------------------------------------------------------------------


def test_while_paused_the_page_shows_the_standard_message_instead_of_the_form(client, petition):
    assert sign_forms(campaign_page(client, petition), petition)

    site_settings_update(signing_paused=True, pause_message="")

    html = campaign_page(client, petition)
    assert not sign_forms(html, petition)
    assert STANDARD_MESSAGE in html
    # Confirming is not signing: the way to type a code stays.
    assert f'href="/p/{petition.slug}/confirm/"' in html


def test_staff_can_write_their_own_pause_message_and_it_is_escaped(client, petition):
    site_settings_update(signing_paused=True, pause_message="Back <b>soon</b> & sound.")

    html = campaign_page(client, petition)
    assert "Back &lt;b&gt;soon&lt;/b&gt; &amp; sound." in html
    assert STANDARD_MESSAGE not in html


def test_resuming_brings_the_form_back(client, petition):
    site_settings_update(signing_paused=True, pause_message="")
    site_settings_update(signing_paused=False, pause_message="")

    assert sign_forms(campaign_page(client, petition), petition)


# --- Signing while paused -----------------------------------------------------------------


def test_a_signature_sent_while_paused_gets_503_with_the_message_and_nothing_is_stored(
    client, petition, django_capture_on_commit_callbacks
):
    site_settings_update(signing_paused=True, pause_message="We are moving servers.")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/p/{petition.slug}/sign/",
            {"name": "Anna Karenina", "email": "anna@example.org", "display": "hidden"},
        )

    assert response.status_code == 503
    html = response.content.decode()
    assert html.count("We are moving servers.") == 1  # as an alert, not twice
    assert 'role="alert"' in html
    assert stored_rows() == (0, 0, 0)
    assert mail.outbox == []


def test_the_sign_api_answers_503_while_paused_and_stores_nothing(client, petition):
    site_settings_update(signing_paused=True, pause_message="")

    response = client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/",
        {"name": "Anna Karenina", "email": "anna@example.org"},
        content_type="application/json",
    )

    assert response.status_code == 503
    assert response.json() == {"detail": STANDARD_MESSAGE}
    assert stored_rows() == (0, 0, 0)


def test_a_confirmation_link_still_confirms_while_signing_is_paused(
    client, petition, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signature = signature_create(petition=petition)
    [message] = mail.outbox
    link = re.search(r"https?://\S+/confirm/[^/\s]+/", message.body)
    assert link
    site_settings_update(signing_paused=True, pause_message="")

    response = client.post(urlsplit(link.group(0)).path)

    assert response.status_code == 302
    signature.refresh_from_db()
    assert signature.status == Signature.Status.CONFIRMED


# --- The admin ----------------------------------------------------------------------------


def test_the_admin_edits_the_one_settings_row_and_pauses_signing(admin_client, client, petition):
    site_settings_update(signing_paused=False, pause_message="")
    site_settings_get()  # cached as "open"
    url = "/admin/trust/sitesettings/1/change/"

    response = admin_client.post(url, {"signing_paused": "on", "pause_message": "Maintenance."})

    assert response.status_code == 302
    assert "Maintenance." in campaign_page(client, petition)


def test_the_admin_offers_no_second_settings_row_and_no_delete(admin_client):
    site_settings_update(signing_paused=False, pause_message="")

    assert admin_client.get("/admin/trust/sitesettings/add/").status_code == 403
    assert admin_client.get("/admin/trust/sitesettings/1/delete/").status_code == 403
    # The list has one row only: it leads straight to it.
    response = admin_client.get("/admin/trust/sitesettings/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/trust/sitesettings/1/change/"


def test_the_admin_list_opens_the_settings_even_before_they_were_ever_saved(admin_client):
    response = admin_client.get("/admin/trust/sitesettings/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [("/admin/trust/sitesettings/1/change/", 302)]
    assert "pause all signing" in response.content.decode().lower()
