"""The signed token in every update's unsubscribe and preferences links.

It names a person and a campaign by their random public ids, never by an address, and is
signed for this purpose only (its own salt: a confirmation or manage token never passes).
It lives ``UPDATES_LINK_MAX_AGE_DAYS`` (a year by default): people unsubscribe from old
emails, and RFC 8058 asks that the one-click link keep working for a long time.
"""

from __future__ import annotations

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


def subscription_token_make(
    *, supporter_public_id: uuid.UUID, campaign_public_id: uuid.UUID
) -> str:
    return signing.dumps(
        f"{supporter_public_id.hex}.{campaign_public_id.hex}", salt=SUBSCRIPTION_SALT
    )


def subscription_token_max_age_seconds() -> int:
    return int(settings.UPDATES_LINK_MAX_AGE_DAYS) * 24 * 60 * 60


def subscription_token_read(token: str) -> SubscriptionRef:
    """The person and campaign a token names; raises ``SubscriptionTokenInvalid`` or
    ``SubscriptionTokenExpired``."""
    try:
        value = signing.loads(
            token, salt=SUBSCRIPTION_SALT, max_age=subscription_token_max_age_seconds()
        )
    except signing.SignatureExpired:
        raise SubscriptionTokenExpired from None
    except signing.BadSignature:
        raise SubscriptionTokenInvalid from None
    supporter_hex, _, campaign_hex = str(value).partition(".")
    try:
        return SubscriptionRef(
            supporter_public_id=uuid.UUID(hex=supporter_hex),
            campaign_public_id=uuid.UUID(hex=campaign_hex),
        )
    except ValueError:
        raise SubscriptionTokenInvalid from None
