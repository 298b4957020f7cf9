"""Every state-changing HTML form refuses a POST without a valid CSRF token, and works
with one. The JSON sign API is exempt: it uses no cookies or session, and sets none.

To cover a new form, add an entry to ENDPOINTS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from petitions import tokens
from petitions.models import Consent, Petition, Signature, Supporter
from petitions.services import manage_links
from tests.factories import latest_attempt, petition_create, signature_create
from tests.html import elements

pytestmark = pytest.mark.django_db

SIGNER = {"name": "Anna Karenina", "email": "anna@example.org", "display": "hidden"}
ADMIN_PASSWORD = "a long admin pass phrase"


@dataclass(frozen=True)
class World:
    petition: Petition
    signature: Signature
    supporter: Supporter

    @property
    def confirm_token(self) -> str:
        return tokens.confirm_token_make(str(latest_attempt(self.signature).public_id))

    @property
    def manage_token(self) -> str:
        return manage_links.manage_token_make(supporter=self.supporter)

    @property
    def manage_signature(self) -> str:
        return f"/manage/{self.manage_token}/signatures/{self.signature.public_id}"


@dataclass(frozen=True)
class Endpoint:
    path: Callable[[World], str]
    data: Callable[[World], dict[str, str]]
    # What the endpoint answers to a valid POST with a token.
    status: int


ENDPOINTS: dict[str, Endpoint] = {
    "sign": Endpoint(lambda w: f"/p/{w.petition.slug}/sign/", lambda w: SIGNER, 302),
    "confirm by link": Endpoint(lambda w: f"/confirm/{w.confirm_token}/", lambda w: {}, 302),
    "confirm by code": Endpoint(
        lambda w: f"/p/{w.petition.slug}/confirm/",
        lambda w: {"code": latest_attempt(w.signature).confirm_code},
        302,
    ),
    "language switch": Endpoint(
        lambda w: "/i18n/setlang/", lambda w: {"language": "ru", "next": "/"}, 302
    ),
    "workspace sign-in": Endpoint(
        lambda w: "/workspace/account/login/",
        lambda w: {"email": "staff@example.org", "password": ADMIN_PASSWORD, "next": "/admin/"},
        302,
    ),
    "manage: ask for a link": Endpoint(
        lambda w: "/manage/", lambda w: {"email": "signer@example.org"}, 200
    ),
    "manage: change the display": Endpoint(
        lambda w: f"{w.manage_signature}/display/",
        lambda w: {f"{w.signature.public_id}-display": "full"},
        302,
    ),
    "manage: withdraw": Endpoint(lambda w: f"{w.manage_signature}/withdraw/", lambda w: {}, 302),
    "manage: stop updates": Endpoint(
        lambda w: f"/manage/{w.manage_token}/consents/{w.petition.campaign.public_id}/withdraw/",
        lambda w: {},
        302,
    ),
    "manage: download my data": Endpoint(
        lambda w: f"/manage/{w.manage_token}/export/", lambda w: {}, 200
    ),
    "manage: erase me": Endpoint(
        lambda w: f"/manage/{w.manage_token}/erase/", lambda w: {"confirm": "on"}, 302
    ),
}


@pytest.fixture
def world(settings) -> World:
    # A fast hasher: the login is what is tested here, not the hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    User.objects.create_superuser("staff@example.org", "staff@example.org", ADMIN_PASSWORD)
    petition = petition_create(slug="release-now")
    # Consent to updates is recorded on confirming: given on a sister petition, now closed
    # (so that its form adds nothing to the pages).
    sister = petition_create(campaign=petition.campaign)
    signature_create(
        petition=sister, email="signer@example.org", consent_updates=True, confirmed=True
    )
    Petition.objects.filter(pk=sister.pk).update(status=Petition.Status.CLOSED)
    signature = signature_create(petition=petition, email="signer@example.org")
    assert signature.supporter is not None
    mail.outbox.clear()
    return World(petition=petition, signature=signature, supporter=signature.supporter)


def snapshot() -> object:
    """What a forged request could change: signatures, supporters, consents, mail."""
    return (
        sorted(Signature.objects.values_list("pk", "status", "display")),
        sorted(Supporter.objects.values_list("pk", flat=True)),
        sorted(Consent.objects.values_list("pk", "withdrawn_at")),
        len(mail.outbox),
    )


def csrf_cookie(client: Client) -> str:
    """Visit a page with a form, as a person would, and return the CSRF cookie it set."""
    assert client.get("/").status_code == 200
    return client.cookies["csrftoken"].value


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("forgery", ["no cookie, no token", "no token", "another's token"])
def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(
    world, endpoint, forgery, django_capture_on_commit_callbacks
):
    spec = ENDPOINTS[endpoint]
    client = Client(enforce_csrf_checks=True)
    data = spec.data(world)
    if forgery == "no token":
        csrf_cookie(client)
    elif forgery == "another's token":
        csrf_cookie(client)
        data = {**data, "csrfmiddlewaretoken": csrf_cookie(Client(enforce_csrf_checks=True))}
    before = snapshot()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(spec.path(world), data)

    assert response.status_code == 403
    assert "Please try again" in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_post_with_the_csrf_token_works(world, endpoint, django_capture_on_commit_callbacks):
    spec = ENDPOINTS[endpoint]
    client = Client(enforce_csrf_checks=True)
    token = csrf_cookie(client)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(spec.path(world), {**spec.data(world), "csrfmiddlewaretoken": token})

    assert response.status_code == spec.status, response.content[:300]


def test_the_list_names_every_form_that_posts_on_public_pages(world):
    # A reminder with teeth: a new POST form on the campaign page must be added above.
    client = Client()
    html = client.get(f"/c/{world.petition.campaign.slug}/").content.decode()

    actions = {
        action.split("#")[0]
        for action in (
            attrs.get("action") or ""
            for attrs in elements(html, "form")
            if attrs.get("method") == "post"
        )
    }
    covered = {spec.path(world) for spec in ENDPOINTS.values()}
    assert actions <= covered


def test_the_json_sign_api_needs_no_csrf_token_and_sets_no_cookie(world):
    client = Client(enforce_csrf_checks=True)
    csrf_cookie(client)  # even with a CSRF cookie and no token, the API answers

    response = client.post(
        f"/api/v1/petitions/{world.petition.slug}/signatures/",
        {**SIGNER, "email": "api@example.org"},
        content_type="application/json",
    )

    assert response.status_code == 202, response.content
    assert response.cookies == {}
    assert "Set-Cookie" not in response
    assert response["Content-Type"].startswith("application/json")


def test_the_json_sign_api_ignores_a_session_cookie(world):
    # Authentication classes are off: a logged-in staff session gives the API no powers,
    # so a cross-site request riding on it gains nothing.
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="staff@example.org"))

    response = client.post(
        f"/api/v1/petitions/{world.petition.slug}/signatures/",
        {**SIGNER, "email": "api2@example.org"},
        content_type="application/json",
    )

    assert response.status_code == 202
    assert response.cookies == {}
