"""Invitations: the email, the link, and joining, from a new account or an existing one.

A link works once, for its address, until it expires; an expired, used, revoked or forged
link gets one clear page and changes nothing (404 forged, 410 the others).
"""

from __future__ import annotations

import time
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from campaigns.access import NotAllowed, NotAMember
from campaigns.models import AuditEntry, Invitation, Membership
from campaigns.services import members as services
from campaigns.tasks import invitations_expired_delete
from mailer.models import OutboxMessage
from mailer.services import outbox_message_send
from petitions import tokens as petition_tokens
from tests.factories import (
    member_create,
    organisation_create,
    organiser_create,
    post_and_run_tasks,
    tasks_run_on_commit,
    totp_device_create,
    workspace_login,
)
from tests.security.xss import PAYLOADS, assert_inert
from tests.workspace.members_helpers import (
    html_part,
    invite,
    link_path,
    mailed_link_path,
    owner_signed_in,
    the_only_email,
    verified,
)
from workspace import tokens

pytestmark = pytest.mark.django_db

INVALID = "This invitation link is no longer valid"
PASSWORD = "correct horse battery staple"


def nothing_joined(invitation: Invitation) -> None:
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert not Membership.objects.filter(
        organisation=invitation.organisation, user__username="new.person@example.org"
    ).exists()


# --- The email ------------------------------------------------------------------------------


def test_an_owner_invites_by_email_and_the_email_says_who_where_which_role_and_until_when(
    client,
):
    owner = owner_signed_in(client, organisation_create(name="Free & Fair"))
    organisation = owner.organisation

    response = post_and_run_tasks(
        client,
        f"/workspace/{organisation.slug}/members/invite/",
        {"email": "  New.Person@Example.ORG ", "role": "campaigner"},
    )

    assert response.status_code == 302
    (invitation,) = Invitation.objects.filter(organisation=organisation)
    assert invitation.email == "new.person@example.org"
    assert invitation.role == "campaigner"
    assert invitation.invited_by == owner.user
    assert invitation.expires_at - timezone.now() > timedelta(days=6, hours=23)
    message = the_only_email()
    assert message.to == ["new.person@example.org"]
    assert message.subject == "Invitation to join Free & Fair on Sbor"
    until = f"{invitation.expires_at:%b}. {invitation.expires_at.day}, {invitation.expires_at.year}"
    for part in (message.body, html_part(message)):
        assert owner.user.email in part
        assert "as: Campaigner." in part
        assert "Campaigners can write, publish and close campaigns" in part
        assert "The link works once, until" in part
        assert until in part
        assert "/workspace/invitations/" in part
    assert "Free & Fair" in message.body
    assert "Free &amp; Fair" in html_part(message)
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    followed = client.get(response["Location"])
    assert "Invitation sent to new.person@example.org" in followed.content.decode()


def test_the_invitation_email_is_in_the_inviters_language(client):
    owner = owner_signed_in(client)
    client.cookies["django_language"] = "ru"

    post_and_run_tasks(
        client,
        f"/workspace/{owner.organisation.slug}/members/invite/",
        {"email": "new.person@example.org", "role": "viewer"},
    )

    message = the_only_email()
    assert message.subject.startswith("Приглашение")
    assert "Наблюдатель" in message.body
    assert "Наблюдатель" in html_part(message)


def test_the_email_carries_a_link_that_opens_the_invitation(client):
    organisation = organisation_create(name="Russia Behind Bars")
    invite(organisation=organisation, email="new.person@example.org", role="viewer")

    path = mailed_link_path(the_only_email())
    response = client.get(path)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Invitation to join Russia Behind Bars" in page
    assert "as: Viewer." in page
    assert "new.person@example.org" in page


def test_an_invitation_revoked_or_accepted_before_its_email_goes_out_is_not_mailed():
    organisation = organisation_create()
    owner = verified(member_create(organisation=organisation, role="owner").user)
    # Written but not sent: the commit that would send it never comes in a test.
    invitation = services.invitation_create(
        actor=owner, organisation=organisation, email="new.person@example.org", role="viewer"
    )
    message = OutboxMessage.objects.get(recipient_ref=f"campaigns.invitation:{invitation.pk}")
    Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())

    outbox_message_send(message_id=message.pk)

    assert mail.outbox == []
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED


def test_revoking_drops_the_invitations_unsent_email():
    organisation = organisation_create()
    owner = verified(member_create(organisation=organisation, role="owner").user)
    invitation = services.invitation_create(
        actor=owner, organisation=organisation, email="new.person@example.org", role="viewer"
    )

    services.invitation_revoke(actor=owner, invitation=invitation)

    assert not OutboxMessage.objects.filter(
        recipient_ref=f"campaigns.invitation:{invitation.pk}"
    ).exists()


# --- Joining with a new account ---------------------------------------------------------------


def test_a_new_person_creates_an_account_from_the_invitation_and_becomes_a_member(client):
    organisation = organisation_create(name="Russia Behind Bars")
    invitation = invite(organisation=organisation, email="new.person@example.org")
    path = mailed_link_path(the_only_email())

    page = client.get(path).content.decode()
    assert "Create your account" in page
    assert 'autocomplete="new-password"' in page

    response = client.post(path, {"password1": PASSWORD, "password2": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == f"/workspace/{organisation.slug}/"
    user = User.objects.get(username="new.person@example.org")
    assert user.email == "new.person@example.org"
    assert user.check_password(PASSWORD)
    membership = Membership.objects.get(organisation=organisation, user=user)
    assert membership.role == "campaigner"
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert invitation.accepted_by == user
    assert invitation.email == ""
    welcome = client.get(response["Location"]).content.decode()
    assert "Welcome to Russia Behind Bars! You joined as: Campaigner." in welcome


def test_looking_at_an_invitation_changes_nothing(client):
    invitation = invite(organisation=organisation_create(), email="new.person@example.org")

    client.get(link_path(invitation))
    client.get(link_path(invitation))

    nothing_joined(invitation)
    assert not User.objects.filter(username="new.person@example.org").exists()


@pytest.mark.parametrize(
    ("password1", "password2", "message"),
    [
        (PASSWORD, "something else entirely", "The two passwords differ"),
        ("short", "short", "This password is too short"),
        ("new.person@example.org", "new.person@example.org", "too similar"),
        ("", "", "This field is required"),
    ],
)
def test_a_password_that_is_not_good_enough_creates_nothing_and_says_why(
    client, password1, password2, message
):
    invitation = invite(organisation=organisation_create(), email="new.person@example.org")

    response = client.post(link_path(invitation), {"password1": password1, "password2": password2})

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'aria-invalid="true"' in page
    assert "_error" in page  # the error is tied to its field by aria-describedby
    assert not User.objects.filter(username="new.person@example.org").exists()
    nothing_joined(invitation)


def test_an_invited_owner_is_sent_to_set_up_a_second_factor(client):
    organisation = organisation_create()
    invitation = invite(organisation=organisation, email="new.person@example.org", role="owner")

    response = client.post(link_path(invitation), {"password1": PASSWORD, "password2": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == (
        f"{reverse('workspace:two-factor-setup')}?next=%2Fworkspace%2F{organisation.slug}%2F"
    )
    assert Membership.objects.get(user__username="new.person@example.org").role == "owner"


# --- Joining with an existing account -------------------------------------------------------


def test_someone_with_an_account_is_asked_to_sign_in_and_then_joins(client):
    organisation = organisation_create(name="Russia Behind Bars")
    person = organiser_create(email="known.person@example.org")
    invitation = invite(organisation=organisation, email="Known.Person@example.org")
    path = link_path(invitation)

    page = client.get(path).content.decode()
    assert "An account with the address known.person@example.org already exists" in page
    assert "next=%2Fworkspace%2Finvitations%2F" in page
    assert 'name="password1"' not in page
    assert client.post(path, {"password1": PASSWORD, "password2": PASSWORD}).status_code == 200
    nothing_joined(invitation)
    assert not person.memberships.exists()

    workspace_login(client, person, verified=False)
    page = client.get(path).content.decode()
    assert "Join Russia Behind Bars" in page
    response = client.post(path)

    assert response.status_code == 302
    assert response["Location"] == f"/workspace/{organisation.slug}/"
    assert Membership.objects.get(organisation=organisation, user=person).role == "campaigner"


def test_an_existing_owner_with_a_second_factor_goes_to_the_organisation(client):
    organisation = organisation_create()
    person = organiser_create(email="known.person@example.org")
    totp_device_create(user=person)
    invitation = invite(organisation=organisation, email=person.email, role="owner")
    workspace_login(client, person, verified=True)

    response = client.post(link_path(invitation))

    assert response["Location"] == f"/workspace/{organisation.slug}/"


def test_signed_in_with_another_address_the_invitation_is_refused_clearly(client):
    organisation = organisation_create()
    invitation = invite(organisation=organisation, email="new.person@example.org")
    other = organiser_create(email="someone.else@example.org")
    workspace_login(client, other, verified=False)

    shown = client.get(link_path(invitation))
    posted = client.post(link_path(invitation))

    for response in (shown, posted):
        assert response.status_code == 403
        page = response.content.decode()
        assert "You are signed in as someone.else@example.org" in page
        assert "sent to new.person@example.org" in page
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert not other.memberships.exists()


def test_the_service_refuses_an_account_with_another_address():
    invitation = invite(organisation=organisation_create(), email="new.person@example.org")
    other = organiser_create(email="someone.else@example.org")

    with pytest.raises(services.InvitationForAnotherAddress):
        services.invitation_accept(invitation=invitation, user=other)

    invitation.refresh_from_db()
    assert invitation.accepted_at is None


# --- Links that no longer work ----------------------------------------------------------------


def test_an_expired_invitation_says_so_and_changes_nothing(client):
    invitation = invite(organisation=organisation_create(), email="new.person@example.org")
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    shown = client.get(link_path(invitation))
    posted = client.post(link_path(invitation), {"password1": PASSWORD, "password2": PASSWORD})

    for response in (shown, posted):
        assert response.status_code == 410
        assert INVALID in response.content.decode()
    assert not User.objects.filter(username="new.person@example.org").exists()
    nothing_joined(invitation)


def test_an_invitation_cannot_be_accepted_once_its_time_has_passed():
    invitation = invite(organisation=organisation_create(), email="new.person@example.org")
    person = organiser_create(email="new.person@example.org")
    later = timezone.now() + timedelta(days=7, seconds=1)

    with (
        mock.patch("campaigns.services.members.timezone.now", return_value=later),
        pytest.raises(services.InvitationNotPending),
    ):
        services.invitation_accept(invitation=invitation, user=person)

    assert not person.memberships.exists()


def test_a_link_older_than_an_invitation_lives_says_so(client, settings):
    invitation = invite(organisation=organisation_create(), email="new.person@example.org")
    eight_days_ago = time.time() - 8 * 86400
    with mock.patch("django.core.signing.time.time", return_value=eight_days_ago):
        token = tokens.invitation_token_make(public_id=str(invitation.public_id))

    response = client.get(f"/workspace/invitations/{token}/")

    assert response.status_code == 410
    assert INVALID in response.content.decode()


def test_a_used_link_cannot_be_used_again(client):
    organisation = organisation_create()
    invitation = invite(organisation=organisation, email="new.person@example.org")
    path = link_path(invitation)
    client.post(path, {"password1": PASSWORD, "password2": PASSWORD})
    client.logout()

    again = client.post(path, {"password1": PASSWORD, "password2": PASSWORD})
    shown = client.get(path)

    for response in (again, shown):
        assert response.status_code == 410
        assert INVALID in response.content.decode()
    assert User.objects.filter(username="new.person@example.org").count() == 1
    assert Membership.objects.filter(organisation=organisation).count() == 2  # owner + new


def test_accepting_twice_through_the_service_leaves_one_membership():
    organisation = organisation_create()
    invitation = invite(organisation=organisation, email="new.person@example.org")
    person = organiser_create(email="new.person@example.org")
    services.invitation_accept(invitation=invitation, user=person)

    with pytest.raises(services.InvitationNotPending):
        services.invitation_accept(invitation=invitation, user=person)

    assert person.memberships.count() == 1
    assert AuditEntry.objects.filter(action=AuditEntry.Action.MEMBER_JOIN).count() == 1


def test_a_revoked_invitation_link_no_longer_works(client):
    organisation = organisation_create()
    owner = verified(member_create(organisation=organisation, role="owner").user)
    invitation = invite(organisation=organisation, email="new.person@example.org", inviter=owner)
    services.invitation_revoke(actor=owner, invitation=invitation)

    response = client.post(link_path(invitation), {"password1": PASSWORD, "password2": PASSWORD})

    assert response.status_code == 410
    assert INVALID in response.content.decode()
    assert not User.objects.filter(username="new.person@example.org").exists()
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert invitation.email == ""


@pytest.mark.parametrize("kind", ["junk", "tampered", "other purpose", "unknown id"])
def test_a_forged_or_damaged_link_answers_404(client, kind):
    invitation = invite(organisation=organisation_create(), email="new.person@example.org")
    good = link_path(invitation).split("/")[-2]
    token = {
        "junk": "not-a-token",
        "tampered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "other purpose": petition_tokens.confirm_token_make(str(invitation.public_id)),
        "unknown id": None,
    }[kind]
    status = 404
    if token is None:
        # Properly signed, for an invitation that no longer exists (deleted after expiry).
        token = tokens.invitation_token_make(public_id="00000000-0000-0000-0000-000000000000")
        status = 410

    response = client.post(
        f"/workspace/invitations/{token}/", {"password1": PASSWORD, "password2": PASSWORD}
    )

    assert response.status_code == status
    assert INVALID in response.content.decode()
    nothing_joined(invitation)


def test_a_new_invitation_to_the_same_address_replaces_the_pending_one(client):
    organisation = organisation_create()
    owner = verified(member_create(organisation=organisation, role="owner").user)
    first = invite(organisation=organisation, email="new.person@example.org", inviter=owner)
    second = invite(
        organisation=organisation, email="NEW.person@example.org", role="viewer", inviter=owner
    )

    assert client.get(link_path(first)).status_code == 410
    assert client.get(link_path(second)).status_code == 200
    pending = Invitation.objects.filter(
        organisation=organisation, accepted_at__isnull=True, revoked_at__isnull=True
    )
    assert list(pending) == [second]
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.MEMBER_INVITE).first()
    assert entry.details["replaces_pending"] is True


# --- Who may invite, and whom -----------------------------------------------------------------


def test_inviting_a_member_is_refused_with_a_clear_message_and_nothing_stored(client):
    owner = owner_signed_in(client)
    member = member_create(organisation=owner.organisation, role="viewer")

    response = post_and_run_tasks(
        client,
        f"/workspace/{owner.organisation.slug}/members/invite/",
        {"email": member.user.email.upper(), "role": "campaigner"},
    )

    assert response.status_code == 409
    assert "already a member of the organisation" in response.content.decode()
    assert not Invitation.objects.exists()
    assert mail.outbox == []
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"email": "not an address", "role": "viewer"},
        {"email": "a@example.org", "role": "admin"},
        {},
    ],
)
def test_a_bad_invitation_form_says_why_and_stores_nothing(client, data):
    owner = owner_signed_in(client)

    response = post_and_run_tasks(
        client, f"/workspace/{owner.organisation.slug}/members/invite/", data
    )

    assert response.status_code == 400
    assert "Please correct the following" in response.content.decode()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("role", ["campaigner", "viewer"])
def test_only_owners_invite(client, role):
    membership = member_create(role=role)
    workspace_login(client, membership.user)

    response = post_and_run_tasks(
        client,
        f"/workspace/{membership.organisation.slug}/members/invite/",
        {"email": "new.person@example.org", "role": "owner"},
    )

    assert response.status_code == 403
    assert "Your role does not allow this" in response.content.decode()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_the_service_refuses_a_campaigner_and_an_outsider():
    organisation = organisation_create()
    campaigner = verified(member_create(organisation=organisation, role="campaigner").user)
    outsider = verified(member_create(role="owner").user)

    with pytest.raises(NotAllowed):
        services.invitation_create(
            actor=campaigner, organisation=organisation, email="a@example.org", role="viewer"
        )
    with pytest.raises(NotAMember):
        services.invitation_create(
            actor=outsider, organisation=organisation, email="a@example.org", role="viewer"
        )
    assert not Invitation.objects.exists()


def test_an_owner_revokes_a_pending_invitation_from_the_members_page(client):
    owner = owner_signed_in(client)
    organisation = owner.organisation
    invitation = invite(
        organisation=organisation, email="new.person@example.org", inviter=owner.user
    )
    page = client.get(f"/workspace/{organisation.slug}/members/").content.decode()
    assert "new.person@example.org" in page

    response = client.post(
        f"/workspace/{organisation.slug}/members/invitations/{invitation.public_id}/revoke/"
    )

    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    page = client.get(response["Location"]).content.decode()
    assert "The invitation to new.person@example.org was revoked" in page
    assert "No invitation is waiting for an answer." in page
    again = client.post(
        f"/workspace/{organisation.slug}/members/invitations/{invitation.public_id}/revoke/"
    )
    assert again.status_code == 409


def test_another_organisations_invitation_answers_404(client):
    owner = owner_signed_in(client)
    elsewhere = invite(organisation=organisation_create(), email="new.person@example.org")

    response = client.post(
        f"/workspace/{owner.organisation.slug}/members/invitations/{elsewhere.public_id}/revoke/"
    )

    assert response.status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.revoked_at is None


# --- Expired invitations are forgotten --------------------------------------------------------


def test_expired_invitations_are_deleted_with_their_address_and_mail():
    organisation = organisation_create()
    expired = invite(organisation=organisation, email="late@example.org")
    pending = invite(organisation=organisation, email="soon@example.org")
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now())

    assert invitations_expired_delete() == 1

    assert list(Invitation.objects.all()) == [pending]
    assert not OutboxMessage.objects.filter(
        recipient_ref=f"campaigns.invitation:{expired.pk}"
    ).exists()


def test_staff_invite_an_organisations_first_owner_from_a_shell(capsys):
    organisation = organisation_create(slug="rbb", name="Russia Behind Bars")

    with tasks_run_on_commit():
        call_command("organisation_invite", "rbb", "First.Owner@example.org")

    invitation = Invitation.objects.get(organisation=organisation)
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "first.owner@example.org",
        "owner",
        None,
    )
    message = the_only_email()
    assert "You are invited to join Russia Behind Bars on Sbor as: Owner." in message.body
    assert "Invited first.owner@example.org" in capsys.readouterr().out


# --- Hostile text in what the email shows -----------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_the_invitation_email_shows_organisation_and_inviter_names_inert(payload):
    organisation = organisation_create(name=payload)
    inviter = member_create(organisation=organisation, role="owner").user
    inviter.first_name = payload
    inviter.save()

    invite(organisation=organisation, email="new.person@example.org", inviter=inviter)

    message = the_only_email()
    assert "\n" not in message.subject
    assert payload in message.body
    assert_inert(html_part(message), payload, email=True)
    assert escape(payload) in html_part(message)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_the_invitation_page_shows_organisation_and_inviter_names_inert(client, payload):
    organisation = organisation_create(name=payload)
    inviter = member_create(organisation=organisation, role="owner").user
    inviter.first_name = payload
    inviter.save()
    invitation = invite(organisation=organisation, email="new.person@example.org", inviter=inviter)

    page = client.get(link_path(invitation)).content.decode()

    assert_inert(page, payload)
    assert escape(payload) in page


@pytest.mark.parametrize("payload", ["not-a-uuid", "", "1; DROP TABLE", "x" * 200])
def test_a_signed_link_holding_no_invitation_id_answers_404_not_a_500(client, payload):
    token = tokens.invitation_token_make(public_id=payload)

    assert client.get(f"/workspace/invitations/{token}/").status_code == 404
