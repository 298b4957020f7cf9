"""Organisers sign in with their email address and password, limited per account and per
client, with the same answer for an account that does not exist; they sign out with a POST;
a forgotten password is reset by a link mailed through the outbox; sessions expire."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher, make_password
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver
from django.utils import timezone

from campaigns.models import Organisation
from campaigns.models.campaigns import RESERVED_ORGANISATION_SLUGS
from mailer.models import OutboxMessage
from petitions.models import Supporter
from tests.factories import (
    member_create,
    organiser_create,
    signature_create,
    tasks_run_on_commit,
    workspace_login,
)
from tests.html import elements
from workspace.models import PasswordResetRequest
from workspace.services import accounts

pytestmark = pytest.mark.django_db

LOGIN = "/workspace/account/login/"
LOGOUT = "/workspace/account/logout/"
RESET = "/workspace/account/password-reset/"
PASSWORD = "a long pass phrase"
ADDRESS = "olga@example.org"
INVALID = "The email address or the password is not right."
THROTTLED = "Too many sign-in attempts for this account or from your connection."


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def without_csrf_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


@pytest.fixture
def olga():  # type: ignore[no-untyped-def]
    return organiser_create(email=ADDRESS, password=PASSWORD)


def login(client: Client, email: str, password: str, ip: str = "203.0.113.5", **data: str) -> str:
    response = client.post(LOGIN, {"email": email, "password": password, **data}, REMOTE_ADDR=ip)
    if response.status_code == 302:
        return "signed in"
    return page_text(response)


def signed_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


# --- Signing in ---------------------------------------------------------------------------


def test_an_organiser_signs_in_with_their_address_in_any_case(client, olga):
    response = client.post(LOGIN, {"email": "  Olga@Example.ORG ", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/workspace/"
    assert signed_in_user_id(client) == str(olga.pk)


def test_the_sign_in_form_is_labelled_and_tells_password_managers_what_each_field_is(client):
    html = client.get(LOGIN).content.decode()

    [email] = elements(html, "input", name="email")
    [password] = elements(html, "input", name="password")
    assert (email["type"], email["autocomplete"]) == ("email", "username")
    assert (password["type"], password["autocomplete"]) == ("password", "current-password")
    for field in (email, password):
        assert elements(html, "label", **{"for": field["id"] or ""})


def test_a_wrong_password_is_refused_and_the_address_kept(client, olga):
    response = client.post(LOGIN, {"email": ADDRESS, "password": "wrong"})

    assert response.status_code == 422
    assert INVALID in page_text(response)
    [email] = elements(response.content.decode(), "input", name="email")
    [password] = elements(response.content.decode(), "input", name="password")
    assert email["value"] == ADDRESS
    assert password.get("value") in (None, "")
    assert email["aria-invalid"] == password["aria-invalid"] == "true"
    assert email["aria-describedby"] == "login-errors"
    assert elements(response.content.decode(), "div", id="login-errors")
    assert signed_in_user_id(client) is None


def test_an_unknown_address_gets_exactly_the_answer_of_a_wrong_password(olga):
    known = Client().post(LOGIN, {"email": ADDRESS, "password": "wrong"})
    unknown = Client().post(LOGIN, {"email": "nobody@example.org", "password": "wrong"})

    assert known.status_code == unknown.status_code == 422
    assert without_csrf_tokens(known.content.decode()) == without_csrf_tokens(
        unknown.content.decode().replace("nobody@example.org", ADDRESS)
    )


class CountingHasher(MD5PasswordHasher):
    runs = 0

    def encode(self, password: str, salt: str) -> str:
        CountingHasher.runs += 1
        return super().encode(password, salt)


def test_an_unknown_address_costs_one_password_hash_like_a_known_one(settings, olga):
    # Otherwise the time the answer takes would tell which addresses have an account.
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    olga.set_password(PASSWORD)
    olga.save()
    counts = []
    for email in (ADDRESS, "nobody@example.org"):
        CountingHasher.runs = 0
        Client().post(LOGIN, {"email": email, "password": "wrong"})
        counts.append(CountingHasher.runs)

    assert counts == [1, 1]


def test_a_deactivated_account_is_answered_like_a_wrong_password(client, olga):
    olga.is_active = False
    olga.save()

    assert INVALID in login(client, ADDRESS, PASSWORD)
    assert signed_in_user_id(client) is None


@pytest.mark.parametrize("email", ["", "not an address", "a@b\x00.org", "x" * 300 + "@ex.org"])
def test_odd_input_on_the_sign_in_form_is_a_message_not_a_500(client, email):
    response = client.post(LOGIN, {"email": email, "password": "x" * 5000})

    assert response.status_code == 422
    assert signed_in_user_id(client) is None


def test_signing_in_gives_the_session_a_new_key(client, olga):
    session = client.session
    session["language_hint"] = "ru"
    session.save()
    before = session.session_key

    login(client, ADDRESS, PASSWORD)

    assert client.session.session_key != before
    assert not Session.objects.filter(session_key=before).exists()


# --- Where signing in leads: only to this site --------------------------------------------


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/workspace/account/", "/workspace/account/"),
        ("/admin/?q=1", "/admin/?q=1"),
        ("https://evil.example/steal", "/workspace/"),
        ("//evil.example/steal", "/workspace/"),
        ("http://testserver/workspace/account/", "http://testserver/workspace/account/"),
        ("javascript:alert(1)", "/workspace/"),
        ("/\\evil.example", "/workspace/"),
    ],
)
def test_next_is_followed_only_within_this_site(client, olga, next_url, expected):
    response = client.post(LOGIN, {"email": ADDRESS, "password": PASSWORD, "next": next_url})

    assert response.status_code == 302
    assert response["Location"] == expected


def test_a_page_that_needs_signing_in_sends_there_and_back(client, olga):
    to_login = client.get("/workspace/account/")
    assert to_login["Location"] == f"{LOGIN}?next=/workspace/account/"

    form = client.get(to_login["Location"]).content.decode()
    assert elements(form, "input", type="hidden", name="next", value="/workspace/account/")
    response = client.post(
        LOGIN, {"email": ADDRESS, "password": PASSWORD, "next": "/workspace/account/"}
    )
    assert response["Location"] == "/workspace/account/"


# --- Limits on signing in (trust.login) ---------------------------------------------------


def test_after_the_limit_even_the_right_password_is_refused(client, settings, olga):
    settings.RATE_LOGIN_ACCOUNT_PER_HOUR = 3
    for _ in range(3):
        assert INVALID in login(client, ADDRESS, "wrong")

    answer = login(client, ADDRESS, PASSWORD)

    assert THROTTLED in answer
    assert signed_in_user_id(client) is None


def test_a_refused_attempt_past_the_limit_answers_429_without_checking_the_password(
    client, settings, olga
):
    settings.RATE_LOGIN_ACCOUNT_PER_HOUR = 1
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    login(client, ADDRESS, "wrong")
    CountingHasher.runs = 0

    response = client.post(
        LOGIN, {"email": ADDRESS, "password": PASSWORD}, REMOTE_ADDR="203.0.113.5"
    )

    assert response.status_code == 429
    assert CountingHasher.runs == 0


def test_under_the_limit_the_right_password_signs_in(client, settings, olga):
    settings.RATE_LOGIN_ACCOUNT_PER_HOUR = 3
    login(client, ADDRESS, "wrong")

    assert login(client, ADDRESS, PASSWORD) == "signed in"


def test_an_unknown_account_meets_the_limit_exactly_like_a_known_one(settings, olga):
    settings.RATE_LOGIN_ACCOUNT_PER_HOUR = 2
    settings.RATE_LOGIN_IP_PER_HOUR = 100
    known = [login(Client(), ADDRESS, "wrong", ip="203.0.113.7") for _ in range(4)]
    unknown = [login(Client(), "nobody@example.org", "wrong", ip="203.0.113.8") for _ in range(4)]

    assert known == [text.replace("nobody@example.org", ADDRESS) for text in unknown]
    assert THROTTLED not in known[1]
    assert THROTTLED in known[2] and THROTTLED in known[3]


def test_the_account_limit_ignores_case_and_spaces(client, settings, olga):
    settings.RATE_LOGIN_ACCOUNT_PER_HOUR = 2
    login(client, "OLGA@example.org", "wrong")
    login(client, " olga@EXAMPLE.org ", "wrong")

    assert THROTTLED in login(client, ADDRESS, PASSWORD)


def test_one_client_ip_cannot_try_many_accounts(settings, olga):
    settings.RATE_LOGIN_IP_PER_HOUR = 3
    for n in range(3):
        login(Client(), f"guess{n}@example.org", "wrong", ip="198.51.100.9")

    assert THROTTLED in login(Client(), ADDRESS, PASSWORD, ip="198.51.100.9")
    assert login(Client(), ADDRESS, PASSWORD, ip="198.51.100.10") == "signed in"


def test_addresses_of_one_ipv6_slash_64_are_one_client(settings, olga):
    settings.RATE_LOGIN_IP_PER_HOUR = 3
    for n in range(3):
        login(Client(), f"guess{n}@example.org", "wrong", ip=f"2001:db8:5:6::{n + 1:x}")

    # A fresh address in the same /64 is the same client; the next /64 is another one.
    assert THROTTLED in login(Client(), ADDRESS, PASSWORD, ip="2001:db8:5:6::ffff")
    assert login(Client(), ADDRESS, PASSWORD, ip="2001:db8:5:7::1") == "signed in"


def test_the_slash_64s_of_one_slash_48_share_a_wider_limit(settings, olga):
    settings.RATE_LOGIN_IP_PER_HOUR = 3
    settings.RATE_LOGIN_NETWORK_PER_HOUR = 5
    for n in range(5):
        login(Client(), f"guess{n}@example.org", "wrong", ip=f"2001:db8:5:{n:x}::1")

    assert THROTTLED in login(Client(), ADDRESS, PASSWORD, ip="2001:db8:5:ff::1")
    assert login(Client(), ADDRESS, PASSWORD, ip="2001:db8:6::1") == "signed in"


def test_strangers_guessing_an_account_do_not_lock_its_owner_out(settings, olga):
    settings.RATE_LOGIN_ACCOUNT_PER_HOUR = 3
    for n in range(10):
        for _ in range(3):
            login(Client(), ADDRESS, "wrong", ip=f"198.51.100.{n}")
        # Each stranger is stopped at the limit for that account from where they are.
        assert THROTTLED in login(Client(), ADDRESS, PASSWORD, ip=f"198.51.100.{n}")

    assert login(Client(), ADDRESS, PASSWORD, ip="203.0.113.50") == "signed in"


def test_one_client_hammering_an_account_cannot_lock_its_owner_out(settings, olga):
    # Attempts refused by the client's own limits do not count towards the account's
    # total: otherwise 101 tries from one address would lock the organiser out everywhere.
    settings.RATE_LOGIN_ACCOUNT_PER_HOUR = 3
    settings.RATE_LOGIN_ACCOUNT_TOTAL_PER_HOUR = 6
    for _ in range(40):
        login(Client(), ADDRESS, "wrong", ip="198.51.100.66")

    assert THROTTLED in login(Client(), ADDRESS, PASSWORD, ip="198.51.100.66")
    assert login(Client(), ADDRESS, PASSWORD, ip="203.0.113.50") == "signed in"


def test_past_the_limit_across_all_clients_the_account_is_refused_everywhere(settings, olga):
    settings.RATE_LOGIN_ACCOUNT_TOTAL_PER_HOUR = 6
    for n in range(6):
        assert INVALID in login(Client(), ADDRESS, "wrong", ip=f"198.51.100.{n}")

    assert THROTTLED in login(Client(), ADDRESS, PASSWORD, ip="203.0.113.50")
    assert THROTTLED not in login(Client(), "someone-else@example.org", "x", ip="203.0.113.52")


def test_strangers_filling_the_accounts_total_do_not_lock_out_a_browser_it_signed_in_from(
    settings, olga
):
    settings.RATE_LOGIN_ACCOUNT_TOTAL_PER_HOUR = 6
    own_browser = Client()
    assert login(own_browser, ADDRESS, PASSWORD, ip="203.0.113.50") == "signed in"
    cookie = own_browser.cookies["sbor_known_browser"]
    assert cookie["httponly"] and int(cookie["max-age"]) > 30 * 24 * 3600
    own_browser.post(LOGOUT, REMOTE_ADDR="203.0.113.50")
    for n in range(6):
        login(Client(), ADDRESS, "wrong", ip=f"198.51.100.{n}")

    # Without the cookie the account is refused everywhere, as before.
    assert THROTTLED in login(Client(), ADDRESS, PASSWORD, ip="203.0.113.51")
    # The browser that signed in before still can, from a network of its own.
    assert login(own_browser, ADDRESS, PASSWORD, ip="203.0.113.52") == "signed in"


def test_a_known_browser_cookie_of_another_account_or_forged_counts_for_nothing(settings, olga):
    settings.RATE_LOGIN_ACCOUNT_TOTAL_PER_HOUR = 6
    other = organiser_create(email="other@example.org", password=PASSWORD)
    theirs = Client()
    assert login(theirs, "other@example.org", PASSWORD, ip="203.0.113.60") == "signed in"
    for n in range(6):
        login(Client(), ADDRESS, "wrong", ip=f"198.51.100.{n}")

    assert THROTTLED in login(theirs, ADDRESS, PASSWORD, ip="203.0.113.61")
    forged = Client()
    forged.cookies["sbor_known_browser"] = "eyJhIjoiMSJ9:forged:signature"
    assert THROTTLED in login(forged, ADDRESS, PASSWORD, ip="203.0.113.62")
    assert other.is_active


def test_a_known_browser_is_still_limited_on_its_own(settings, olga):
    settings.RATE_LOGIN_ACCOUNT_PER_HOUR = 3
    browser = Client()
    assert login(browser, ADDRESS, PASSWORD, ip="203.0.113.50") == "signed in"
    browser.post(LOGOUT, REMOTE_ADDR="203.0.113.50")
    for n in range(3):
        login(browser, ADDRESS, "wrong", ip=f"198.51.100.{n}")

    assert THROTTLED in login(browser, ADDRESS, PASSWORD, ip="198.51.100.9")


def test_the_default_limits_keep_strangers_from_locking_organisers_out():
    assert django_settings.RATE_LOGIN_ACCOUNT_TOTAL_PER_HOUR >= 100
    assert (
        django_settings.RATE_LOGIN_ACCOUNT_TOTAL_PER_HOUR
        >= 10 * django_settings.RATE_LOGIN_ACCOUNT_PER_HOUR
    )


# --- Signing out --------------------------------------------------------------------------


def test_signing_out_takes_a_post_a_get_changes_nothing(client, olga):
    workspace_login(client, olga)

    refused = client.get(LOGOUT)

    assert refused.status_code == 405
    assert signed_in_user_id(client) == str(olga.pk)


def test_signing_out_ends_the_session_and_its_second_factor(client, olga):
    workspace_login(client, olga)
    old_key = client.session.session_key

    response = client.post(LOGOUT, follow=True)

    assert response.redirect_chain[-1][0] == LOGIN
    assert "You have signed out." in page_text(response)
    assert signed_in_user_id(client) is None
    assert "otp_device_id" not in client.session
    assert not Session.objects.filter(session_key=old_key).exists()
    assert client.get("/workspace/account/").status_code == 302


# --- Sessions that expire -----------------------------------------------------------------


def test_a_session_ends_after_the_configured_time_without_use(client, olga):
    login(client, ADDRESS, PASSWORD)
    assert client.get("/workspace/account/").status_code == 200

    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))

    response = client.get("/workspace/account/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_using_the_workspace_keeps_the_session_alive_for_the_configured_time(
    client, settings, olga
):
    login(client, ADDRESS, PASSWORD)
    Session.objects.update(expire_date=timezone.now() + timedelta(minutes=1))

    client.get("/workspace/account/")

    expires = Session.objects.get().expire_date
    lifetime = (expires - timezone.now()).total_seconds()
    assert settings.SESSION_COOKIE_AGE - 60 < lifetime <= settings.SESSION_COOKIE_AGE


def test_the_session_cookie_ends_with_the_browser_and_public_pages_do_not_send_it_back(
    client, olga
):
    response = client.post(LOGIN, {"email": ADDRESS, "password": PASSWORD})
    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["expires"] == "" and cookie["max-age"] == ""
    assert cookie["httponly"]

    public = client.get("/")
    assert django_settings.SESSION_COOKIE_NAME not in public.cookies


def test_the_configured_session_settings_end_idle_sessions():
    from config import settings as project

    assert project.SESSION_COOKIE_AGE == 8 * 3600
    assert project.SESSION_EXPIRE_AT_BROWSER_CLOSE is True


# --- Passwords ----------------------------------------------------------------------------


def test_the_project_hashes_passwords_with_argon2():
    from config import settings as project

    assert project.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=project.PASSWORD_HASHERS):
        assert make_password("a long pass phrase").startswith("argon2$argon2id$")


def test_an_organiser_changes_their_password_and_stays_signed_in_and_verified(client, olga):
    workspace_login(client, olga)

    response = client.post(
        "/workspace/account/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "another long phrase 42",
            "new_password2": "another long phrase 42",
        },
    )

    assert response["Location"] == "/workspace/account/"
    olga.refresh_from_db()
    assert olga.check_password("another long phrase 42")
    assert signed_in_user_id(client) == str(olga.pk)
    assert "otp_device_id" in client.session


def test_a_wrong_current_password_changes_nothing(client, olga):
    workspace_login(client, olga)

    response = client.post(
        "/workspace/account/password/",
        {
            "old_password": "wrong",
            "new_password1": "x long phrase 42",
            "new_password2": "x long phrase 42",
        },
    )

    assert response.status_code == 422
    assert "Your old password was entered incorrectly." in page_text(response)
    olga.refresh_from_db()
    assert olga.check_password(PASSWORD)


# --- Password reset through the outbox ----------------------------------------------------


def reset_link_path(message) -> str:  # type: ignore[no-untyped-def]
    [path] = re.findall(r"https?://[^/\s]+(/workspace/account/reset/[^/\s]+/)", message.body)
    return str(path)


def test_a_reset_link_is_mailed_through_the_outbox_to_the_account_s_address(client, olga):
    mail.outbox.clear()
    with tasks_run_on_commit():
        response = client.post(RESET, {"email": "Olga@Example.org"})

    assert response["Location"] == "/workspace/account/password-reset/sent/"
    row = OutboxMessage.objects.get(kind="workspace_password_reset")
    assert row.recipient_ref == f"auth.user:{olga.pk}"
    assert row.status == OutboxMessage.Status.SENT
    [message] = mail.outbox
    assert message.to == [ADDRESS]
    assert message.subject == "Choose a new password for the Sbor workspace"
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    path = reset_link_path(message)
    assert path in message.body and path in html
    assert "The link works for 2 hours, and only once." in message.body
    assert "Sent by Sbor." in message.body and "Sent by Sbor." in html


def test_the_reset_email_is_written_in_the_language_it_was_asked_in(client, olga):
    mail.outbox.clear()
    with tasks_run_on_commit():
        client.post(RESET, {"email": ADDRESS}, HTTP_ACCEPT_LANGUAGE="ru")

    [message] = mail.outbox
    assert message.subject == "Выберите новый пароль для рабочего пространства Sbor"
    assert "Ссылка работает 2 часа, и только один раз." in message.body


def test_the_mailed_link_sets_a_new_password_once_and_does_not_sign_in(client, olga):
    mail.outbox.clear()
    with tasks_run_on_commit():
        client.post(RESET, {"email": ADDRESS})
    path = reset_link_path(mail.outbox[0])

    form = client.get(path)
    assert form.status_code == 200
    assert form["Referrer-Policy"] == "same-origin"
    assert "no-store" in form["Cache-Control"]
    [new] = elements(form.content.decode(), "input", name="new_password1")
    assert new["autocomplete"] == "new-password"

    weak = client.post(path, {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 422
    assert "This password is too common." in page_text(weak)
    olga.refresh_from_db()
    assert olga.check_password(PASSWORD)

    done = client.post(
        path, {"new_password1": "brand new phrase 7", "new_password2": "brand new phrase 7"}
    )
    assert done["Location"] == LOGIN
    olga.refresh_from_db()
    assert olga.check_password("brand new phrase 7")
    assert signed_in_user_id(client) is None

    again = client.get(path)
    assert again.status_code == 400
    assert "This link does not work" in page_text(again)


@pytest.mark.parametrize(
    "token", ["MQ.bad-token", "garbage", "!!!.x", "OTk5OTk5.cz1h-0123", "MQ", "." * 10]
)
def test_a_forged_reset_link_says_so_and_changes_nothing(client, olga, token):
    response = client.post(
        f"/workspace/account/reset/{token}/",
        {"new_password1": "brand new phrase 7", "new_password2": "brand new phrase 7"},
    )

    assert response.status_code == 400
    assert "This link does not work" in page_text(response)
    olga.refresh_from_db()
    assert olga.check_password(PASSWORD)


def test_an_address_without_an_account_gets_the_same_page_and_nothing_is_queued(client, olga):
    # A signer's address is not an account: organisers and signers share nothing.
    signature_create(email="signer@example.org", confirmed=True)
    mail.outbox.clear()
    OutboxMessage.objects.all().delete()
    answers = []
    for email in (ADDRESS, "signer@example.org", "nobody@example.org"):
        with tasks_run_on_commit():
            answers.append(client.post(RESET, {"email": email}, follow=True))

    known, signer, unknown = (without_csrf_tokens(a.content.decode()) for a in answers)
    assert known == signer == unknown
    assert "If the address belongs to an account" in page_text(answers[0])
    assert [m.to for m in mail.outbox] == [[ADDRESS]]
    assert OutboxMessage.objects.filter(kind="workspace_password_reset").count() == 1
    assert Supporter.objects.count() == 1
    assert not get_user_model().objects.filter(username="signer@example.org").exists()


def test_past_the_limit_per_address_the_answer_is_the_same_and_nothing_is_mailed(settings, olga):
    settings.RATE_PASSWORD_RESET_ADDRESS_PER_HOUR = 2
    mail.outbox.clear()
    answers = []
    for n in range(3):
        with tasks_run_on_commit():
            answers.append(Client().post(RESET, {"email": ADDRESS}, REMOTE_ADDR=f"198.51.100.{n}"))

    assert [a.status_code for a in answers] == [302, 302, 302]
    assert len(mail.outbox) == 2


def test_past_the_limit_per_client_the_form_says_so(client, settings, olga):
    settings.RATE_PASSWORD_RESET_IP_PER_HOUR = 2
    for n in range(2):
        client.post(RESET, {"email": f"someone{n}@example.org"})
    mail.outbox.clear()

    response = client.post(RESET, {"email": ADDRESS})

    assert response.status_code == 429
    assert "Too many requests from your connection." in page_text(response)
    [field] = elements(response.content.decode(), "input", name="email")
    assert field["aria-invalid"] == "true"
    assert not OutboxMessage.objects.exists()


def test_deleting_an_account_deletes_its_unsent_mail(client, olga):
    client.post(RESET, {"email": ADDRESS})
    # The request's task, as a worker runs it; the email's own task would run after commit.
    accounts.password_reset_request_process(request_id=PasswordResetRequest.objects.get().pk)
    assert OutboxMessage.objects.filter(recipient_ref=f"auth.user:{olga.pk}").exists()

    olga.delete()

    assert not OutboxMessage.objects.filter(recipient_ref=f"auth.user:{olga.pk}").exists()


# --- The account page ---------------------------------------------------------------------


def test_the_account_page_shows_the_address_and_the_second_factor(client, olga):
    workspace_login(client, olga)

    text = page_text(client.get("/workspace/account/"))

    assert ADDRESS in text
    assert "On: signing in takes a code from your authenticator app." in text
    assert "Change your password" in text


def test_the_account_page_offers_to_set_up_a_second_factor(client, olga):
    workspace_login(client, olga, verified=False)

    html = client.get("/workspace/account/").content.decode()

    assert elements(html, "a", href="/workspace/account/two-factor/setup/")


# --- Reserved organisation slugs ----------------------------------------------------------


@pytest.mark.parametrize("slug", ["account", "invitations", "Account"])
def test_an_organisation_cannot_take_the_address_of_a_workspace_page(slug):
    organisation = Organisation(slug=slug, name="Sneaky")

    with pytest.raises(ValidationError) as raised:
        organisation.full_clean()

    assert "slug" in raised.value.message_dict


def test_every_workspace_page_outside_an_organisation_has_a_reserved_first_segment():
    from workspace import urls

    def first_segments(patterns: list) -> set[str]:  # type: ignore[type-arg]
        found = set()
        for entry in patterns:
            if isinstance(entry, URLResolver | URLPattern):
                segment = str(entry.pattern).split("/", 1)[0]
                if segment and not segment.startswith("<"):
                    found.add(segment)
        return found

    assert first_segments(urls.urlpatterns) <= RESERVED_ORGANISATION_SLUGS


def test_an_organiser_account_is_a_member_not_a_supporter(client):
    membership = member_create(role="campaigner")

    assert Supporter.objects.count() == 0
    assert membership.user.username == membership.user.email


# --- A reset request does the same work whether or not the account exists --------------


def _reset_work(client, email: str, ip: str) -> tuple[int, list[str], list[str]]:
    """The request's status, the SQL writes it made and the tasks it enqueued."""
    from django.db import connection
    from django.test import TestCase
    from django.test.utils import CaptureQueriesContext

    with (
        CaptureQueriesContext(connection) as queries,
        TestCase.captureOnCommitCallbacks(execute=False) as callbacks,
    ):
        response = client.post(RESET, {"email": email}, REMOTE_ADDR=ip)
    writes = [
        re.sub(r"\d+", "N", query["sql"].split(" ", 3)[0] + " " + query["sql"].split(" ", 3)[2])
        for query in queries.captured_queries
        if query["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    return response.status_code, writes, [repr(callback) for callback in callbacks]


def test_a_reset_request_does_the_same_writes_and_tasks_for_known_and_unknown_addresses(
    client, olga
):
    _reset_work(Client(), "warm-up@example.org", "203.0.113.69")  # makes the day's hash key
    known = _reset_work(client, ADDRESS, "203.0.113.70")
    unknown = _reset_work(Client(), "nobody@example.org", "203.0.113.71")

    assert known[0] == unknown[0] == 302
    assert known[1] == unknown[1] and len(known[1]) >= 1
    assert len(known[2]) == len(unknown[2]) == 1
    assert not OutboxMessage.objects.exists()  # nothing is mailed before the task runs
    assert PasswordResetRequest.objects.count() == 3


def test_the_reset_task_mails_an_account_and_nobody_else_and_runs_once(client, olga):
    client.post(RESET, {"email": " Olga@Example.ORG "}, REMOTE_ADDR="203.0.113.72")
    Client().post(RESET, {"email": "nobody@example.org"}, REMOTE_ADDR="203.0.113.73")
    mine, nobodys = PasswordResetRequest.objects.order_by("pk")

    assert accounts.password_reset_request_process(request_id=mine.pk) is True
    assert accounts.password_reset_request_process(request_id=mine.pk) is False  # claimed
    assert accounts.password_reset_request_process(request_id=nobodys.pk) is False
    assert list(OutboxMessage.objects.values_list("recipient_ref", flat=True)) == [
        f"auth.user:{olga.pk}"
    ]
    assert not PasswordResetRequest.objects.exists()


def test_the_sweep_answers_lost_requests_and_drops_stale_ones(client, olga):
    from datetime import timedelta

    client.post(RESET, {"email": ADDRESS}, REMOTE_ADDR="203.0.113.74")
    Client().post(RESET, {"email": ADDRESS}, REMOTE_ADDR="203.0.113.75")
    lost, stale = PasswordResetRequest.objects.order_by("pk")
    now = timezone.now()
    PasswordResetRequest.objects.filter(pk=lost.pk).update(created_at=now - timedelta(minutes=5))
    PasswordResetRequest.objects.filter(pk=stale.pk).update(created_at=now - timedelta(hours=2))

    assert accounts.password_reset_requests_sweep() == 1

    assert OutboxMessage.objects.count() == 1
    assert not PasswordResetRequest.objects.exists()
