"""What staff type is escaped too: petition texts, pause messages, campaign stories, CSV cells."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils.html import escape

from campaigns.services import markdown_render
from mailer.models import OutboxMessage
from mailer.registry import email_types
from mailer.services import email_render
from petitions import services, tokens
from petitions.models import Petition, Signature
from petitions.selectors import signatures_csv_rows
from tests.factories import (
    campaign_create,
    latest_attempt,
    organisation_create,
    petition_create,
    signature_create,
)
from tests.html import elements
from tests.security.markup import inline_code
from tests.security.xss import PAYLOADS, SIGNER, assert_inert, sign
from trust.site import site_settings_update

pytestmark = pytest.mark.django_db


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
        campaign=campaign,
        slug="hostile",
        title=payload,
        ask=payload,
        target_name=payload,
        target_position=payload,
        target_organisation=payload,
        response_text=payload,
        response_date=datetime.date(2026, 1, 15),
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
# Petitions' kinds, about a signature; other apps' kinds test hostile text of their own
# (the workspace's invitation: tests/workspace/test_invitations.py).
@pytest.mark.parametrize(
    "kind", [t.kind for t in email_types() if t.build.__module__ == "petitions.emails"]
)
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
