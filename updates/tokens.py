"""The token in every update's unsubscribe and preferences links.

It names a person and a campaign by their random public ids, never by an address, and
says when it was made. The link travels in a header (``List-Unsubscribe``) that mail
providers, relays and anyone the email is forwarded to can read, so the token is sealed
(``trust.crypto.token_seal``: encrypted and authenticated, its own purpose, so nothing
made for another purpose opens here): its holder learns nothing from it, not even the
person's public id, which would tie together the links of different organisations. 71
characters, URL-safe, so mail programs keep the link whole.

An old token still unsubscribes: stopping mail must always work (RFC 8058 asks the same of
the one-click link). Only the preferences page, which shows more, wants one younger than
``UPDATES_LINK_MAX_AGE_DAYS`` (a year by default); every update carries a fresh one.
"""

from __future__ import annotations

import struct
import time
import uuid
from dataclasses import dataclass

from django.conf import settings

from trust.crypto import SealedTokenInvalid, token_open, token_seal

SUBSCRIPTION_PURPOSE = "sbor.updates.subscription"
# Version 1: one byte, the time it was made (seconds, 4 bytes), the two ids (16 bytes each).
_VERSION = 1
_LAYOUT = struct.Struct(">BI16s16s")


class SubscriptionTokenInvalid(Exception):
    """Forged, damaged, or made for another purpose."""


@dataclass(frozen=True)
class SubscriptionRef:
    supporter_public_id: uuid.UUID
    campaign_public_id: uuid.UUID
    # Genuine but older than its lifetime: it still unsubscribes, it opens nothing else.
    expired: bool


def subscription_token_make(
    *, supporter_public_id: uuid.UUID, campaign_public_id: uuid.UUID, now: float | None = None
) -> str:
    made = int(time.time() if now is None else now)
    data = _LAYOUT.pack(_VERSION, made, supporter_public_id.bytes, campaign_public_id.bytes)
    return token_seal(purpose=SUBSCRIPTION_PURPOSE, data=data)


def subscription_token_max_age_seconds() -> int:
    return int(settings.UPDATES_LINK_MAX_AGE_DAYS) * 24 * 60 * 60


def subscription_token_read(token: str, *, now: float | None = None) -> SubscriptionRef:
    """The person and campaign a token names, and whether it has expired; raises
    ``SubscriptionTokenInvalid`` for anything we did not make for this purpose."""
    try:
        data = token_open(purpose=SUBSCRIPTION_PURPOSE, token=token)
    except SealedTokenInvalid:
        raise SubscriptionTokenInvalid from None
    if len(data) != _LAYOUT.size:
        raise SubscriptionTokenInvalid
    version, made, supporter, campaign = _LAYOUT.unpack(data)
    if version != _VERSION:
        raise SubscriptionTokenInvalid
    age = (time.time() if now is None else now) - made
    return SubscriptionRef(
        supporter_public_id=uuid.UUID(bytes=supporter),
        campaign_public_id=uuid.UUID(bytes=campaign),
        expired=age > subscription_token_max_age_seconds(),
    )
