"""Signed links of the workspace: the invitation link.

The token names the invitation's ``public_id`` and is signed for this purpose only (its own
salt: a confirmation or manage token never opens an invitation, nor the reverse). It is made
when the email is sent and lives as long as an invitation does; the invitation row decides
the rest: accepted, revoked or expired, the link no longer works.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
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
    return value
