"""Signed links of the workspace: the invitation link and the password-reset link.

The invitation token names the invitation's ``public_id`` and is signed for this purpose
only (its own salt: a confirmation or manage token never opens an invitation, nor the
reverse). It is made when the email is sent and lives as long as an invitation does; the
invitation row decides the rest: accepted, revoked or expired, the link no longer works.

The password-reset token is Django's ``PasswordResetTokenGenerator``'s, which signs the
account's id, password hash, last sign-in, address and the time: it stops working once the
password is changed (or the account signs in), and after ``PASSWORD_RESET_TIMEOUT``. The
account's id goes first, before a dot, so that the whole link is one segment after
``/reset/``, which the log filter (``common.logging``) hides.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core import signing

INVITATION_SALT = "sbor.workspace.invitation"


def invitation_token_make(*, public_id: str) -> str:
    return signing.dumps(public_id, salt=INVITATION_SALT)


def invitation_token_read(token: str) -> str:
    """The invitation's public id in a token.

    Raises ``signing.SignatureExpired`` for a token older than an invitation lives, and
    ``signing.BadSignature`` for a forged or damaged one, or one made for another purpose.
    """
    value = signing.loads(
        token, salt=INVITATION_SALT, max_age=timedelta(days=settings.INVITATION_DAYS)
    )
    if not isinstance(value, str):
        raise signing.BadSignature("unexpected payload")
    try:
        uuid.UUID(value)
    except ValueError:
        # Signed with our key but not an invitation's id (a token of another kind, or a
        # bug): as unknown as a forged one, never a 500 further on.
        raise signing.BadSignature("unexpected payload") from None
    return value


def password_reset_token_make(*, user: User) -> str:
    """One URL segment naming the account and holding Django's reset token for it."""
    uid = base64.urlsafe_b64encode(str(user.pk).encode()).decode().rstrip("=")
    return f"{uid}.{default_token_generator.make_token(user)}"


def password_reset_user(*, token: str) -> User | None:
    """The active account the reset token is valid for, or None (forged, used, expired)."""
    uid, _, django_token = token.partition(".")
    try:
        user_id = int(base64.urlsafe_b64decode(uid + "=" * (-len(uid) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, django_token):
        return None
    return user
