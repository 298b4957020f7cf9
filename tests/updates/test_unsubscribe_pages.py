"""The links in an update: one click (RFC 8058), the visible link's button, preferences."""

from __future__ import annotations

import base64
import re
import time
import uuid
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client

from petitions.models import Consent
from tests.factories import campaign_create, organisation_create, petition_create
from tests.updates.conftest import signer
from trust.crypto import token_seal
from updates.tokens import SUBSCRIPTION_PURPOSE, subscription_token_make

pytestmark = pytest.mark.django_db


def token_for(person, campaign, *, now: float | None = None) -> str:
    return subscription_token_make(
        supporter_public_id=person.public_id, campaign_public_id=campaign.public_id, now=now
    )


def expired_token_for(person, campaign, settings) -> str:
    settings.UPDATES_LINK_MAX_AGE_DAYS = 30
    return token_for(person, campaign, now=time.time() - timedelta(days=31).total_seconds())


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


def test_an_expired_link_still_unsubscribes_with_one_click(
    campaign, petition, mail_client, settings
):
    person = signer(petition)
    token = expired_token_for(person, campaign, settings)

    response = mail_client.post(f"/u/{token}/one-click/")

    assert response.status_code == 200
    assert response.content.decode() == "You are unsubscribed."
    assert not subscribed(person, campaign)


def test_an_expired_visible_link_still_unsubscribes_and_shows_nothing_more(
    campaign, petition, settings
):
    person = signer(petition, email="anna@example.org")
    token = expired_token_for(person, campaign, settings)
    browser = Client(enforce_csrf_checks=True)

    page = browser.get(f"/u/{token}/")
    done = browser.post(f"/u/{token}/", {"csrfmiddlewaretoken": page.cookies["csrftoken"].value})

    assert page.status_code == 200
    assert "Unsubscribe" in page.content.decode()
    # An old email shows no more than the button: no masked address, no preferences.
    assert "@example.org" not in page.content.decode()
    assert f"/u/{token}/preferences/" not in page.content.decode()
    assert done.status_code == 200
    assert "You will get no more updates from" in done.content.decode()
    assert not subscribed(person, campaign)


def test_an_expired_link_does_not_open_the_preferences_and_says_how_to_get_a_new_one(
    campaign, petition, client, settings
):
    person = signer(petition)
    token = expired_token_for(person, campaign, settings)

    page = client.get(f"/u/{token}/preferences/")
    stop_all = client.post(f"/u/{token}/preferences/", {"action": "stop_all"})

    assert page.status_code == 410
    text = page.content.decode()
    assert "This link has expired" in text
    assert "less than 30 days old; every update has fresh links" in text
    assert "The link to stop updates, in any email however old, still works." in text
    assert stop_all.status_code == 410
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


def test_the_done_page_offers_no_resume_and_says_how_to_hear_again(campaign, petition, client):
    person = signer(petition)
    token = token_for(person, campaign)

    done = client.post(f"/u/{token}/").content.decode()

    assert 'value="resume"' not in done
    assert "A link in an email cannot turn updates back on" in done
    assert "/manage/" in done
    assert not subscribed(person, campaign)


def test_a_link_holder_cannot_resubscribe_someone_who_unsubscribed(campaign, petition):
    person = signer(petition)
    token = token_for(person, campaign)
    Client().post(f"/u/{token}/one-click/")

    stranger = Client()
    page = stranger.get(f"/u/{token}/preferences/").content.decode()
    response = stranger.post(
        f"/u/{token}/preferences/", {"action": "resume", "campaign": str(campaign.public_id)}
    )

    assert "You unsubscribed from its updates." in page
    assert 'value="resume"' not in page
    assert response.status_code == 400
    assert not subscribed(person, campaign)


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


def test_the_preferences_page_does_not_say_whether_the_person_follows_other_organisations(
    campaign, petition, client
):
    follows_others = signer(petition, email="anna@example.org")
    elsewhere = petition_create(campaign=campaign_create(organisation=organisation_create()))
    signer(elsewhere, email="anna@example.org")
    follows_none = signer(petition, email="boris@example.org")

    pages = []
    for person, mask in ((follows_others, "a…@"), (follows_none, "b…@")):
        token = token_for(person, campaign)
        page = client.get(f"/u/{token}/preferences/").content.decode()
        page = page.replace(token, "TOKEN").replace(mask, "X…@")
        pages.append(re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page))

    assert "other organisations" not in pages[0]
    assert "whichever organisation runs it" in pages[0]
    assert 'value="stop_all"' in pages[0]
    assert pages[0] == pages[1]


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


def test_tokens_are_opaque_short_and_url_safe(campaign, petition):
    person = signer(petition, email="anna@example.org")
    elsewhere = campaign_create(organisation=organisation_create())

    tokens = [token_for(person, campaign), token_for(person, elsewhere)]

    for token in tokens:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(token) < 80
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        # Nothing about the person can be read: not their id, nor the campaign's, nor when.
        assert person.public_id.bytes not in raw and campaign.public_id.bytes not in raw
        assert person.public_id.hex not in token and "anna" not in token
        with pytest.raises(signing.BadSignature):
            signing.TimestampSigner(salt=SUBSCRIPTION_PURPOSE).unsign(token)
    # Two organisations' links to the same person share nothing that would tie them.
    assert tokens[0][:16] != tokens[1][:16] and tokens[0][-16:] != tokens[1][-16:]


def test_tampered_or_foreign_tokens_are_refused_everywhere_and_change_nothing(
    campaign, petition, mail_client
):
    person = signer(petition)
    good = token_for(person, campaign)
    flipped = good[:10] + ("A" if good[10] != "A" else "B") + good[11:]
    forged = [
        flipped,
        good[:-2],
        good + "AA",
        token_seal(purpose="sbor.petitions.manage", data=b"\x01" * 37),
        token_seal(purpose=SUBSCRIPTION_PURPOSE, data=b"\x02" + b"\x00" * 36),  # unknown version
        token_seal(purpose=SUBSCRIPTION_PURPOSE, data=b"\x01" * 10),  # wrong size
        signing.TimestampSigner(salt=SUBSCRIPTION_PURPOSE).sign("x"),  # the old format
    ]
    for token in forged:
        for path in ("", "one-click/", "preferences/"):
            response = mail_client.post(f"/u/{token}/{path}")
            assert response.status_code in (403, 404), (token, path, response.status_code)
    assert subscribed(person, campaign)


@pytest.mark.parametrize(
    "token",
    ["%00", "a" * 5000, "a:b:c", "é:ü:ö", "%F0%9F%92%A9", ":::", "..", "a%0d%0aX-Y:z"],
)
def test_malformed_tokens_never_give_a_server_error(client, token):
    for path in ("", "one-click/", "preferences/"):
        assert client.get(f"/u/{token}/{path}").status_code in (404, 400)
        assert client.post(f"/u/{token}/{path}").status_code in (404, 403, 400)
