"""The emails the workspace sends about organisers' accounts.

Registered with the mailer (``mailer.registry``) in ``WorkspaceConfig.ready``. Rows name
their recipient ``auth.user:<id>``; the builder reads the account's address when the
email is sent, so a deleted or deactivated account is never mailed. Templates:
``templates/emails/<kind>.subject.txt``, ``.txt`` and ``.html``. See docs/emails.md.
"""

from __future__ import annotations

from collections.abc import Collection

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mailer import services as mailer
from mailer.models import OutboxMessage
from mailer.registry import Envelope, email_type_register
from workspace import tokens

WORKSPACE_PASSWORD_RESET = "workspace_password_reset"  # noqa: S105 - an email kind

_USER_REF = "auth.user:"


def user_ref(*, user_id: int) -> str:
    """How outbox rows name an organiser's account as their recipient."""
    return f"{_USER_REF}{user_id}"


def _absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def password_reset_envelope(message: OutboxMessage) -> Envelope | None:
    prefix, _sep, user_id = message.recipient_ref.partition(":")
    if f"{prefix}:" != _USER_REF or not user_id.isdigit():
        raise ValueError("not a workspace message")
    user = get_user_model().objects.filter(pk=int(user_id), is_active=True).first()
    address = getattr(user, "email", "") if user is not None else ""
    if user is None or not address:
        return None
    # Made now, not when the row was written: the link lives its whole time from here.
    token = tokens.password_reset_token_make(user=user)
    return Envelope(
        address=address,
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
