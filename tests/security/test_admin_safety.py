"""The Django admin cannot be used to do irreversible harm by accident or by guessing:
lockdown needs its own right, and signatures and supporters are never hard-deleted from a
list (invalidate or erase instead). Signing in to it (the workspace's sign-in, limited per
client network, per account from one network and per account from everywhere, then a second
factor) is tested in tests/workspace/test_accounts.py and test_admin_two_factor.py."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.test import RequestFactory

from campaigns.models import Campaign
from petitions.models import Signature, Supporter
from tests.factories import (
    admin_login,
    campaign_create,
    petition_create,
    signature_create,
    staff_user_create,
)

pytestmark = pytest.mark.django_db

TITLE = "Free the Kherson Three"
CAMPAIGNS = "/admin/campaigns/campaign/"
SIGNATURES = "/admin/petitions/signature/"


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
    admin_login(client, editor)

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
    admin_login(client, officer)

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
    admin_login(client, staff_user_create())

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
    admin_login(client, staff_user_create())

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
    admin_login(
        client,
        staff_user_create(
            superuser=False,
            permissions=("petitions.view_signature", "petitions.change_signature"),
        ),
    )

    changelist = client.get(SIGNATURES).content.decode()
    client.post(
        SIGNATURES,
        {"action": "erase_signers", "_selected_action": [signature.pk], "post": "yes"},
    )

    assert 'value="erase_signers"' not in changelist
    signature.refresh_from_db()
    assert signature.supporter_id is not None
