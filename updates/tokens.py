"""The signed token in every update's unsubscribe and preferences links.

It names a person and a campaign by their random public ids (32 bytes, base64), never by
an address, and is signed with a timestamp for this purpose only (its own salt: a
confirmation or manage token never passes). It lives ``UPDATES_LINK_MAX_AGE_DAYS`` (a
year by default): people unsubscribe from old emails, and RFC 8058 asks that the one-click
link keep working for a long time. About 95 characters, so mail programs keep the link
whole.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

SUBSCRIPTION_SALT = "sbor.updates.subscription"


class SubscriptionTokenInvalid(Exception):
    """Forged, damaged, or made for another purpose."""


class SubscriptionTokenExpired(SubscriptionTokenInvalid):
    """Genuine but older than its lifetime."""


@dataclass(frozen=True)
class SubscriptionRef:
    supporter_public_id: uuid.UUID
    campaign_public_id: uuid.UUID


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SUBSCRIPTION_SALT)


def subscription_token_make(
    *, supporter_public_id: uuid.UUID, campaign_public_id: uuid.UUID
) -> str:
    ids = supporter_public_id.bytes + campaign_public_id.bytes
    return _signer().sign(base64.urlsafe_b64encode(ids).decode().rstrip("="))


def subscription_token_max_age_seconds() -> int:
    return int(settings.UPDATES_LINK_MAX_AGE_DAYS) * 24 * 60 * 60


def subscription_token_read(token: str) -> SubscriptionRef:
    """The person and campaign a token names; raises ``SubscriptionTokenInvalid`` or
    ``SubscriptionTokenExpired``."""
    try:
        value = _signer().unsign(token, max_age=subscription_token_max_age_seconds())
    except signing.SignatureExpired:
        raise SubscriptionTokenExpired from None
    except signing.BadSignature:
        raise SubscriptionTokenInvalid from None
    try:
        ids = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise SubscriptionTokenInvalid from None
    if len(ids) != 32:
        raise SubscriptionTokenInvalid
    return SubscriptionRef(
        supporter_public_id=uuid.UUID(bytes=ids[:16]), campaign_public_id=uuid.UUID(bytes=ids[16:])
    )
