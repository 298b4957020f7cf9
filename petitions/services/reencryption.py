"""Encryption at rest: re-encrypting every stored name, address and code under the current
key (``encryption_rotate``), in batches, safe to run again.
"""

from __future__ import annotations

import logging
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.db.models import TextField, Value
from django.db.models.functions import Cast

from petitions.models import ManageLinkRequest, SignAttempt, Signature, Supporter
from trust import crypto

logger = logging.getLogger(__name__)

# The encrypted columns of the models that hold names, addresses and codes.
_ENCRYPTED_FIELDS = ("email", "name")
_ATTEMPT_ENCRYPTED_FIELDS = ("email", "name", "confirm_code")


def supporters_reencrypt(*, batch_size: int = 500) -> int:
    """Re-encrypt every supporter's email and name under the first key of
    ``SBOR_ENCRYPTION_KEYS``; returns how many supporters were rewritten.

    Values already under that key are left alone, so running it again (or after an
    interrupted run) only does what is left. Each batch is one transaction with its rows
    locked, so a concurrent edit is never overwritten with an older value. Raises
    ``RuntimeError`` naming the row if no listed key opens a value: the batch is rolled
    back and nothing is lost.
    """
    current = Fernet(settings.SBOR_ENCRYPTION_KEYS[0])
    return _rows_reencrypt(
        model=Supporter, fields=_ENCRYPTED_FIELDS, current=current, batch_size=batch_size
    )


def sign_attempts_reencrypt(*, batch_size: int = 500) -> int:
    """As ``supporters_reencrypt``, for the sign attempts awaiting confirmation (their
    email, name and code); returns how many attempts were rewritten."""
    current = Fernet(settings.SBOR_ENCRYPTION_KEYS[0])
    return _rows_reencrypt(
        model=SignAttempt, fields=_ATTEMPT_ENCRYPTED_FIELDS, current=current, batch_size=batch_size
    )


def signatures_reencrypt(*, batch_size: int = 500) -> int:
    """As ``supporters_reencrypt``, for the name kept on each signature; returns how many
    signatures were rewritten."""
    current = Fernet(settings.SBOR_ENCRYPTION_KEYS[0])
    return _rows_reencrypt(
        model=Signature, fields=("name",), current=current, batch_size=batch_size
    )


def _rows_reencrypt(
    *, model: Any, fields: tuple[str, ...], current: Fernet, batch_size: int
) -> int:
    rewritten, after = 0, 0
    while True:
        with transaction.atomic():
            rows = list(
                model.objects.select_for_update()
                .filter(pk__gt=after)
                .order_by("pk")
                # Cast reads the stored token itself, not the decrypted value.
                .annotate(**{f"{name}_token": Cast(name, TextField()) for name in fields})
                .values_list("pk", *(f"{name}_token" for name in fields))[:batch_size]
            )
            for pk, *tokens in rows:
                changes = _tokens_rotate(
                    current=current,
                    row=f"{model._meta.verbose_name} {pk}",
                    tokens=dict(zip(fields, tokens, strict=True)),
                )
                if changes:
                    model.objects.filter(pk=pk).update(**changes)
                    rewritten += 1
        if len(rows) < batch_size:
            break
        after = rows[-1][0]
    return rewritten


def manage_link_requests_reencrypt() -> int:
    """Re-encrypt the pending manage-link requests under the first key; returns how many.

    There are only the requests of the last hour. One that no listed key opens could
    never be answered, so it is deleted rather than stopping the rotation.
    """
    current = Fernet(settings.SBOR_ENCRYPTION_KEYS[0])
    rewritten = 0
    with transaction.atomic():
        rows = list(
            ManageLinkRequest.objects.select_for_update()
            .annotate(email_token=Cast("email", TextField()))
            .values_list("pk", "email_token")
        )
        for pk, token in rows:
            if _is_under(current, token):
                continue
            try:
                rotated = crypto.rotate(token)
            except InvalidToken:
                ManageLinkRequest.objects.filter(pk=pk).delete()
                continue
            ManageLinkRequest.objects.filter(pk=pk).update(
                email=Value(rotated, output_field=TextField())
            )
            rewritten += 1
    return rewritten


def _tokens_rotate(*, current: Fernet, row: str, tokens: dict[str, str]) -> dict[str, Value]:
    changes = {}
    for name, token in tokens.items():
        if not token or _is_under(current, token):
            continue
        try:
            rotated = crypto.rotate(token)
        except InvalidToken:
            raise RuntimeError(f"{row}: no key in SBOR_ENCRYPTION_KEYS opens its {name}") from None
        # A plain TextField value: the model field would encrypt the token once more.
        changes[name] = Value(rotated, output_field=TextField())
    return changes


def _is_under(key: Fernet, token: str) -> bool:
    try:
        key.extract_timestamp(token.encode("ascii"))  # verifies the token's HMAC
    except InvalidToken:
        return False
    return True
