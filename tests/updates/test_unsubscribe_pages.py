"""The links in an update: one click (RFC 8058), the visible link's button, preferences."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client

from petitions.models import Consent
from tests.factories import campaign_create, petition_create
from tests.updates.conftest import signer
from updates.tokens import SUBSCRIPTION_SALT, subscription_token_make

pytestmark = pytest.mark.django_db


def token_for(person, campaign) -> str:
    return subscription_token_make(
        supporter_public_id=person.public_id, campaign_public_id=campaign.public_id
    )


def subscribed(person, campaign) -> bool:
    return Consent.objects.filter(
        supporter=person, campaign=campaign, withdrawn_at__isnull=True
    ).exists()


@pytest.fixture
def mail_client() -> Client:
    """A mail provider posting the List-Unsubscribe URL: no cookies, and CSRF enforced."""
    return Client(enforce_csrf_checks=True)


def test_a_one_click_post_without_cookies_or_csrf_unsubscribes_at_once(
    campaign, petition, mail_client
):
    person = signer(petition)

    response = mail_client.post(
        f"/u/{token_for(person, campaign)}/one-click/",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == "You are unsubscribed."
    assert not response.cookies
    assert "no-store" in response["Cache-Control"]
    assert not subscribed(person, campaign)


def test_a_one_click_post_twice_is_fine_and_never_redirects(campaign, petition, mail_client):
    person = signer(petition)
    url = f"/u/{token_for(person, campaign)}/one-click/"

    answers = [mail_client.post(url, data={"List-Unsubscribe": "One-Click"}) for _ in range(2)]
    answers.append(
        mail_client.post(url, data=b"\xff\xfe garbage", content_type="multipart/form-data")
    )

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert Consent.objects.get(supporter=person).withdrawn_at is not None


@pytest.mark.parametrize(
    "token", ["forged", "a" * 300, "eyJ4Ijp9:1tXyz:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
)
def test_a_forged_one_click_link_is_refused_without_a_redirect(
    campaign, petition, mail_client, token
):
    person = signer(petition)

    response = mail_client.post(f"/u/{token}/one-click/")

    assert response.status_code == 404
    assert response.content.decode() == "This link is not valid."
    assert subscribed(person, campaign)


def test_a_token_signed_for_another_purpose_is_not_an_unsubscribe_link(
    campaign, petition, mail_client
):
    person = signer(petition)
    token = signing.dumps(
        f"{person.public_id.hex}.{campaign.public_id.hex}", salt="sbor.petitions.manage"
    )

    assert mail_client.post(f"/u/{token}/one-click/").status_code == 404
    assert subscribed(person, campaign)


def test_an_expired_link_is_refused_and_changes_nothing(
    campaign, petition, mail_client, settings, monkeypatch
):
    person = signer(petition)
    settings.UPDATES_LINK_MAX_AGE_DAYS = 30
    a_month_ago = time.time() - timedelta(days=31).total_seconds()
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: a_month_ago)
        token = token_for(person, campaign)

    one_click = mail_client.post(f"/u/{token}/one-click/")
    page = Client().get(f"/u/{token}/")

    assert one_click.status_code == 410
    assert page.status_code == 410
    assert "This link has expired" in page.content.decode()
    assert subscribed(person, campaign)


def test_a_get_on_the_one_click_link_shows_the_button_and_unsubscribes_nobody(
    campaign, petition, client
):
    person = signer(petition, email="anna@example.org")

    response = client.get(f"/u/{token_for(person, campaign)}/one-click/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Unsubscribe" in page
    assert "a…@example.org" in page
    assert "anna@example.org" not in page
    assert subscribed(person, campaign)


def test_the_visible_link_opens_a_page_whose_button_unsubscribes(campaign, petition):
    person = signer(petition)
    browser = Client(enforce_csrf_checks=True)
    url = f"/u/{token_for(person, campaign)}/"

    page = browser.get(url)
    assert page.status_code == 200
    assert subscribed(person, campaign)
    assert page["Referrer-Policy"] == "same-origin"
    assert "noindex" in page["X-Robots-Tag"]

    assert browser.post(url).status_code == 403  # without the page's CSRF token
    assert subscribed(person, campaign)

    done = browser.post(url, {"csrfmiddlewaretoken": page.cookies["csrftoken"].value})
    assert done.status_code == 200
    assert "You will get no more updates from" in done.content.decode()
    assert not subscribed(person, campaign)


def test_the_done_page_offers_to_resume(campaign, petition, client):
    person = signer(petition)
    token = token_for(person, campaign)
    client.post(f"/u/{token}/")

    response = client.post(
        f"/u/{token}/preferences/", {"action": "resume", "campaign": str(campaign.public_id)}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/u/{token}/preferences/?done=resumed"
    assert subscribed(person, campaign)


def test_the_preferences_page_lists_only_this_organisations_campaigns(campaign, petition, client):
    sister = petition_create(
        campaign=campaign_create(organisation=campaign.organisation, title="Sister campaign")
    )
    elsewhere = petition_create(campaign=campaign_create(title="Another organisation's cause"))
    person = signer(petition, email="anna@example.org")
    signer(sister, email="anna@example.org")
    signer(elsewhere, email="anna@example.org")

    page = client.get(f"/u/{token_for(person, campaign)}/preferences/").content.decode()

    assert "Free the Five" in page
    assert "Sister campaign" in page
    assert "Another organisation" not in page
    assert "You also hear from campaigns of other organisations" in page


def test_preferences_stop_one_campaign(campaign, petition, client):
    sister = petition_create(campaign=campaign_create(organisation=campaign.organisation))
    person = signer(petition, email="anna@example.org")
    signer(sister, email="anna@example.org")
    token = token_for(person, campaign)

    response = client.post(
        f"/u/{token}/preferences/", {"action": "stop", "campaign": str(sister.campaign.public_id)}
    )

    assert response.status_code == 302
    assert subscribed(person, campaign)
    assert not subscribed(person, sister.campaign)
    page = client.get(response["Location"]).content.decode()
    assert "you will get no more updates about this campaign" in page


def test_preferences_stop_everything_from_every_organisation(campaign, petition, client):
    elsewhere = petition_create(campaign=campaign_create())
    person = signer(petition, email="anna@example.org")
    signer(elsewhere, email="anna@example.org")

    client.post(f"/u/{token_for(person, campaign)}/preferences/", {"action": "stop_all"})

    assert not Consent.objects.filter(supporter=person, withdrawn_at__isnull=True).exists()


def test_preferences_cannot_touch_a_campaign_of_another_organisation(campaign, petition, client):
    elsewhere = petition_create(campaign=campaign_create())
    person = signer(petition, email="anna@example.org")
    signer(elsewhere, email="anna@example.org")

    response = client.post(
        f"/u/{token_for(person, campaign)}/preferences/",
        {"action": "stop", "campaign": str(elsewhere.campaign.public_id)},
    )

    assert response.status_code == 404
    assert subscribed(person, elsewhere.campaign)


@pytest.mark.parametrize(
    "data",
    [
        {"action": "stop", "campaign": "not-a-uuid"},
        {"action": "dance", "campaign": str(uuid.uuid4())},
        {},
    ],
)
def test_bad_preferences_input_gets_a_clear_answer_and_changes_nothing(
    campaign, petition, client, data
):
    person = signer(petition)

    response = client.post(f"/u/{token_for(person, campaign)}/preferences/", data)

    assert response.status_code in (400, 404)
    assert subscribed(person, campaign)


def test_a_link_of_someone_erased_says_there_is_nothing_to_change(campaign, petition, client):
    person = signer(petition)
    token = token_for(person, campaign)
    person.delete()

    page = client.get(f"/u/{token}/").content.decode()

    assert "no updates go to it" in page
    assert Client(enforce_csrf_checks=True).post(f"/u/{token}/one-click/").status_code == 200


def test_the_pages_speak_the_persons_language_unless_they_chose_another(
    campaign, petition, client, settings
):
    person = signer(petition, language="ru")
    url = f"/u/{token_for(person, campaign)}/preferences/"

    assert "Ваши рассылки" in client.get(url).content.decode()

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Your email updates" in client.get(url).content.decode()


def test_a_forged_page_link_is_a_clear_404_page(client):
    response = client.get("/u/forged/preferences/")

    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()


def test_tokens_carry_no_address(campaign, petition):
    person = signer(petition, email="anna@example.org")

    token = token_for(person, campaign)
    payload = signing.TimestampSigner(salt=SUBSCRIPTION_SALT).unsign(token)

    assert (
        base64.urlsafe_b64decode(payload + "==")
        == person.public_id.bytes + campaign.public_id.bytes
    )
    assert len(token) < 100
