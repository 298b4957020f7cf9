"""The members page: who sees what, changing roles, removing, leaving; the last owner stays."""

from __future__ import annotations

import threading
import time
from typing import Any
from unittest import mock

import pytest
from django.db import connection

from campaigns.access import NotAllowed, NotAMember
from campaigns.models import AuditEntry, Membership
from campaigns.services import audit as audit_services
from campaigns.services import members as services
from tests.factories import member_create, organisation_create, organiser_create, workspace_login
from tests.workspace.members_helpers import (
    invite,
    owner_signed_in,
    verified,
)

pytestmark = pytest.mark.django_db

LAST_OWNER = "An organisation must keep at least one owner"


def members_url(membership: Membership) -> str:
    return f"/workspace/{membership.organisation.slug}/members/"


def role_url(of: Membership, target: Membership) -> str:
    return f"{members_url(of)}{target.public_id}/role/"


def remove_url(of: Membership, target: Membership) -> str:
    return f"{members_url(of)}{target.public_id}/remove/"


def role_of(membership: Membership) -> str:
    membership.refresh_from_db()
    return membership.role


# --- Who sees what -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["campaigner", "viewer"])
def test_campaigners_and_viewers_see_names_and_roles_but_change_nothing(client, role):
    organisation = organisation_create()
    owner = member_create(organisation=organisation, role="owner")
    owner.user.first_name, owner.user.last_name = "Anna", "Karenina"
    owner.user.save()
    me = member_create(organisation=organisation, role=role)
    invite(organisation=organisation, email="pending.person@example.org", inviter=owner.user)
    workspace_login(client, me.user, verified=False)

    response = client.get(members_url(me))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Anna Karenina" in page
    assert "Owner" in page
    assert owner.user.email not in page
    assert "pending.person@example.org" not in page
    assert "Invite someone" not in page
    assert "/role/" not in page
    assert "/remove/" not in page
    assert "Leave " in page


def test_owners_see_addresses_invitations_and_the_forms(client):
    owner = owner_signed_in(client)
    other = member_create(organisation=owner.organisation, role="viewer")
    invite(organisation=owner.organisation, email="pending.person@example.org", inviter=owner.user)

    page = client.get(members_url(owner)).content.decode()

    assert other.user.email in page
    assert "pending.person@example.org" in page
    assert "Invite someone" in page
    assert role_url(owner, other) in page
    assert remove_url(owner, other) in page
    assert remove_url(owner, owner) not in page  # oneself: "leave" instead
    # Every control has a label; the per-row ones name the member.
    assert f'<label for="role-{other.public_id}"' in page
    assert f'aria-label="Change role: {other.user.email}"' in page
    assert 'class="ws-table ws-table--stack"' in page


def test_an_outsider_gets_404_for_the_members_page(client):
    owner = owner_signed_in(client)
    elsewhere = member_create(role="viewer")

    assert client.get(members_url(elsewhere)).status_code == 404
    assert client.get(members_url(owner)).status_code == 200


# --- Roles -------------------------------------------------------------------------------------


def test_an_owner_changes_a_members_role(client):
    owner = owner_signed_in(client)
    member = member_create(organisation=owner.organisation, role="viewer")

    response = client.post(role_url(owner, member), {"role": "campaigner"})

    assert response.status_code == 302
    assert role_of(member) == "campaigner"
    page = client.get(response["Location"]).content.decode()
    assert f"{member.user.email} is now: Campaigner." in page


def test_an_unknown_role_is_refused_and_nothing_changes(client):
    owner = owner_signed_in(client)
    member = member_create(organisation=owner.organisation, role="viewer")

    response = client.post(role_url(owner, member), {"role": "superuser"})

    assert response.status_code == 400
    assert "Choose one of the roles." in response.content.decode()
    assert role_of(member) == "viewer"
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("role", ["campaigner", "viewer"])
def test_only_owners_change_roles_or_remove_members(client, role):
    organisation = organisation_create()
    owner = member_create(organisation=organisation, role="owner")
    me = member_create(organisation=organisation, role=role)
    workspace_login(client, me.user)

    promoted = client.post(role_url(me, me), {"role": "owner"})
    removed = client.post(remove_url(me, owner))

    assert promoted.status_code == 403
    assert removed.status_code == 403
    assert role_of(me) == role
    assert role_of(owner) == "owner"


def test_another_organisations_member_answers_404(client):
    owner = owner_signed_in(client)
    elsewhere = member_create(role="viewer")

    changed = client.post(role_url(owner, elsewhere), {"role": "owner"})
    removed = client.post(remove_url(owner, elsewhere))
    shown = client.get(remove_url(owner, elsewhere))

    assert (changed.status_code, removed.status_code, shown.status_code) == (404, 404, 404)
    assert role_of(elsewhere) == "viewer"


def test_a_sequential_id_is_not_a_member_url(client):
    owner = owner_signed_in(client)

    response = client.post(f"{members_url(owner)}{owner.pk}/role/", {"role": "viewer"})

    assert response.status_code == 404


def test_the_last_owner_cannot_be_demoted(client):
    owner = owner_signed_in(client)

    response = client.post(role_url(owner, owner), {"role": "viewer"})

    assert response.status_code == 409
    assert LAST_OWNER in response.content.decode()
    assert role_of(owner) == "owner"
    assert not AuditEntry.objects.exists()


def test_with_another_owner_an_owner_can_step_down(client):
    owner = owner_signed_in(client)
    member_create(organisation=owner.organisation, role="owner")

    response = client.post(role_url(owner, owner), {"role": "campaigner"})

    assert response.status_code == 302
    assert role_of(owner) == "campaigner"
    assert "Invite someone" not in client.get(response["Location"]).content.decode()


def test_the_services_check_the_actor_themselves():
    organisation = organisation_create()
    target = member_create(organisation=organisation, role="viewer")
    campaigner = verified(member_create(organisation=organisation, role="campaigner").user)
    outsider = verified(member_create(role="owner").user)

    with pytest.raises(NotAllowed):
        services.member_role_change(actor=campaigner, membership=target, role="owner")
    with pytest.raises(NotAMember):
        services.member_role_change(actor=outsider, membership=target, role="owner")
    with pytest.raises(NotAMember):
        services.member_remove(actor=outsider, membership=target)
    assert role_of(target) == "viewer"


def test_an_owner_without_a_second_factor_changes_nothing(client):
    owner = member_create(role="owner")
    member = member_create(organisation=owner.organisation, role="viewer")
    workspace_login(client, owner.user, verified=False)

    response = client.post(role_url(owner, member), {"role": "owner"})

    assert response.status_code == 302
    assert "two-factor" in response["Location"]
    assert role_of(member) == "viewer"


# --- Removing and leaving ------------------------------------------------------------------------


def test_an_owner_removes_a_member_after_confirming(client):
    owner = owner_signed_in(client)
    member = member_create(organisation=owner.organisation, role="campaigner")

    asked = client.get(remove_url(owner, member))
    assert asked.status_code == 200
    assert f"Remove {member.user.email}?" in asked.content.decode()
    assert Membership.objects.filter(pk=member.pk).exists()

    response = client.post(remove_url(owner, member))

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()
    page = client.get(response["Location"]).content.decode()
    assert f"{member.user.email} is no longer a member of the organisation." in page
    # The account stays; only the membership goes.
    member.user.refresh_from_db()


def test_removing_oneself_goes_to_leaving(client):
    owner = owner_signed_in(client)

    response = client.get(remove_url(owner, owner))

    assert response.status_code == 302
    assert response["Location"] == f"{members_url(owner)}leave/"


def test_the_last_owner_cannot_be_removed():
    organisation = organisation_create()
    owner = member_create(organisation=organisation, role="owner")

    with pytest.raises(services.LastOwner):
        services.member_remove(actor=verified(owner.user), membership=owner)

    assert role_of(owner) == "owner"


def test_a_member_leaves_after_confirming(client):
    organisation = organisation_create(name="Russia Behind Bars")
    member_create(organisation=organisation, role="owner")
    me = member_create(organisation=organisation, role="viewer")
    workspace_login(client, me.user, verified=False)

    asked = client.get(f"{members_url(me)}leave/")
    assert "Leave Russia Behind Bars?" in asked.content.decode()
    assert Membership.objects.filter(pk=me.pk).exists()

    response = client.post(f"{members_url(me)}leave/")

    assert response.status_code == 302
    assert response["Location"] == "/workspace/"
    assert not Membership.objects.filter(pk=me.pk).exists()
    assert "You left Russia Behind Bars." in client.get("/workspace/").content.decode()
    assert client.get(members_url(me)).status_code == 404


def test_the_last_owner_cannot_leave(client):
    owner = owner_signed_in(client)
    member_create(organisation=owner.organisation, role="campaigner")

    asked = client.get(f"{members_url(owner)}leave/")
    response = client.post(f"{members_url(owner)}leave/")

    assert "You are the organisation's only owner" in asked.content.decode()
    assert 'type="submit" class="button button--primary"' not in asked.content.decode()
    assert response.status_code == 409
    assert "only owner" in response.content.decode()
    assert role_of(owner) == "owner"
    assert not AuditEntry.objects.exists()


def test_an_owner_leaves_when_another_owner_stays(client):
    owner = owner_signed_in(client)
    member_create(organisation=owner.organisation, role="owner")

    response = client.post(f"{members_url(owner)}leave/")

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=owner.pk).exists()


def test_leaving_an_organisation_one_is_not_in_answers_404(client):
    me = member_create(role="viewer")
    elsewhere = organisation_create()
    workspace_login(client, me.user, verified=False)

    assert client.post(f"/workspace/{elsewhere.slug}/members/leave/").status_code == 404


# --- Two owners at the same moment -------------------------------------------------------------


def _slow_audit(*args: Any, **kwargs: Any) -> Any:
    # Holds the transaction open after the check, so that the other thread's check comes
    # while this one has not committed: without the lock both would pass.
    entry = audit_services.audit_record(*args, **kwargs)
    time.sleep(0.3)
    return entry


def _concurrently(*calls: Any) -> list[BaseException | None]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[BaseException | None] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            calls[index]()
        except BaseException as error:  # recorded for the test to look at
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["demote", "remove", "leave"])
def test_two_owners_acting_at_once_leave_the_organisation_one_owner(change):
    organisation = organisation_create()
    first = member_create(organisation=organisation, role="owner")
    second = member_create(organisation=organisation, role="owner")

    def act(actor: Membership, other: Membership) -> Any:
        user = verified(actor.user)
        if change == "demote":
            return lambda: services.member_role_change(actor=user, membership=other, role="viewer")
        if change == "remove":
            return lambda: services.member_remove(actor=user, membership=other)
        return lambda: services.member_leave(actor=user, organisation=organisation)

    with mock.patch.object(services, "audit_record", _slow_audit):
        outcomes = _concurrently(act(first, second), act(second, first))

    assert sorted(type(outcome).__name__ for outcome in outcomes) in (
        ["LastOwner", "NoneType"],
        ["NoneType", "NotAllowed"],
        ["NoLongerAMember", "NoneType"],
    )
    owners = Membership.objects.filter(organisation=organisation, role="owner")
    assert owners.count() == 1


def test_a_person_is_named_by_their_account_not_a_signers_data():
    user = organiser_create(email="anna@example.org")

    assert services.account_label(user) == "anna@example.org"


# --- Who sees members' addresses ----------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "campaigner"])
def test_members_who_are_not_owners_see_colleagues_addresses_masked(client, role):
    owner = member_create(role="owner", user=organiser_create(email="anna.owner@example.org"))
    me = member_create(
        organisation=owner.organisation,
        role=role,
        user=organiser_create(email="me.myself@example.org"),
    )
    workspace_login(client, me.user, verified=False)

    page = client.get(members_url(me)).content.decode()

    assert "anna.owner@example.org" not in page
    assert "a•••@example.org" in page
    assert "me.myself@example.org" in page  # their own address, in full


def test_owners_see_every_members_address(client):
    owner = member_create(role="owner")
    viewer = member_create(
        organisation=owner.organisation, role="viewer", user=organiser_create(email="v@example.org")
    )
    workspace_login(client, owner.user)

    page = client.get(members_url(owner)).content.decode()

    assert viewer.user.email in page
