"""Field-level encryption of personal data at rest, and sealed (encrypted) link tokens.

Fernet (AES-128-CBC + HMAC-SHA256, from the ``cryptography`` package) under a MultiFernet
built from ``SBOR_ENCRYPTION_KEYS``: the first key encrypts, every listed key decrypts.
Rotation is: put a new key first, run ``manage.py encryption_rotate`` (petitions' command:
it re-encrypts every row of theirs under the first key), then remove the old key.
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.crypto import salted_hmac


@functools.cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "SBOR_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64 bytes each)"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.SBOR_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of ``token``; ``cryptography.fernet.InvalidToken`` if no key opens it."""
    return fernet().decrypt(token.encode("ascii")).decode()


def rotate(token: str) -> str:
    """``token`` re-encrypted under the first (current) key."""
    return fernet().rotate(token.encode("ascii")).decode("ascii")


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; Python code sees the plaintext.

    The empty string is stored as itself (nothing to protect, and "dropped" must be
    recognisable). Encrypted values cannot be filtered or sorted on: look-ups go through a
    keyed hash stored beside the field.
    """

    def get_lookup(self, lookup_name: str) -> Any:
        # A query on ciphertext silently matches nothing (every token has its own IV):
        # make it an error instead. Only "is it stored at all" makes sense here.
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(str(value))


# --- Sealed tokens ----------------------------------------------------------------------------
#
# A token in a link that must say nothing to whoever holds it (a mail provider, a relay,
# anyone the email is forwarded to): its bytes are encrypted and authenticated with
# AES-SIV under a key derived from SECRET_KEY and the token's purpose, so a token made for
# one purpose never opens for another, and rotating SECRET_KEY (old key in
# SECRET_KEY_FALLBACKS) keeps tokens already mailed working. AES-SIV needs no nonce, so the
# token stays short: 16 bytes more than what it seals.


class SealedTokenInvalid(ValueError):
    """Forged, damaged, sealed for another purpose, or under a key no longer listed."""


@functools.lru_cache(maxsize=32)
def _siv(secret: str, purpose: str) -> AESSIV:
    key = salted_hmac(
        "sbor.trust.sealed-token", purpose, secret=secret, algorithm="sha512"
    ).digest()
    return AESSIV(key)


def token_seal(*, purpose: str, data: bytes) -> str:
    """``data`` encrypted for ``purpose``, as URL-safe text (base64, no padding)."""
    sealed = _siv(settings.SECRET_KEY, purpose).encrypt(data, [purpose.encode()])
    return base64.urlsafe_b64encode(sealed).decode("ascii").rstrip("=")


def token_open(*, purpose: str, token: str, max_length: int = 512) -> bytes:
    """The bytes ``token_seal`` sealed for ``purpose``; raises ``SealedTokenInvalid``."""
    if not token or len(token) > max_length or not token.isascii():
        raise SealedTokenInvalid
    try:
        sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise SealedTokenInvalid from None
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        try:
            return _siv(secret, purpose).decrypt(sealed, [purpose.encode()])
        except (InvalidTag, ValueError):
            continue
    raise SealedTokenInvalid
