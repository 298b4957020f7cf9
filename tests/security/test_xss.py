"""None"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils.html import escape

from petitions.models import SignAttempt, Signature
from tests.factories import signature_confirm
from tests.html import elements
from tests.security.xss import PAYLOADS, SIGNER, assert_inert, sign

pytestmark = pytest.mark.django_db
payloads = pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())

# Valid addresses whose quoted local part is markup (RFC 5321 allows it; Django accepts it).
HOSTILE_EMAILS = {
    "script": '"<script>alert(1)</script>"@example.org',
    "img": '"<img/src=x/onerror=alert(1)>"@example.org',
}


# --- What signers type ---------------------------------------------------------------------


@payloads
def test_a_public_signers_name_is_escaped_on_the_campaign_page(
    client, petition, payload, django_capture_on_commit_callbacks
):
    response = sign(client, petition, django_capture_on_commit_callbacks, name=payload)
    assert response.status_code == 302
    signature_confirm(Signature.objects.get(petition=petition))
    cache.clear()  # the recent-signers list is cached for a few seconds

    html = client.get(f"/c/{petition.campaign.slug}/").content.decode()

    assert f'<span class="recent__name">{escape(payload)}</span>' in html
    assert_inert(html, payload)


@payloads
def test_a_name_is_escaped_on_the_thanks_page_and_the_form_shown_again(
    client, petition, payload, django_capture_on_commit_callbacks
):
    response = sign(client, petition, django_capture_on_commit_callbacks, name=payload)
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200
    assert_inert(thanks.content.decode(), payload)

    again = client.post(f"/p/{petition.slug}/sign/", {**SIGNER, "name": payload, "email": "x"})

    assert again.status_code == 422
    html = again.content.decode()
    assert_inert(html, payload)
    [name_input] = elements(html, "input", name="name")
    assert name_input["value"] == payload


@payloads
def test_a_name_is_plain_in_the_emails_text_and_escaped_in_its_html(
    client, petition, payload, django_capture_on_commit_callbacks
):
    sign(client, petition, django_capture_on_commit_callbacks, name=payload)

    [message] = mail.outbox
    # Before the address is confirmed, the email carries nothing the signer typed: the
    # sign form cannot relay anyone's words (or markup) to a stranger's inbox.
    assert payload not in message.body
    assert message.body.startswith("Hello,\n")
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert payload not in html
    assert escape(payload) not in html
    assert_inert(html, payload, email=True)
    assert payload not in message.subject


@pytest.mark.parametrize("email", HOSTILE_EMAILS.values(), ids=HOSTILE_EMAILS.keys())
def test_markup_in_an_email_address_is_escaped_when_the_form_is_shown_again(
    client, petition, email
):
    response = client.post(f"/p/{petition.slug}/sign/", {**SIGNER, "name": "", "email": email})

    assert response.status_code == 422
    html = response.content.decode()
    assert_inert(html, email)
    [email_input] = elements(html, "input", name="email")
    assert email_input["value"] == email


@pytest.mark.parametrize("email", HOSTILE_EMAILS.values(), ids=HOSTILE_EMAILS.keys())
def test_an_address_with_markup_is_refused_and_never_stored_or_mailed(
    client, petition, email, django_capture_on_commit_callbacks
):
    # Markup fits in an address only inside a quoted local part, which signer forms refuse
    # (a quoted local part reaches the same mailbox as the bare one but hashes apart).
    response = sign(client, petition, django_capture_on_commit_callbacks, email=email)

    assert response.status_code == 422
    assert_inert(response.content.decode(), email)
    assert mail.outbox == []
    assert not SignAttempt.objects.exists()


@pytest.mark.parametrize(
    "email", [*HOSTILE_EMAILS.values(), *PAYLOADS.values()], ids=[*HOSTILE_EMAILS, *PAYLOADS]
)
def test_markup_in_the_address_asking_for_a_manage_link_is_escaped(client, email):
    response = client.post("/manage/", {"email": email})

    assert response.status_code in (200, 422)
    assert_inert(response.content.decode(), email)


@payloads
@pytest.mark.parametrize("field", ["name", "email", "country", "display"])
def test_the_sign_api_answers_hostile_input_with_json_a_browser_will_not_sniff(
    client, petition, payload, field
):
    response = client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/",
        {**SIGNER, field: payload},
        content_type="application/json",
    )

    assert response.status_code in (202, 400)
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"


@payloads
def test_utm_values_in_the_address_are_reduced_to_plain_tags(client, petition, payload):
    query = "&".join(
        f"{name}={quote(payload)}" for name in ("utm_source", "utm_medium", "utm_campaign", "ref")
    )

    html = client.get(f"/c/{petition.campaign.slug}/?{query}").content.decode()

    assert_inert(html, payload)
    for name in ("utm_source", "utm_medium", "utm_campaign"):
        [field] = elements(html, "input", name=name)
        assert set(field["value"] or "") <= set("abcdefghijklmnopqrstuvwxyz0123456789_.-")


@payloads
def test_utm_values_posted_with_a_signature_are_stored_as_plain_tags(
    client, petition, payload, django_capture_on_commit_callbacks
):
    fields = {name: payload for name in ("utm_source", "utm_medium", "utm_campaign")}

    sign(client, petition, django_capture_on_commit_callbacks, **fields)

    signature = Signature.objects.get(petition=petition)
    for value in (signature.source, signature.medium, signature.source_campaign):
        assert not set(value) & set("<>\"'{}: ")


@payloads
def test_a_hostile_country_is_refused_and_not_echoed(client, petition, payload):
    response = client.post(f"/p/{petition.slug}/sign/", {**SIGNER, "country": payload})

    assert response.status_code == 422
    html = response.content.decode()
    assert "Choose a country from the list." in html
    assert_inert(html, payload)
    assert not Signature.objects.exists()


@payloads
def test_a_hostile_confirmation_code_is_escaped_when_the_form_is_shown_again(
    client, petition, payload
):
    response = client.post(f"/p/{petition.slug}/confirm/", {"code": payload})

    assert response.status_code == 400
    html = response.content.decode()
    assert_inert(html, payload)
    [code_input] = elements(html, "input", name="code")
    assert code_input["value"] == payload


@payloads
def test_a_hostile_token_or_path_is_not_echoed(client, payload):
    for path in (f"/confirm/{quote(payload, safe='')}/", f"/c/{quote(payload, safe='')}/"):
        response = client.get(path)

        assert response.status_code in (400, 404)
        assert_inert(response.content.decode(), payload)


def test_the_language_switch_does_not_redirect_to_a_javascript_url(client):
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "javascript:alert(1)"})

    assert response.status_code == 302
    assert not response["Location"].lower().startswith("javascript:")
