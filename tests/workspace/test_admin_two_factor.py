"""The Django admin is entered only through the workspace's sign-in and its second factor:
it has no sign-in form of its own, and lets no unverified session in, whatever the account's
flags."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from config.admin_site import SborAdminSite
from tests.factories import (
    admin_login,
    organiser_create,
    staff_user_create,
    totp_code,
    totp_device_create,
    workspace_login,
)

pytestmark = pytest.mark.django_db

LOGIN = "/workspace/account/login/"
TWO_FACTOR = "/workspace/account/two-factor/"
SETUP = "/workspace/account/two-factor/setup/"
PASSWORD = "a long pass phrase"


@pytest.fixture
def superuser():  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_superuser(
        "root@example.org", "root@example.org", PASSWORD
    )


def test_the_admin_site_is_ours():
    assert isinstance(admin.site, SborAdminSite)


def test_a_visitor_is_sent_to_the_workspace_sign_in_and_back(client):
    response = client.get("/admin/petitions/signature/", follow=True)

    assert [url for url, _ in response.redirect_chain] == [
        "/admin/login/?next=/admin/petitions/signature/",
        f"{LOGIN}?next=%2Fadmin%2Fpetitions%2Fsignature%2F",
    ]


def test_the_admin_has_no_sign_in_form_of_its_own(client, superuser):
    response = client.post("/admin/login/", {"username": "root@example.org", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client.session


def test_a_superuser_signed_in_without_an_app_is_sent_to_set_one_up(client, superuser):
    workspace_login(client, superuser, verified=False)

    response = client.get("/admin/", follow=True)

    assert [url for url, _ in response.redirect_chain] == [
        "/admin/login/?next=/admin/",
        f"{TWO_FACTOR}?next=%2Fadmin%2F",
        f"{SETUP}?next=%2Fadmin%2F",
    ]
    assert response.status_code == 200


def test_staff_with_an_app_but_no_code_this_session_are_asked_for_it(client, superuser):
    device = totp_device_create(user=superuser)
    workspace_login(client, superuser, verified=False)

    assert client.get("/admin/").status_code == 302
    response = client.post(TWO_FACTOR, {"code": totp_code(device), "next": "/admin/"})

    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_staff_sign_in_with_password_and_code_and_land_in_the_admin(client, superuser):
    device = totp_device_create(user=superuser)

    first = client.post(
        LOGIN, {"email": "root@example.org", "password": PASSWORD, "next": "/admin/trust/"}
    )
    assert first["Location"] == f"{TWO_FACTOR}?next=%2Fadmin%2Ftrust%2F"
    response = client.post(TWO_FACTOR, {"code": totp_code(device), "next": "/admin/trust/"})

    assert response["Location"] == "/admin/trust/"
    assert client.get("/admin/trust/").status_code == 200


def test_a_verified_session_of_an_account_that_is_not_staff_is_not_let_in(client):
    workspace_login(client, organiser_create())

    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1][0].startswith(LOGIN)
    assert "Site administration" not in response.content.decode()


def test_a_verified_staff_session_goes_straight_on(client):
    admin_login(client, staff_user_create())

    assert client.get("/admin/").status_code == 200
    response = client.get("/admin/login/?next=/admin/trust/")
    assert response["Location"] == "/admin/trust/"


def test_the_admin_login_page_does_not_send_anyone_to_another_site(client):
    admin_login(client, staff_user_create())

    response = client.get("/admin/login/?next=https://evil.example/")

    assert response["Location"] == "/admin/"


@pytest.mark.parametrize(
    ("flags", "is_verified", "allowed"),
    [
        ({"is_active": True, "is_staff": True}, True, True),
        ({"is_active": True, "is_staff": True}, False, False),
        ({"is_active": False, "is_staff": True}, True, False),
        ({"is_active": True, "is_staff": False}, True, False),
    ],
)
def test_the_admin_asks_for_an_active_staff_account_and_a_second_factor(
    flags, is_verified, allowed
):
    user = get_user_model()(username="someone@example.org", **flags)
    user.is_verified = lambda: is_verified  # type: ignore[attr-defined]
    request = RequestFactory().get("/admin/")
    request.user = user

    assert admin.site.has_permission(request) is allowed
