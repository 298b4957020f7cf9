"""Confirmation codes and signed links for sign attempts, and manage-link tokens.

Email identity (normalising, keyed digests of addresses) is ``trust.identity``'s.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.core import signing

CONFIRM_SALT = "sbor.petitions.confirm"
MANAGE_SALT = "sbor.petitions.manage"
# A manage link opens everything stored about a person: it lives one day, not two weeks.
MANAGE_TOKEN_MAX_AGE_SECONDS = 24 * 60 * 60
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: easy to read and type
_CODE_LENGTH = 8


def confirm_code_new() -> str:
    """A fresh random confirmation code (about 39 bits), unrelated to any key or id.

    Random rather than derived from ``SECRET_KEY``: a code mailed before a key rotation
    keeps working, and two attempts can share a code only by chance, which the unique
    constraint on ``SignAttempt`` turns into a redraw.
    """
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))


def confirm_code_display(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def confirm_code_clean(typed: str) -> str:
    """What a person typed, reduced to the code alphabet (spaces, dashes and case ignored)."""
    # Hyphen, en dash and em dash: phones and mail apps swap one for another.
    return re.sub("[\\s\\-\u2013\u2014]", "", typed).upper()


def confirm_code_digest(code: str) -> str:
    """HMAC-SHA256 of a code under the look-up key: a copy of the database alone cannot
    be searched for codes (39 bits would not resist an offline search of a plain hash)."""
    key = settings.SBOR_LOOKUP_KEY.encode()
    return hmac.new(key, f"confirm-code:{code}".encode(), hashlib.sha256).hexdigest()


def confirm_token_make(public_id: str) -> str:
    return signing.dumps(public_id, salt=CONFIRM_SALT)


def _token_read(token: str, *, salt: str, max_age_seconds: int) -> str:
    """The id in a token signed for ``salt``'s purpose.

    Raises ``signing.SignatureExpired`` for an old token and ``signing.BadSignature`` for a
    forged or damaged one, or one made for another purpose.
    """
    value = signing.loads(token, salt=salt, max_age=max_age_seconds)
    if not isinstance(value, str):
        raise signing.BadSignature("unexpected payload")
    return value


def confirm_token_read(token: str, *, max_age_seconds: int) -> str:
    """The sign attempt id in a confirmation token (errors as ``_token_read``)."""
    return _token_read(token, salt=CONFIRM_SALT, max_age_seconds=max_age_seconds)


def manage_token_make(public_id: str) -> str:
    """A "manage my signature" token for a supporter (its own salt: never a confirm link)."""
    return signing.dumps(public_id, salt=MANAGE_SALT)


def manage_token_read(token: str, *, max_age_seconds: int) -> str:
    """The supporter id in a manage token (errors as ``_token_read``)."""
    return _token_read(token, salt=MANAGE_SALT, max_age_seconds=max_age_seconds)
