"""The emails the workspace sends: the invitation to join an organisation.

``campaigns.services.members.invitation_create`` writes the outbox row (kind
``workspace_invitation``, recipient ``campaigns.invitation:<id>``, about
``{"invitation": "<id>"}``) in the transaction that creates the invitation; the builder
here runs at send time, reads the invitation then and makes the signed link. An invitation
revoked, accepted or expired before its email goes out is not mailed: the builder returns
``None`` (see docs/emails.md).
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from campaigns.models import Invitation, Role
from campaigns.selectors import invitation_is_pending
from campaigns.services.members import INVITATION_EMAIL_KIND, invitation_id_from_ref
from mailer.models import OutboxMessage
from mailer.registry import Envelope, email_type_register
from workspace import tokens
from workspace.roles import role_description


def invitation_envelope(message: OutboxMessage) -> Envelope | None:
    invitation_id = invitation_id_from_ref(message.recipient_ref)
    invitation = (
        Invitation.objects.select_related("organisation", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or not invitation.email:
        return None
    if not invitation_is_pending(invitation=invitation):
        return None
    inviter = invitation.invited_by
    token = tokens.invitation_token_make(public_id=str(invitation.public_id))
    return Envelope(
        address=invitation.email,
        context={
            "organisation": invitation.organisation,
            "inviter": (inviter.get_full_name() or inviter.email) if inviter else "",
            "email": invitation.email,
            "role": Role(invitation.role).label,
            "role_description": role_description(invitation.role),
            "accept_url": settings.SITE_URL + reverse("workspace:invitation-accept", args=[token]),
            "expires_at": invitation.expires_at,
        },
    )


def email_types_register() -> None:
    """Hand the workspace's email types to the mailer (from ``WorkspaceConfig.ready``)."""
    email_type_register(
        kind=INVITATION_EMAIL_KIND,
        label=_("Invitation to join an organisation"),
        build=invitation_envelope,
    )
