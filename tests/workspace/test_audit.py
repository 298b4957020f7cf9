"""The audit log: what members did, recorded with the change, read by owners only, and never
holding a signer's personal data."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import AuditEntry
from campaigns.services import members as services
from campaigns.services.audit import audit_record
from campaigns.services.editing import campaign_publish
from tests.factories import (
    campaign_create,
    member_create,
    organisation_create,
    organiser_create,
    petition_create,
    signature_create,
    workspace_login,
)
from tests.workspace.members_helpers import (
    invite,
    owner_signed_in,
    verified,
)
from workspace.views.audit import audit_details

pytestmark = pytest.mark.django_db

_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def actions(organisation) -> list[str]:
    return list(
        AuditEntry.objects.filter(organisation=organisation)
        .order_by("created_at", "pk")
        .values_list("action", flat=True)
    )


def test_invite_revoke_join_role_change_remove_and_leave_are_recorded():
    organisation = organisation_create()
    owner = verified(member_create(organisation=organisation, role="owner").user)
    revoked = invite(organisation=organisation, email="changed.mind@example.org", inviter=owner)
    services.invitation_revoke(actor=owner, invitation=revoked)
    invitation = invite(organisation=organisation, email="new.person@example.org", inviter=owner)
    person = organiser_create(email="new.person@example.org")
    joined = services.invitation_accept(invitation=invitation, user=person)
    services.member_role_change(actor=owner, membership=joined, role="owner")
    services.member_leave(actor=verified(person), organisation=organisation)
    viewer = member_create(organisation=organisation, role="viewer")
    services.member_remove(actor=owner, membership=viewer)

    assert actions(organisation) == [
        "member.invite",
        "member.invite_revoke",
        "member.invite",
        "member.join",
        "member.role",
        "member.leave",
        "member.remove",
    ]
    entries = list(AuditEntry.objects.filter(organisation=organisation).order_by("created_at"))
    by_action = {entry.action: entry for entry in entries}
    assert by_action["member.invite_revoke"].target == "changed.mind@example.org"
    assert by_action["member.invite_revoke"].actor == owner
    join = by_action["member.join"]
    assert (join.actor, join.actor_label, join.target) == (person, person.email, person.email)
    assert join.details == {"role": "campaigner", "invitation": str(invitation.public_id)}
    role = by_action["member.role"]
    assert (role.actor_label, role.target) == (owner.email, person.email)
    assert role.details == {"from": "campaigner", "to": "owner"}
    assert by_action["member.leave"].actor == person
    assert by_action["member.remove"].target == viewer.user.email
    assert by_action["member.remove"].details == {"role": "viewer"}


def test_a_refused_change_records_nothing():
    organisation = organisation_create()
    owner = member_create(organisation=organisation, role="owner")

    with pytest.raises(services.LastOwner):
        services.member_role_change(actor=verified(owner.user), membership=owner, role="viewer")
    with pytest.raises(services.LastOwner):
        services.member_leave(actor=verified(owner.user), organisation=organisation)

    assert actions(organisation) == []


def test_audit_entries_for_invitations_hold_organisers_addresses_only():
    organisation = organisation_create()
    campaign = campaign_create(organisation=organisation)
    signer = signature_create(
        petition=petition_create(campaign=campaign),
        email="signer.person@example.org",
        name="Signer Person",
        confirmed=True,
    )
    assert signer.pk
    owner = verified(member_create(organisation=organisation, role="owner").user)
    invitation = invite(organisation=organisation, email="new.person@example.org", inviter=owner)
    services.invitation_accept(
        invitation=invitation, user=organiser_create(email="new.person@example.org")
    )
    other = invite(organisation=organisation, email="other.person@example.org", inviter=owner)
    services.invitation_revoke(actor=owner, invitation=other)

    organisers = {owner.email, "new.person@example.org", "other.person@example.org"}
    for entry in AuditEntry.objects.filter(organisation=organisation):
        text = f"{entry.actor_label} {entry.target} {entry.details}"
        assert set(_ADDRESS.findall(text)) <= organisers
        assert "signer" not in text.lower()
        assert "Signer Person" not in text
        # Nothing an address could hide in: the details are roles, ids and flags.
        assert set(entry.details) <= {"role", "invitation", "replaces_pending", "from", "to"}


# --- The page ---------------------------------------------------------------------------------


def audit_url(organisation) -> str:
    return f"/workspace/{organisation.slug}/audit/"


def test_owners_read_the_log_newest_first_with_readable_actions_and_details(client):
    owner = owner_signed_in(client)
    organisation = owner.organisation
    invite(organisation=organisation, email="new.person@example.org", inviter=owner.user)
    member = member_create(organisation=organisation, role="viewer")
    services.member_role_change(actor=verified(owner.user), membership=member, role="campaigner")

    response = client.get(audit_url(organisation))

    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("changed a member&#x27;s role</td>") < page.index("invited a member</td>")
    assert "new.person@example.org" in page
    assert "Role before: Viewer" in page
    assert "Role after: Campaigner" in page
    assert "Role: Campaigner" in page
    assert owner.user.email in page
    assert "ws-table--stack" in page
    assert 'aria-current="page"' in page


def test_the_log_is_filtered_by_action(client):
    owner = owner_signed_in(client)
    organisation = owner.organisation
    invite(organisation=organisation, email="new.person@example.org", inviter=owner.user)
    member = member_create(organisation=organisation, role="viewer")
    services.member_remove(actor=verified(owner.user), membership=member)

    page = client.get(audit_url(organisation), {"action": "member.remove"}).content.decode()

    assert "removed a member" in page
    assert "invited a member</td>" not in page


def test_an_unknown_action_filter_says_so(client):
    owner = owner_signed_in(client)

    response = client.get(audit_url(owner.organisation), {"action": "<script>"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Select a valid choice" in page
    assert "<script>" not in page


def test_the_log_comes_in_bounded_pages(client):
    owner = owner_signed_in(client)
    organisation = owner.organisation
    start = timezone.now() - timedelta(days=1)
    for number in range(60):
        entry = audit_record(
            organisation=organisation,
            actor=owner.user,
            action=AuditEntry.Action.CAMPAIGN_PUBLISH,
            target=f"Campaign number {number:02d}",
        )
        AuditEntry.objects.filter(pk=entry.pk).update(created_at=start + timedelta(minutes=number))

    first = client.get(audit_url(organisation)).content.decode()
    second = client.get(audit_url(organisation), {"page": "2"}).content.decode()
    junk = client.get(audit_url(organisation), {"page": "x"})

    assert first.count("Campaign number") == 50
    assert "Campaign number 59" in first
    assert "Campaign number 09" not in first
    assert second.count("Campaign number") == 10
    assert "Campaign number 00" in second
    assert "Page 2 of 2" in second
    assert junk.status_code == 200


def test_the_log_shows_entries_of_its_own_organisation_only(client):
    owner = owner_signed_in(client)
    elsewhere = member_create(role="owner")
    audit_record(
        organisation=elsewhere.organisation,
        actor=elsewhere.user,
        action=AuditEntry.Action.CAMPAIGN_CLOSE,
        target="Another organisation's campaign",
    )

    page = client.get(audit_url(owner.organisation)).content.decode()

    assert "Another organisation" not in page
    assert "Nothing recorded yet." in page


@pytest.mark.parametrize("role", ["campaigner", "viewer"])
def test_campaigners_and_viewers_may_not_read_the_log(client, role):
    membership = member_create(role=role)
    workspace_login(client, membership.user)

    response = client.get(audit_url(membership.organisation))

    assert response.status_code == 403
    assert "Your role does not allow this" in response.content.decode()


def test_an_outsider_gets_404_for_the_log(client):
    owner_signed_in(client)
    elsewhere = organisation_create()

    assert client.get(audit_url(elsewhere)).status_code == 404


def test_an_owner_reads_the_log_in_russian(client):
    owner = owner_signed_in(client)
    invite(organisation=owner.organisation, email="new.person@example.org", inviter=owner.user)
    client.cookies["django_language"] = "ru"

    page = client.get(audit_url(owner.organisation)).content.decode()

    assert "Журнал действий" in page
    assert "пригласил(а) участника</td>" in page  # noqa: RUF001 - Russian text


def _published_campaign(owner):
    campaign = campaign_create(
        organisation=owner.organisation, title="Free them all", status="draft"
    )
    campaign_publish(actor=verified(owner.user), campaign=campaign)
    return campaign


def test_publishing_shows_the_status_before_and_after_and_no_raw_id(client):
    owner = owner_signed_in(client)
    campaign = _published_campaign(owner)

    page = client.get(audit_url(owner.organisation)).content.decode()

    assert "published a campaign</td>" in page
    assert "Free them all" in page
    assert "Status before: Draft" in page
    assert "Status after: Published" in page
    assert "Role before" not in page
    assert str(campaign.public_id) not in page
    assert "Campaign: " not in page


def test_publishing_shows_the_status_before_in_russian(client):
    owner = owner_signed_in(client)
    campaign = _published_campaign(owner)
    client.cookies["django_language"] = "ru"

    page = client.get(audit_url(owner.organisation)).content.decode()

    assert "Статус до: Черновик" in page
    assert "Статус после: Опубликована" in page
    assert str(campaign.public_id) not in page


def test_a_changed_image_and_edited_fields_read_as_words():
    owner = member_create(role="owner")
    campaign = campaign_create(organisation=owner.organisation, title="Free them all")
    details = {
        "campaign.hero": {"campaign": str(campaign.public_id), "change": "set"},
        "campaign.update": {"campaign": str(campaign.public_id), "fields": ["title", "summary"]},
        "update.send": {"update": str(campaign.public_id), "audience": 12},
    }
    lines = {
        action: audit_details(
            audit_record(
                organisation=owner.organisation,
                actor=owner.user,
                action=action,
                target=campaign.title,
                details=value,
            )
        )
        for action, value in details.items()
    }

    assert lines["campaign.hero"] == [("Change", "a new image")]
    assert lines["campaign.update"][0][0] == "Fields changed"
    assert "set" not in str(lines)
    assert str(campaign.public_id) not in str(lines)
    assert lines["update.send"] == [("Recipients", "12")]
