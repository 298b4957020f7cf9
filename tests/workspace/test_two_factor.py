"""Two-factor authentication: an account with an authenticator app is signed in only by
its password and a code; owners, and every action on signers' personal data, need a
verified session; recovery codes work once; a forged step changes nothing."""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from campaigns.access import Action
from tests.factories import (
    member_create,
    organiser_create,
    recovery_codes_create,
    totp_code,
    totp_device_create,
    workspace_login,
)
from tests.html import elements
from workspace.views.accounts import sign_in

pytestmark = pytest.mark.django_db

LOGIN = "/workspace/account/login/"
TWO_FACTOR = "/workspace/account/two-factor/"
SETUP = "/workspace/account/two-factor/setup/"
CODES = "/workspace/account/two-factor/recovery-codes/"
REMOVE = "/workspace/account/two-factor/remove/"
PASSWORD = "a long pass phrase"
ADDRESS = "owner@example.org"
WRONG_CODE = "This code is not right, or it was used already."


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def signed_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def verified(client: Client) -> bool:
    return "otp_device_id" in client.session


@pytest.fixture(autouse=True)
def _no_device_back_off(settings):  # type: ignore[no-untyped-def]
    # django-otp waits 1, 2, 4 ... seconds after each wrong code; its own test turns it on.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def owner():  # type: ignore[no-untyped-def]
    return member_create(role="owner", user=organiser_create(email=ADDRESS, password=PASSWORD))


@pytest.fixture
def device(owner):  # type: ignore[no-untyped-def]
    return totp_device_create(user=owner.user)


def password_step(client: Client, next_url: str = "") -> str:
    data = {"email": ADDRESS, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    response = client.post(LOGIN, data)
    assert response.status_code == 302
    return str(response["Location"])


# --- Signing in with a second factor ------------------------------------------------------


def test_the_password_alone_does_not_sign_in_an_account_with_an_app(client, owner, device):
    location = password_step(client, next_url="/workspace/account/")

    assert location == f"{TWO_FACTOR}?next=%2Fworkspace%2Faccount%2F"
    assert signed_in_user_id(client) is None
    assert client.get("/workspace/account/").status_code == 302


def test_the_code_from_the_app_signs_in_verified_and_goes_on_to_next(client, owner, device):
    location = password_step(client, next_url="/workspace/account/")
    page = client.get(location).content.decode()
    [field] = elements(page, "input", name="code")
    assert (field["autocomplete"], field["inputmode"]) == ("one-time-code", "numeric")
    assert ADDRESS in page
    pending_key = client.session.session_key

    response = client.post(TWO_FACTOR, {"code": totp_code(device), "next": "/workspace/account/"})

    assert response["Location"] == "/workspace/account/"
    assert signed_in_user_id(client) == str(owner.user.pk)
    assert verified(client)
    assert client.session.session_key != pending_key
    assert client.get("/workspace/account/").status_code == 200


def test_a_wrong_code_is_refused_on_its_field_and_signs_nobody_in(client, owner, device):
    password_step(client)
    right = totp_code(device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    response = client.post(TWO_FACTOR, {"code": wrong})

    assert response.status_code == 422
    assert WRONG_CODE in page_text(response)
    [field] = elements(response.content.decode(), "input", name="code")
    assert field["aria-invalid"] == "true"
    assert "id_code_error" in (field["aria-describedby"] or "")
    assert field["value"] == wrong
    assert signed_in_user_id(client) is None


@pytest.mark.parametrize(
    "code", ["", "abcdef", "12345678901234567890", "1" * 6 + "\x00", "' OR 1=1"]
)
def test_a_forged_code_is_a_message_not_a_500(client, owner, device, code):
    password_step(client)

    response = client.post(TWO_FACTOR, {"code": code})

    assert response.status_code == 422
    assert signed_in_user_id(client) is None


def test_a_code_works_once(owner, device):
    first, second = Client(), Client()
    password_step(first)
    password_step(second)
    code = totp_code(device)

    assert first.post(TWO_FACTOR, {"code": code}).status_code == 302
    refused = second.post(TWO_FACTOR, {"code": code})

    assert refused.status_code == 422
    assert signed_in_user_id(second) is None


def test_a_step_posted_without_a_password_step_changes_nothing(client, owner, device):
    response = client.post(TWO_FACTOR, {"code": totp_code(device)})

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert signed_in_user_id(client) is None
    device.refresh_from_db()
    assert device.last_t == -1  # the code was not even checked


def test_a_step_posted_without_any_code_is_refused_with_the_form(client, owner, device):
    password_step(client)

    response = client.post(TWO_FACTOR, {"something": "else"})

    assert response.status_code == 400
    assert signed_in_user_id(client) is None


def test_the_password_step_is_forgotten_after_a_few_minutes(client, owner, device, monkeypatch):
    password_step(client)
    later = time.time() + 6 * 60
    monkeypatch.setattr(sign_in.time, "time", lambda: later)

    response = client.post(TWO_FACTOR, {"code": totp_code(device)})

    assert response["Location"] == LOGIN
    assert signed_in_user_id(client) is None


def test_a_password_changed_meanwhile_voids_the_password_step(client, owner, device):
    password_step(client)
    owner.user.set_password("changed elsewhere 99")
    owner.user.save()

    response = client.post(TWO_FACTOR, {"code": totp_code(device)})

    assert response["Location"] == LOGIN
    assert signed_in_user_id(client) is None


def test_codes_are_limited_per_account_and_client(client, settings, owner, device):
    settings.RATE_LOGIN_ACCOUNT_PER_HOUR = 2
    password_step(client)
    for _ in range(2):
        client.post(TWO_FACTOR, {"code": "000000"})

    response = client.post(TWO_FACTOR, {"code": totp_code(device)})

    assert response.status_code == 429
    assert "Too many codes were tried" in page_text(response)
    assert signed_in_user_id(client) is None


def test_after_a_wrong_code_the_app_waits_before_it_takes_another(client, settings, owner, device):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    password_step(client)
    client.post(TWO_FACTOR, {"code": "000000"})

    response = client.post(TWO_FACTOR, {"code": totp_code(device)})

    assert response.status_code == 429
    assert "Too many wrong codes. Wait a minute" in page_text(response)
    assert signed_in_user_id(client) is None


# --- Recovery codes -----------------------------------------------------------------------


def test_a_recovery_code_signs_in_once(owner, device):
    recovery_codes_create(user=owner.user, codes=("abcd2345", "efgh6789"))
    first = Client()
    password_step(first)

    response = first.post(TWO_FACTOR, {"recovery_code": " ABCD-2345 "}, follow=True)

    assert signed_in_user_id(first) == str(owner.user.pk)
    assert verified(first)
    assert "You signed in with a recovery code. 1 code is left" in page_text(response)
    assert list(StaticToken.objects.values_list("token", flat=True)) == ["efgh6789"]

    second = Client()
    password_step(second)
    refused = second.post(TWO_FACTOR, {"recovery_code": "abcd2345"})
    assert refused.status_code == 422
    assert "This recovery code is not right, or it was used already." in page_text(refused)
    assert signed_in_user_id(second) is None


def test_the_recovery_form_is_labelled_and_opens_when_it_has_an_error(client, owner, device):
    recovery_codes_create(user=owner.user)
    password_step(client)

    response = client.post(TWO_FACTOR, {"recovery_code": "nope"})

    html = response.content.decode()
    [details] = elements(html, "details")
    assert "open" in details
    [field] = elements(html, "input", name="recovery_code")
    assert elements(html, "label", **{"for": field["id"] or ""})
    assert field["aria-invalid"] == "true"


# --- Setting up an app --------------------------------------------------------------------


def test_the_setup_page_shows_a_qr_code_and_the_key_and_keeps_them_on_reload(client):
    user = organiser_create()
    workspace_login(client, user, verified=False)

    first = client.get(SETUP).content.decode()
    second = client.get(SETUP).content.decode()

    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed
    assert re.search(r"<svg[^>]*viewBox", first)
    [secret] = re.findall(r'<code class="ws-secret"[^>]*>([A-Z2-7 ]+)</code>', first)
    assert len(secret.replace(" ", "")) == 32
    assert secret in second
    assert "otpauth" not in first  # the key is in the QR code, not in a link


def test_a_wrong_first_code_leaves_the_app_unconfirmed(client):
    user = organiser_create()
    workspace_login(client, user, verified=False)
    client.get(SETUP)

    response = client.post(SETUP, {"password": PASSWORD, "code": "000000"})

    assert response.status_code == 422
    assert WRONG_CODE in page_text(response)
    assert not TOTPDevice.objects.get(user=user).confirmed
    assert not verified(client)


def test_the_first_code_confirms_the_app_shows_ten_recovery_codes_and_verifies(client):
    user = organiser_create()
    workspace_login(client, user, verified=False)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=user)
    key_before = client.session.session_key

    response = client.post(
        SETUP, {"password": PASSWORD, "code": totp_code(device), "next": "/workspace/account/"}
    )

    assert response.status_code == 200
    codes = re.findall(
        r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", response.content.decode()
    )
    assert len(codes) == 10
    stored = set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
    assert stored == {code.replace("-", "") for code in codes}
    assert elements(response.content.decode(), "a", href="/workspace/account/")
    device.refresh_from_db()
    assert device.confirmed
    assert verified(client)
    assert client.session.session_key != key_before
    assert "no-store" in response["Cache-Control"]


def test_the_two_factor_step_sends_an_account_without_an_app_to_set_one_up(client):
    workspace_login(client, organiser_create(), verified=False)

    response = client.get(f"{TWO_FACTOR}?next=/workspace/account/")

    assert response["Location"] == f"{SETUP}?next=%2Fworkspace%2Faccount%2F"


def test_a_verified_session_passes_the_two_factor_step(client, owner):
    workspace_login(client, owner.user)

    response = client.get(f"{TWO_FACTOR}?next=/workspace/account/")

    assert response["Location"] == "/workspace/account/"


def test_setting_up_again_when_set_up_asks_for_the_code_instead(client, owner, device):
    workspace_login(client, owner.user, verified=False)

    response = client.get(SETUP)

    assert response["Location"] == TWO_FACTOR
    assert TOTPDevice.objects.filter(user=owner.user).count() == 1


# --- Owners need the second factor for everything -----------------------------------------


def test_an_owner_without_an_app_is_sent_to_set_one_up_and_back(client, owner):
    organisation_page = f"/workspace/{owner.organisation.slug}/"
    password_step(client)  # no app: signed in without a second factor

    to_step = client.get(organisation_page)
    assert to_step["Location"] == f"{TWO_FACTOR}?next=%2Fworkspace%2F{owner.organisation.slug}%2F"
    to_setup = client.get(to_step["Location"])
    assert to_setup["Location"].startswith(SETUP)

    client.get(to_setup["Location"])
    device = TOTPDevice.objects.get(user=owner.user)
    codes = client.post(
        SETUP, {"password": PASSWORD, "code": totp_code(device), "next": organisation_page}
    )
    assert elements(codes.content.decode(), "a", href=organisation_page)

    assert client.get(organisation_page).status_code == 200


def test_an_owner_with_an_app_gives_a_code_then_goes_back(client, owner, device):
    organisation_page = f"/workspace/{owner.organisation.slug}/"
    workspace_login(client, owner.user, verified=False)

    to_step = client.get(organisation_page)
    assert to_step["Location"].startswith(TWO_FACTOR)
    response = client.post(TWO_FACTOR, {"code": totp_code(device), "next": organisation_page})

    assert response["Location"] == organisation_page
    assert client.get(organisation_page).status_code == 200


def test_a_campaigner_without_an_app_works_in_the_workspace(client):
    from campaigns.access import access_check

    membership = member_create(role="campaigner")
    workspace_login(client, membership.user, verified=False)

    assert client.get(f"/workspace/{membership.organisation.slug}/").status_code == 200
    assert access_check(
        user=membership.user, organisation=membership.organisation, action=Action.CAMPAIGN_EDIT
    )


@pytest.mark.parametrize(
    "action",
    [
        Action.SIGNERS_SEARCH,
        Action.SIGNERS_INVALIDATE,
        Action.SIGNERS_EXPORT,
        Action.CAMPAIGN_LOCKDOWN,
        Action.MEMBERS_MANAGE,
    ],
)
def test_an_unverified_owner_is_refused_every_owner_action(owner, action):
    from campaigns.access import SecondFactorNeeded, access_check

    with pytest.raises(SecondFactorNeeded):
        access_check(user=owner.user, organisation=owner.organisation, action=action)


# --- New recovery codes and turning the second factor off ---------------------------------


def test_new_recovery_codes_need_a_verified_session_and_replace_the_old(client, owner, device):
    recovery_codes_create(user=owner.user, codes=("oldcode1",))
    workspace_login(client, owner.user, verified=False)

    refused = client.post(CODES)
    assert refused["Location"].startswith(TWO_FACTOR)
    assert StaticToken.objects.get().token == "oldcode1"

    client.post(TWO_FACTOR, {"code": totp_code(device)})
    response = client.post(CODES)

    assert response.status_code == 200
    assert StaticToken.objects.filter(device__user=owner.user).count() == 10
    assert not StaticToken.objects.filter(token="oldcode1").exists()


def test_turning_two_factor_off_needs_the_password_and_a_code(client, owner, device):
    workspace_login(client, owner.user)

    wrong_password = client.post(REMOVE, {"password": "wrong", "code": totp_code(device)})
    wrong_code = client.post(REMOVE, {"password": PASSWORD, "code": "000000"})

    assert wrong_password.status_code == wrong_code.status_code == 422
    assert "This is not your current password." in page_text(wrong_password)
    assert WRONG_CODE in page_text(wrong_code)
    assert TOTPDevice.objects.filter(user=owner.user).exists()
    device.refresh_from_db()
    assert device.last_t == -1  # no code was spent on a wrong password


def test_turning_two_factor_off_removes_the_app_and_the_codes_and_the_verification(
    client, owner, device
):
    recovery_codes_create(user=owner.user)
    workspace_login(client, owner.user)

    response = client.post(REMOVE, {"password": PASSWORD, "code": totp_code(device)})

    assert response["Location"] == "/workspace/account/"
    assert not TOTPDevice.objects.filter(user=owner.user).exists()
    assert not StaticDevice.objects.filter(user=owner.user).exists()
    assert not verified(client)
    assert signed_in_user_id(client) == str(owner.user.pk)
    assert client.get(f"/workspace/{owner.organisation.slug}/").status_code == 302


def test_a_recovery_code_can_turn_two_factor_off_when_the_phone_is_lost(client, owner, device):
    recovery_codes_create(user=owner.user, codes=("lost1234",))
    workspace_login(client, owner.user)

    response = client.post(REMOVE, {"password": PASSWORD, "code": "lost-1234"})

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=owner.user).exists()


# --- Setting up ends the other sessions; a secret belongs to one session ------------------


def test_the_setup_needs_the_current_password_too(client):
    user = organiser_create(password=PASSWORD)
    workspace_login(client, user, verified=False)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=user)

    response = client.post(SETUP, {"password": "not mine", "code": totp_code(device)})

    assert response.status_code in (400, 422)
    assert "This is not your current password." in page_text(response)
    device.refresh_from_db()
    assert not device.confirmed and not verified(client)


def test_turning_on_two_factor_signs_out_every_other_session(client):
    user = organiser_create(password=PASSWORD)
    old_session = Client()
    workspace_login(old_session, user, verified=False)  # a password-only session elsewhere
    assert old_session.get("/workspace/account/").status_code == 200
    workspace_login(client, user, verified=False)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=user)

    assert client.post(SETUP, {"password": PASSWORD, "code": totp_code(device)}).status_code == 200

    assert client.get("/workspace/account/").status_code == 200  # this one goes on
    assert old_session.get("/workspace/account/").status_code == 302  # sent to sign in
    assert "_auth_user_id" not in old_session.session


def test_removing_two_factor_signs_out_every_other_session(client, owner, device):
    other = Client()
    workspace_login(other, owner.user)
    workspace_login(client, owner.user)
    client.post(REMOVE, {"password": PASSWORD, "code": totp_code(device)})

    assert not TOTPDevice.objects.filter(user=owner.user).exists()
    assert other.get("/workspace/account/").status_code == 302
    assert client.get("/workspace/account/").status_code == 200


def test_another_session_can_neither_see_nor_confirm_this_sessions_secret(client):
    user = organiser_create(password=PASSWORD)
    workspace_login(client, user, verified=False)
    mine = client.get(SETUP).content.decode()
    [my_secret] = re.findall(r'<code class="ws-secret"[^>]*>([A-Z2-7 ]+)</code>', mine)
    my_device = TOTPDevice.objects.get(user=user)

    thief = Client()
    workspace_login(thief, user, verified=False)
    theirs = thief.get(SETUP).content.decode()
    assert my_secret not in theirs  # a fresh secret; the first one is gone
    assert not TOTPDevice.objects.filter(pk=my_device.pk).exists()

    # The first session's code no longer confirms anything, and a session that was never
    # shown a secret confirms none either.
    refused = client.post(SETUP, {"password": PASSWORD, "code": totp_code(my_device)})
    assert refused.status_code in (400, 422)
    blind = Client()
    workspace_login(blind, user, verified=False)
    thief_device = TOTPDevice.objects.get(user=user)
    refused = blind.post(SETUP, {"password": PASSWORD, "code": totp_code(thief_device)})
    assert refused.status_code in (400, 422)
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
