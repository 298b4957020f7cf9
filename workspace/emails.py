"""The emails the workspace sends: the invitation to join an organisation, and the link to
choose a new password.

``campaigns.services.members.invitation_create`` writes the invitation's outbox row (kind
``workspace_invitation``, recipient ``campaigns.invitation:<id>``, about
``{"invitation": "<id>"}``) in the transaction that creates the invitation; the builder
here runs at send time, reads the invitation then and makes the signed link. An invitation
revoked, accepted or expired before its email goes out is not mailed: the builder returns
``None`` (see docs/emails.md).

The password-reset email (kind ``workspace_password_reset``) names its recipient
``auth.user:<id>``; its builder reads the account's address, and makes the link, when the
email is sent, so a deleted or deactivated account is never mailed.
"""

from __future__ import annotations

from collections.abc import Collection

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from campaigns.models import Invitation, Role
from campaigns.selectors import invitation_is_pending
from campaigns.services.members import INVITATION_EMAIL_KIND, invitation_id_from_ref
from mailer import services as mailer
from mailer.models import OutboxMessage
from mailer.registry import Envelope, email_type_register
from workspace import tokens
from workspace.roles import role_description

WORKSPACE_PASSWORD_RESET = "workspace_password_reset"  # noqa: S105 - an email kind

_USER_REF = "auth.user:"


def user_ref(*, user_id: int) -> str:
    """How outbox rows name an organiser's account as their recipient."""
    return f"{_USER_REF}{user_id}"


def _absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


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
            "accept_url": _absolute_url(reverse("workspace:invitation-accept", args=[token])),
            "expires_at": invitation.expires_at,
        },
    )


def password_reset_envelope(message: OutboxMessage) -> Envelope | None:
    prefix, _sep, user_id = message.recipient_ref.partition(":")
    if f"{prefix}:" != _USER_REF or not user_id.isdigit():
        raise ValueError("not a message to an account")
    user = get_user_model().objects.filter(pk=int(user_id), is_active=True).first()
    if user is None or not user.email:
        return None
    # Made now, not when the row was written: the link lives its whole time from here.
    token = tokens.password_reset_token_make(user=user)
    return Envelope(
        address=user.email,
        context={
            "reset_url": _absolute_url(reverse("workspace:password-reset-confirm", args=[token])),
            "request_url": _absolute_url(reverse("workspace:password-reset")),
            "max_age_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
            "organisation": None,
        },
    )


def email_types_register() -> None:
    """Hand the workspace's email types to the mailer (from ``WorkspaceConfig.ready``)."""
    email_type_register(
        kind=INVITATION_EMAIL_KIND,
        label=_("Invitation to join an organisation"),
        build=invitation_envelope,
    )
    email_type_register(
        kind=WORKSPACE_PASSWORD_RESET,
        label=_("Reset your workspace password"),
        build=password_reset_envelope,
    )


def password_reset_email_queue(*, user_id: int, language: str) -> OutboxMessage:
    """The email with a link to choose a new password. Call inside the transaction."""
    return mailer.outbox_message_queue(
        kind=WORKSPACE_PASSWORD_RESET,
        recipient_ref=user_ref(user_id=user_id),
        language=language,
    )


def users_mail_delete(*, user_ids: Collection[int]) -> int:
    """Delete every outbox row to these accounts (when they are deleted); returns how many."""
    return mailer.outbox_messages_delete(recipient_refs=[user_ref(user_id=pk) for pk in user_ids])
