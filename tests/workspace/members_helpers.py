"""Shared by the members, invitations and audit tests."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail

from campaigns.models import Invitation, Organisation
from campaigns.services import members as services
from tests.factories import member_create, tasks_run_on_commit, workspace_login
from workspace import tokens

_LINK = re.compile(r"https?://[^/\s]+(/workspace/invitations/[^/\s]+/)")


def verified(user: Any) -> Any:
    """The user as after the two-factor step, for calling services directly."""
    user.is_verified = lambda: True
    return user


def owner_signed_in(client: Any, organisation: Organisation | None = None) -> Any:
    """An owner of ``organisation`` (a new one if not given), signed in with a second factor."""
    membership = member_create(organisation=organisation, role="owner")
    workspace_login(client, membership.user)
    return membership


def invite(
    *,
    organisation: Organisation,
    email: str,
    role: str = "campaigner",
    inviter: Any = None,
    language: str = "en",
) -> Invitation:
    """An invitation made through the service by an owner, its email sent."""
    if inviter is None:
        inviter = member_create(organisation=organisation, role="owner").user
    with tasks_run_on_commit():
        return services.invitation_create(
            actor=verified(inviter),
            organisation=organisation,
            email=email,
            role=role,
            language=language,
        )


def link_path(invitation: Invitation) -> str:
    """The invitation link's path, as the email would carry it."""
    token = tokens.invitation_token_make(public_id=str(invitation.public_id))
    return f"/workspace/invitations/{token}/"


def mailed_link_path(message: Any) -> str:
    """The path of the invitation link in a sent email's text."""
    match = _LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def the_only_email() -> Any:
    (message,) = mail.outbox
    return message


def html_part(message: Any) -> str:
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return str(html)
