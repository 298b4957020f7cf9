"""The embed page: what partners frame on their own sites, and why framing it is safe."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client

from campaigns.models import Campaign
from petitions.embed import EMBED_MAX_AGE, embeddable
from petitions.models import Petition
from tests.factories import campaign_create, organisation_create, petition_create
from tests.html import elements
from tests.security.markup import csp_directives, inline_code
from tests.security.test_csp import EXPECTED_POLICY

pytestmark = pytest.mark.django_db


@pytest.fixture
def petition() -> Petition:
    petition = petition_create(
        campaign=campaign_create(slug="free-them", title="Free them"),
        slug="release-now",
        title="Release them now",
    )
    Petition.objects.filter(pk=petition.pk).update(signature_count=1234)
    petition.refresh_from_db()
    return petition


def embed(client: Client, petition: Petition, query: str = ""):
    return client.get(f"/p/{petition.slug}/embed/{query}")


def test_the_embed_shows_the_title_count_and_goal(client, petition):
    response = embed(client, petition)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Release them now" in html
    assert "1,234 of 5,000 signatures" in html
    [bar] = elements(html, "progress")
    assert (bar["value"], bar["max"]) == ("1234", "5000")


def test_the_sign_link_opens_the_campaign_page_in_a_new_tab(client, petition):
    html = embed(client, petition).content.decode()

    [link] = elements(html, "a")
    assert link["href"] == "http://testserver/c/free-them/?utm_medium=embed#petition-release-now"
    assert link["target"] == "_blank"
    assert "noopener" in (link["rel"] or "").split()
    assert "Sign this petition" in html


def test_the_embed_may_be_framed_by_any_site(client, petition):
    response = embed(client, petition)

    assert "X-Frame-Options" not in response
    directives = csp_directives(response["Content-Security-Policy"])
    assert directives["frame-ancestors"] == ["*"]
    # Only framing is relaxed: the rest of the policy is the site's.
    assert directives == EXPECTED_POLICY | {"frame-ancestors": ["*"]}


def test_the_embed_has_no_form_and_sets_no_cookie(client, petition):
    response = embed(client, petition)

    html = response.content.decode()
    assert elements(html, "form") == []
    assert elements(html, "input") == []
    assert elements(html, "button") == []
    assert "csrfmiddlewaretoken" not in html
    assert response.cookies == {}
    assert "Set-Cookie" not in response


def test_the_embed_is_publicly_cacheable_for_a_few_seconds(client, petition):
    response = embed(client, petition, "?lang=en")

    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert cache_control == {"public", f"max-age={EMBED_MAX_AGE}"}
    assert EMBED_MAX_AGE <= 60


def test_without_a_language_asked_for_the_embed_varies_by_the_readers_language(client, petition):
    response = embed(client, petition)

    vary = {part.strip().lower() for part in response["Vary"].split(",")}
    assert {"accept-language", "cookie"} <= vary


def test_a_partner_chooses_the_language(client, petition):
    response = embed(client, petition, "?lang=ru")

    assert response["Content-Language"] == "ru"
    assert elements(response.content.decode(), "html")[0]["lang"] == "ru"


def test_an_unknown_language_falls_back_to_the_readers(client, petition):
    response = embed(client, petition, "?lang=xx")

    assert response.status_code == 200
    assert response["Content-Language"] == "en"


def test_the_embed_works_without_javascript_and_holds_no_inline_code(client, petition):
    html = embed(client, petition).content.decode()

    assert inline_code(html) == []
    # The count is in the page itself; the script only refreshes it.
    assert "1,234 of 5,000 signatures" in html


def test_a_closed_petition_embeds_without_a_sign_link(client, petition):
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.CLOSED)

    html = embed(client, petition).content.decode()

    assert "no longer takes signatures" in html
    assert "Sign this petition" not in html
    [link] = elements(html, "a")
    assert link["target"] == "_blank"


@pytest.mark.parametrize(
    "hide",
    [
        lambda petition: Petition.objects.filter(pk=petition.pk).update(
            status=Petition.Status.DRAFT
        ),
        lambda petition: Campaign.objects.filter(pk=petition.campaign_id).update(
            status=Campaign.Status.DRAFT
        ),
    ],
    ids=["draft-petition", "draft-campaign"],
)
def test_a_draft_is_not_embedded(client, petition, hide):
    hide(petition)

    response = embed(client, petition)

    assert response.status_code == 404
    assert response["X-Frame-Options"] == "DENY"


def test_an_unknown_petition_is_a_404_that_refuses_framing(client):
    response = client.get("/p/no-such-petition/embed/")

    assert response.status_code == 404
    assert csp_directives(response["Content-Security-Policy"])["frame-ancestors"] == ["'none'"]


def test_the_embed_only_answers_reads(client, petition):
    assert client.head(f"/p/{petition.slug}/embed/").status_code == 200
    assert client.post(f"/p/{petition.slug}/embed/").status_code == 405


def test_staff_text_is_escaped_in_the_embed(client):
    payload = '"><script>alert(1)</script>'
    organisation = organisation_create(name=payload)
    petition = petition_create(campaign=campaign_create(organisation=organisation), title=payload)

    html = embed(client, petition).content.decode()

    assert payload not in html
    assert html.count("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;") >= 3  # title, h1, org
    assert inline_code(html) == []


def test_embeddable_relaxes_framing_on_any_view(rf):
    view = embeddable(lambda request: HttpResponse("ok"))

    response = view(rf.get("/"))

    assert response.xframe_options_exempt is True
    assert response._csp_replace == {"frame-ancestors": ["*"]}
