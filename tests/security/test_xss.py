"""Hostile text in every field a person or staff member controls comes out inert: escaped
in pages, escaped in the HTML part of emails, plain in their text part, sanitised in
campaign stories, defused in CSV exports."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils.html import escape

from campaigns.services import markdown_render
from mailer.models import OutboxMessage
from mailer.registry import email_types
from mailer.services import email_render
from petitions import services, tokens
from petitions.models import Petition, SignAttempt, Signature
from petitions.selectors import signatures_csv_rows
from tests.factories import (
    campaign_create,
    latest_attempt,
    organisation_create,
    petition_create,
    signature_confirm,
    signature_create,
)
from tests.html import elements
from tests.security.markup import inline_code
from trust.site import site_settings_update

pytestmark = pytest.mark.django_db

PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "attribute": '"><img src=x onerror=alert(1)>',
    "single-quote": "'><svg onload=alert(1)>",
    "javascript-url": "javascript:alert(1)",
    "template": "{{ 7*7 }}",
}
payloads = pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())

# Valid addresses whose quoted local part is markup (RFC 5321 allows it; Django accepts it).
HOSTILE_EMAILS = {
    "script": '"<script>alert(1)</script>"@example.org',
    "img": '"<img/src=x/onerror=alert(1)>"@example.org',
}

SIGNER = {"name": "Anna Karenina", "email": "anna@example.org", "display": "full"}


def assert_inert(html: str, payload: str = "", *, email: bool = False) -> None:
    """Nothing in ``html`` runs or loads: no inline script, event handler, javascript: URL,
    or injected element; and ``payload``, if it holds markup, only appears escaped.

    Emails may have style attributes (mail clients need them, and no CSP applies there).
    """
    found = inline_code(html)
    if email:
        found = [item for item in found if " style=" not in item]
    assert found == []
    assert elements(html, "img") == []
    assert elements(html, "svg") == []
    if any(char in payload for char in "<>\"'"):
        assert payload not in html


def sign(client: Client, petition: Petition, captured, **fields: str):
    with captured(execute=True):
        return client.post(f"/p/{petition.slug}/sign/", {**SIGNER, **fields})


@pytest.fixture
def petition() -> Petition:
    return petition_create(slug="release-now", title="Release them now")


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


# --- What staff type -----------------------------------------------------------------------


@pytest.fixture
def hostile_petition(request) -> Petition:
    """A petition whose every staff-written field, and its campaign's and organisation's,
    holds the payload."""
    payload = request.param
    campaign = campaign_create(
        organisation=organisation_create(name=payload),
        slug="hostile-campaign",
        title=payload,
        summary=payload,
        body=payload,
    )
    return petition_create(
        campaign=campaign, slug="hostile", title=payload, ask=payload, target=payload
    )


STAFF_PAGES = {
    "home": lambda petition, token: "/",
    "campaign": lambda petition, token: f"/c/{petition.campaign.slug}/",
    "thanks": lambda petition, token: f"/p/{petition.slug}/thanks/",
    "confirmed": lambda petition, token: f"/p/{petition.slug}/confirmed/",
    "confirm link": lambda petition, token: f"/confirm/{token}/",
    "confirm code": lambda petition, token: f"/p/{petition.slug}/confirm/",
    "embed": lambda petition, token: f"/p/{petition.slug}/embed/",
}


@pytest.mark.parametrize("hostile_petition", PAYLOADS.values(), ids=PAYLOADS.keys(), indirect=True)
@pytest.mark.parametrize("page", STAFF_PAGES)
def test_staff_text_is_escaped_on_every_public_page(client, hostile_petition, page):
    payload = hostile_petition.title
    signature = services.signature_create(
        petition=hostile_petition, email="someone@example.org", name="Someone"
    ).signature
    token = tokens.confirm_token_make(str(latest_attempt(signature).public_id))

    response = client.get(STAFF_PAGES[page](hostile_petition, token))

    assert response.status_code == 200
    html = response.content.decode()
    assert escape(payload) in html
    assert_inert(html, payload)


@pytest.mark.parametrize("hostile_petition", PAYLOADS.values(), ids=PAYLOADS.keys(), indirect=True)
def test_staff_text_is_escaped_in_the_emails_html_and_plain_in_its_text(
    client, hostile_petition, django_capture_on_commit_callbacks
):
    payload = hostile_petition.title

    sign(client, hostile_petition, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert payload in message.subject
    assert "\n" not in message.subject
    assert f"“{payload}”" in message.body
    html, _ = message.alternatives[0]
    assert f"“{escape(payload)}”" in html
    assert_inert(html, payload, email=True)


@pytest.mark.parametrize("hostile_petition", PAYLOADS.values(), ids=PAYLOADS.keys(), indirect=True)
@pytest.mark.parametrize("kind", [t.kind for t in email_types()])
def test_every_kind_of_email_escapes_hostile_names_and_titles(hostile_petition, kind):
    payload = hostile_petition.title
    signature = services.signature_create(
        petition=hostile_petition, email="someone@example.org", name=payload
    ).signature
    assert signature.supporter is not None
    message = OutboxMessage.objects.create(
        kind=kind,
        recipient_ref=f"petitions.supporter:{signature.supporter_id}",
        about={
            "petition": str(hostile_petition.pk),
            "signature": str(signature.pk),
            "sign_attempt": str(latest_attempt(signature).pk),
        },
    )

    rendered = email_render(message=message)

    assert "\n" not in rendered.subject
    assert_inert(rendered.html, payload, email=True)
    if payload in rendered.text:
        assert escape(payload) in rendered.html


def test_the_pause_message_written_by_staff_is_escaped(client, petition):
    payload = PAYLOADS["attribute"]
    site_settings_update(signing_paused=True, pause_message=payload)

    html = client.get(f"/c/{petition.campaign.slug}/").content.decode()

    assert escape(payload) in html
    assert_inert(html, payload)
    answer = client.post(f"/p/{petition.slug}/sign/", SIGNER)
    assert answer.status_code == 503
    assert_inert(answer.content.decode(), payload)


# --- Campaign stories (Markdown written by staff) ------------------------------------------

HOSTILE_MARKDOWN = """\
<script>alert(1)</script>

<img src=x onerror=alert(1)>

[a markdown link](javascript:alert(1)) and [another](JaVaScRiPt:alert(2))

<a href="javascript:alert(3)">a raw link</a> and <a href="&#106;avascript:alert(4)">encoded</a>

<a href="https://example.org/" onclick="alert(5)">a fine link</a>

<p style="color: red" onmouseover="alert(6)">styled</p>

<iframe src="https://attacker.example/"></iframe><style>body { display: none }</style>

<svg><script>alert(7)</script></svg> <object data="x"></object>

<form action="/x"><button>go</button></form>

{{ 7*7 }} {% now "Y" %}
"""


def test_the_story_sanitiser_drops_scripts_handlers_and_javascript_links():
    html = markdown_render(text=HOSTILE_MARKDOWN)

    assert inline_code(html) == []
    for tag in ("script", "img", "iframe", "style", "svg", "object", "form", "button"):
        assert elements(html, tag) == [], tag
    assert "javascript" not in html.lower()
    assert "alert(" not in html  # script bodies go with their tags
    [fine] = elements(html, "a", href="https://example.org/")
    assert set((fine["rel"] or "").split()) >= {"noopener", "noreferrer"}
    # Template syntax is text: stories are never rendered as templates.
    assert "{{ 7*7 }}" in html
    assert '{% now "Y" %}' in html


def test_the_campaign_page_shows_the_sanitised_story(client):
    campaign = campaign_create(slug="story", body=HOSTILE_MARKDOWN)
    petition_create(campaign=campaign)

    html = client.get("/c/story/").content.decode()

    assert_inert(html)
    assert "javascript:" not in html.lower()
    assert "a fine link" in html


# --- CSV exports (staff) -------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("https://attacker.example","x")', "+1+1", "-1+1", "@SUM(A1)"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_a_name_that_looks_like_a_formula_is_defused_in_the_csv_export(petition, formula):
    signature_create(petition=petition, email="f@example.org", name=formula, confirmed=True)

    header, row = list(signatures_csv_rows(signatures=Signature.objects.all()))

    cell = row[header.index("name")]
    assert cell == f"'{formula}"
