"""Every public page carries the security headers and the strict policy, refuses to be
framed, and holds nothing that the policy would block."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.http import HttpResponseBase
from django.test import Client

from petitions.models import Petition
from petitions.services import manage_links
from tests.html import all_elements
from tests.security.conftest import PublicSite
from tests.security.markup import csp_directives, inline_code
from trust.site import site_settings_update

pytestmark = pytest.mark.django_db

Page = Callable[[Client, PublicSite], HttpResponseBase]

SIGNER = {"name": "Anna Karenina", "email": "anna@example.org", "display": "hidden"}


def campaign_with_the_challenge_on(client: Client, site: PublicSite) -> HttpResponseBase:
    Petition.objects.filter(pk=site.petition.pk).update(challenge_required=True)
    response = client.get(site.campaign_path)
    assert b"data-challenge=" in response.content
    return response


def campaign_while_signing_is_paused(client: Client, site: PublicSite) -> HttpResponseBase:
    site_settings_update(signing_paused=True, pause_message="")
    response = client.get(site.campaign_path)
    assert b"notice--paused" in response.content
    return response


def sign_while_signing_is_paused(client: Client, site: PublicSite) -> HttpResponseBase:
    site_settings_update(signing_paused=True, pause_message="")
    return client.post(f"{site.petition_path}sign/", SIGNER)


def sign_a_closed_petition(client: Client, site: PublicSite) -> HttpResponseBase:
    Petition.objects.filter(pk=site.petition.pk).update(status=Petition.Status.CLOSED)
    return client.post(f"{site.petition_path}sign/", SIGNER)


def manage_page(client: Client, site: PublicSite) -> HttpResponseBase:
    assert site.pending.supporter is not None
    return client.get(
        f"/manage/{manage_links.manage_token_make(supporter=site.pending.supporter)}/"
    )


# Every page a member of the public can reach, by name, and the status it answers with.
PUBLIC_PAGES: dict[str, tuple[Page, int]] = {
    "home": (lambda client, site: client.get("/"), 200),
    "campaign": (lambda client, site: client.get(site.campaign_path), 200),
    "campaign with utm values": (
        lambda client, site: client.get(f"{site.campaign_path}?utm_source=x&ref=y"),
        200,
    ),
    "sign form with errors": (
        lambda client, site: client.post(f"{site.petition_path}sign/", {"name": ""}),
        422,
    ),
    "thanks": (lambda client, site: client.get(f"{site.petition_path}thanks/"), 200),
    "confirmed": (lambda client, site: client.get(f"{site.petition_path}confirmed/"), 200),
    "confirm link": (lambda client, site: client.get(f"/confirm/{site.token}/"), 200),
    "confirm link invalid": (lambda client, site: client.get("/confirm/not-a-token/"), 400),
    "confirm code": (lambda client, site: client.get(f"{site.petition_path}confirm/"), 200),
    "confirm code wrong": (
        lambda client, site: client.post(f"{site.petition_path}confirm/", {"code": "ABCD-EFGH"}),
        400,
    ),
    "404": (lambda client, site: client.get("/no-such-page/"), 404),
    "404 for a petition": (lambda client, site: client.get("/p/no-such-petition/thanks/"), 404),
    "400 for a host we do not serve": (
        lambda client, site: client.get("/", HTTP_HOST="attacker.example"),
        400,
    ),
    "403 without a CSRF token": (
        lambda client, site: Client(enforce_csrf_checks=True).post(
            f"{site.petition_path}sign/", SIGNER
        ),
        403,
    ),
    "campaign with the challenge on": (campaign_with_the_challenge_on, 200),
    "campaign while signing is paused": (campaign_while_signing_is_paused, 200),
    "sign while signing is paused": (sign_while_signing_is_paused, 503),
    "sign a closed petition": (sign_a_closed_petition, 409),
    "manage: ask for a link": (lambda client, site: client.get("/manage/"), 200),
    "manage: link sent": (
        lambda client, site: client.post("/manage/", {"email": "pending@example.org"}),
        200,
    ),
    "manage: the page": (manage_page, 200),
    "manage: a bad link": (lambda client, site: client.get("/manage/not-a-token/"), 400),
    "manage: erased": (lambda client, site: client.get("/manage/erased/"), 200),
}

TOKEN_PAGES = {"manage: the page", "manage: a bad link"}

EMBED_PAGES: dict[str, tuple[Page, int]] = {
    "embed": (lambda client, site: client.get(f"{site.petition_path}embed/"), 200),
}


def fetch(client: Client, site: PublicSite, page: str) -> HttpResponseBase:
    view, status = (PUBLIC_PAGES | EMBED_PAGES)[page]
    response = view(client, site)
    assert response.status_code == status, response.content[:500]
    return response


@pytest.mark.parametrize("page", [*PUBLIC_PAGES, *EMBED_PAGES])
def test_every_public_page_sends_the_security_headers(client, site, page):
    response = fetch(client, site, page)

    assert response["X-Content-Type-Options"] == "nosniff"
    # Pages with a token in their address keep even the origin to themselves.
    expected_referrer = "same-origin" if page in TOKEN_PAGES else "strict-origin-when-cross-origin"
    assert response["Referrer-Policy"] == expected_referrer
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "Content-Security-Policy" in response


@pytest.mark.parametrize("page", [*PUBLIC_PAGES, *EMBED_PAGES])
def test_no_page_allows_inline_code_or_eval(client, site, page):
    policy = fetch(client, site, page)["Content-Security-Policy"]

    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "unsafe-hashes" not in policy
    directives = csp_directives(policy)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'none'"]


@pytest.mark.parametrize("page", PUBLIC_PAGES)
def test_every_public_page_refuses_to_be_framed(client, site, page):
    response = fetch(client, site, page)

    assert response["X-Frame-Options"] == "DENY"
    assert csp_directives(response["Content-Security-Policy"])["frame-ancestors"] == ["'none'"]


def test_the_embed_page_is_the_one_page_that_may_be_framed(client, site):
    response = fetch(client, site, "embed")

    assert "X-Frame-Options" not in response
    assert csp_directives(response["Content-Security-Policy"])["frame-ancestors"] == ["*"]


@pytest.mark.parametrize("page", [*PUBLIC_PAGES, *EMBED_PAGES])
def test_no_page_holds_inline_scripts_styles_or_event_handlers(client, site, page):
    response = fetch(client, site, page)

    assert inline_code(response.content.decode()) == []


@pytest.mark.parametrize("page", [*PUBLIC_PAGES, *EMBED_PAGES])
def test_every_script_and_stylesheet_comes_from_this_site(client, site, page):
    html = fetch(client, site, page).content.decode()

    external = [
        url
        for url in _resource_urls(html)
        if url.startswith(("http:", "https:", "//")) or url.startswith("data:text")
    ]
    assert external == []


def test_the_json_api_sends_the_headers_too(client, site):
    response = client.get(f"/api/v1/petitions/{site.petition.slug}/count/")

    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_static_files_are_not_sniffed(client, site):
    response = client.get("/static/css/sbor.css")

    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"


def _resource_urls(html: str) -> list[str]:
    urls = []
    for tag, attrs in all_elements(html):
        if tag == "script" and attrs.get("src"):
            urls.append(attrs["src"] or "")
        if tag == "link" and attrs.get("href"):
            urls.append(attrs["href"] or "")
        if tag in {"img", "iframe", "source", "video", "audio"} and attrs.get("src"):
            urls.append(attrs["src"] or "")
    return urls
