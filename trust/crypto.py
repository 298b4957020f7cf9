"""Field-level encryption of personal data at rest.

Fernet (AES-128-CBC + HMAC-SHA256, from the ``cryptography`` package) under a MultiFernet
built from ``SBOR_ENCRYPTION_KEYS``: the first key encrypts, every listed key decrypts.
Rotation is: put a new key first, run ``manage.py encryption_rotate`` (petitions' command:
it re-encrypts every row of theirs under the first key), then remove the old key.
"""

from __future__ import annotations

import functools
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


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
