"""The Django admin cannot be used to do irreversible harm by accident or by guessing:
lockdown needs its own right, signatures and supporters are never hard-deleted from a list
(invalidate or erase instead), and sign-in attempts are limited per client network, per
account from one network, and per account from everywhere."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory

from campaigns.models import Campaign
from petitions.models import Signature, Supporter
from tests.factories import campaign_create, petition_create, signature_create, staff_user_create

pytestmark = pytest.mark.django_db

TITLE = "Free the Kherson Three"
PASSWORD = "correct horse battery staple"
CAMPAIGNS = "/admin/campaigns/campaign/"
SIGNATURES = "/admin/petitions/signature/"
LOGIN = "/admin/login/"


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def lockdown_url(campaign: Campaign) -> str:
    return f"{CAMPAIGNS}{campaign.pk}/lockdown/"


# --- Lockdown needs its own permission ----------------------------------------------------


@pytest.fixture
def campaign() -> Campaign:
    campaign = campaign_create(title=TITLE)
    signature_create(petition=petition_create(campaign=campaign), confirmed=True)
    return campaign


def test_an_editor_who_may_change_campaigns_is_not_offered_the_lockdown(client, campaign):
    editor = staff_user_create(
        superuser=False, permissions=("campaigns.view_campaign", "campaigns.change_campaign")
    )
    client.force_login(editor)

    changelist = client.get(CAMPAIGNS)
    action = client.post(CAMPAIGNS, {"action": "lockdown", "_selected_action": [campaign.pk]})

    assert changelist.status_code == 200
    assert 'value="lockdown"' not in changelist.content.decode()
    assert action.status_code == 200  # "No action selected": the action is not theirs
    assert client.get(lockdown_url(campaign)).status_code == 403
    assert client.post(lockdown_url(campaign), {"confirm_name": TITLE}).status_code == 403
    campaign.refresh_from_db()
    assert campaign.locked_down_at is None


def test_staff_given_the_lockdown_permission_can_lock_down(client, campaign):
    officer = staff_user_create(
        superuser=False,
        permissions=("campaigns.view_campaign", "campaigns.lockdown_campaign"),
    )
    client.force_login(officer)

    offered = client.get(CAMPAIGNS).content.decode()
    response = client.post(lockdown_url(campaign), {"confirm_name": TITLE}, follow=True)

    assert 'value="lockdown"' in offered
    assert "Campaign locked down: 1 signature no longer points to a person." in page_text(response)
    campaign.refresh_from_db()
    assert campaign.locked_down_at is not None


def test_the_lockdown_permission_exists_in_the_database():
    from django.contrib.auth.models import Permission

    permission = Permission.objects.get(
        content_type__app_label="campaigns", codename="lockdown_campaign"
    )

    assert "lock down" in permission.name


# --- No hard delete of signatures or supporters -------------------------------------------


@pytest.mark.parametrize("model", [Signature, Supporter])
def test_no_admin_deletes_signatures_or_supporters(model):
    superuser = staff_user_create()
    request = RequestFactory().get("/admin/")
    request.user = superuser
    model_admin = admin.site._registry.get(model)

    if model_admin is None:
        # Not in the admin at all: no list, so no "delete selected" either.
        assert model is Supporter
        return
    assert model_admin.has_delete_permission(request) is False
    assert "delete_selected" not in model_admin.get_actions(request)


def test_the_signature_list_offers_no_delete_and_the_delete_page_is_refused(client):
    signature = signature_create(confirmed=True)
    client.force_login(staff_user_create())

    changelist = client.get(SIGNATURES).content.decode()
    forced = client.post(
        SIGNATURES, {"action": "delete_selected", "_selected_action": [signature.pk], "post": "yes"}
    )

    assert 'value="delete_selected"' not in changelist
    assert 'value="erase_signers"' in changelist
    assert forced.status_code == 302  # back to the list: not an action here
    assert client.get(f"{SIGNATURES}{signature.pk}/delete/").status_code == 403
    assert Signature.objects.filter(pk=signature.pk).exists()


# --- Erasing people from the signature list -----------------------------------------------


def test_erasing_asks_first_then_erases_the_people_and_keeps_the_rows(client):
    petition = petition_create()
    kept = signature_create(petition=petition, confirmed=True, email="stays@example.org")
    first = signature_create(petition=petition, confirmed=True, email="goes@example.org")
    other = signature_create(confirmed=True, email="goes@example.org")  # same person elsewhere
    client.force_login(staff_user_create())

    asked = client.post(SIGNATURES, {"action": "erase_signers", "_selected_action": [first.pk]})

    assert asked.status_code == 200
    assert "1 person is erased" in page_text(asked)
    assert "Their 2 signatures are withdrawn" in page_text(asked)
    assert Supporter.objects.count() == 2  # asking changed nothing

    done = client.post(
        SIGNATURES,
        {"action": "erase_signers", "_selected_action": [first.pk], "post": "yes"},
        follow=True,
    )

    assert "1 person erased." in page_text(done)
    for signature in (first, other):
        signature.refresh_from_db()
        assert signature.supporter_id is None
        assert signature.status == Signature.Status.WITHDRAWN
    kept.refresh_from_db()
    assert kept.supporter_id is not None
    assert Signature.objects.count() == 3
    assert Supporter.objects.count() == 1


def test_staff_who_may_not_delete_supporters_cannot_erase(client):
    signature = signature_create(confirmed=True)
    client.force_login(
        staff_user_create(
            superuser=False,
            permissions=("petitions.view_signature", "petitions.change_signature"),
        )
    )

    changelist = client.get(SIGNATURES).content.decode()
    client.post(
        SIGNATURES,
        {"action": "erase_signers", "_selected_action": [signature.pk], "post": "yes"},
    )

    assert 'value="erase_signers"' not in changelist
    signature.refresh_from_db()
    assert signature.supporter_id is not None


# --- Sign-in attempts are limited ---------------------------------------------------------


@pytest.fixture
def staff_account(settings):  # type: ignore[no-untyped-def]
    # Dozens of wrong passwords per test: a fast hasher keeps them from taking a minute.
    # The limits are checked before any password is, whatever the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return get_user_model().objects.create_user(
        username="organiser", password=PASSWORD, is_staff=True
    )


def login(client: Client, username: str, password: str, ip: str = "203.0.113.5") -> str:
    response = client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)
    if response.status_code == 302:
        return "signed in"
    return page_text(response)


THROTTLED = "Too many sign-in attempts for this account or from your connection."


def test_after_the_limit_even_the_right_password_is_refused(client, settings, staff_account):
    settings.RATE_LOGIN_ACCOUNT_PER_HOUR = 3
    for _ in range(3):
        assert "Please enter the correct username and password" in login(
            client, "organiser", "wrong"
        )

    answer = login(client, "organiser", PASSWORD)

    assert THROTTLED in answer
    assert "_auth_user_id" not in client.session


def test_under_the_limit_the_right_password_signs_in(client, settings, staff_account):
    settings.RATE_LOGIN_ACCOUNT_PER_HOUR = 3
    login(client, "organiser", "wrong")

    assert login(client, "organiser", PASSWORD) == "signed in"


def test_an_unknown_account_is_answered_exactly_like_a_known_one(settings, staff_account):
    settings.RATE_LOGIN_ACCOUNT_PER_HOUR = 2
    settings.RATE_LOGIN_IP_PER_HOUR = 100
    known = [login(Client(), "organiser", "wrong", ip="203.0.113.7") for _ in range(4)]
    unknown = [login(Client(), "nobody-here", "wrong", ip="203.0.113.8") for _ in range(4)]

    assert known == [text.replace("nobody-here", "organiser") for text in unknown]
    assert THROTTLED not in known[1]
    assert THROTTLED in known[2] and THROTTLED in known[3]


def test_the_account_limit_ignores_case_and_spaces(client, settings, staff_account):
    settings.RATE_LOGIN_ACCOUNT_PER_HOUR = 2
    login(client, "Organiser", "wrong")
    login(client, " ORGANISER ", "wrong")

    assert THROTTLED in login(client, "organiser", PASSWORD)


def test_one_client_ip_cannot_try_many_accounts(settings, staff_account):
    settings.RATE_LOGIN_IP_PER_HOUR = 3
    for n in range(3):
        login(Client(), f"guess{n}", "wrong", ip="198.51.100.9")

    assert THROTTLED in login(Client(), "organiser", PASSWORD, ip="198.51.100.9")
    assert login(Client(), "organiser", PASSWORD, ip="198.51.100.10") == "signed in"


def test_addresses_of_one_ipv6_slash_64_are_one_client(settings, staff_account):
    settings.RATE_LOGIN_IP_PER_HOUR = 3
    for n in range(3):
        login(Client(), f"guess{n}", "wrong", ip=f"2001:db8:5:6::{n + 1:x}")

    # A fresh address in the same /64 is the same client; the next /64 is another one.
    assert THROTTLED in login(Client(), "organiser", PASSWORD, ip="2001:db8:5:6::ffff")
    assert login(Client(), "organiser", PASSWORD, ip="2001:db8:5:7::1") == "signed in"


def test_the_slash_64s_of_one_slash_48_share_a_wider_limit(settings, staff_account):
    settings.RATE_LOGIN_IP_PER_HOUR = 3
    settings.RATE_LOGIN_NETWORK_PER_HOUR = 5
    for n in range(5):
        login(Client(), f"guess{n}", "wrong", ip=f"2001:db8:5:{n:x}::1")

    assert THROTTLED in login(Client(), "organiser", PASSWORD, ip="2001:db8:5:ff::1")
    assert login(Client(), "organiser", PASSWORD, ip="2001:db8:6::1") == "signed in"


def test_strangers_guessing_an_account_do_not_lock_its_owner_out(settings, staff_account):
    settings.RATE_LOGIN_ACCOUNT_PER_HOUR = 3
    for n in range(10):
        for _ in range(3):
            login(Client(), "organiser", "wrong", ip=f"198.51.100.{n}")
        # Each stranger is stopped at the limit for that account from where they are.
        assert THROTTLED in login(Client(), "organiser", PASSWORD, ip=f"198.51.100.{n}")

    assert login(Client(), "organiser", PASSWORD, ip="203.0.113.50") == "signed in"


def test_one_client_hammering_an_account_cannot_lock_its_owner_out(settings, staff_account):
    # Attempts refused by the client's own limits do not count towards the account's
    # total: otherwise 101 tries from one address would lock staff out from everywhere.
    settings.RATE_LOGIN_ACCOUNT_PER_HOUR = 3
    settings.RATE_LOGIN_ACCOUNT_TOTAL_PER_HOUR = 6
    for _ in range(40):
        login(Client(), "organiser", "wrong", ip="198.51.100.66")

    assert THROTTLED in login(Client(), "organiser", PASSWORD, ip="198.51.100.66")
    assert login(Client(), "organiser", PASSWORD, ip="203.0.113.50") == "signed in"


def test_past_the_limit_across_all_clients_the_account_is_refused_everywhere(
    settings, staff_account
):
    settings.RATE_LOGIN_ACCOUNT_TOTAL_PER_HOUR = 6
    for n in range(6):
        assert "Please enter the correct username" in login(
            Client(), "organiser", "wrong", ip=f"198.51.100.{n}"
        )

    assert THROTTLED in login(Client(), "organiser", PASSWORD, ip="203.0.113.50")
    assert login(Client(), "someone-else", "wrong", ip="203.0.113.51") != "signed in"
    assert THROTTLED not in login(Client(), "someone-else", "wrong", ip="203.0.113.52")


def test_an_unknown_account_meets_the_limit_across_clients_like_a_known_one(
    settings, staff_account
):
    settings.RATE_LOGIN_ACCOUNT_TOTAL_PER_HOUR = 2
    known = [login(Client(), "organiser", "wrong", ip=f"198.51.100.{n}") for n in range(4)]
    unknown = [login(Client(), "nobody-here", "wrong", ip=f"198.51.101.{n}") for n in range(4)]

    assert known == [text.replace("nobody-here", "organiser") for text in unknown]
    assert THROTTLED not in known[1]
    assert THROTTLED in known[2] and THROTTLED in known[3]


def test_the_default_limits_keep_strangers_from_locking_staff_out():
    from django.conf import settings as django_settings

    assert django_settings.RATE_LOGIN_ACCOUNT_TOTAL_PER_HOUR >= 100
    assert (
        django_settings.RATE_LOGIN_ACCOUNT_TOTAL_PER_HOUR
        >= 10 * django_settings.RATE_LOGIN_ACCOUNT_PER_HOUR
    )
