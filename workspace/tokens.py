"""Password-reset links: one URL segment naming the account and holding Django's token.

Django's ``PasswordResetTokenGenerator`` signs the account's id, password hash, last
sign-in, address and the time: the token stops working once the password is changed (or
the account signs in), and after ``PASSWORD_RESET_TIMEOUT``. The account's id goes first,
before a dot, so that the whole link is one segment after ``/reset/``, which the log filter
(``common.logging``) hides.
"""

from __future__ import annotations

import base64
import binascii

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator


def password_reset_token_make(*, user: User) -> str:
    """One URL segment naming the account and holding Django's reset token for it.

    Django's token changes when the password, the last sign-in or the address change, and
    expires after ``PASSWORD_RESET_TIMEOUT``: a link works once and not for long.
    """
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
