"""Hard or soft: how a bounce is classified, provider by provider.

anymail normalises the event type but not the kind of bounce: Postmark's "SoftBounce" and
"HardBounce" both arrive as ``bounced``. Where the provider's payload says which it is,
that decides (each branch cites the field the provider documents); otherwise the SMTP
status in the provider's MTA response does (RFC 3463: class 5 is permanent, class 4
transient); otherwise the kind is unknown, which counts as soft.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from anymail.signals import AnymailTrackingEvent

HARD = "hard"
SOFT = "soft"
UNKNOWN = "unknown"

# Postmark's bounce "Type" (and, on SubscriptionChange, "SuppressionReason"). anymail
# turns its "Transient" and "DnsError" into deferrals, which are not bounces.
_POSTMARK = {"HardBounce": HARD, "SoftBounce": SOFT}
# Amazon SES: bounce.bounceType.
_SES = {"Permanent": HARD, "Transient": SOFT}
# SendGrid: the bounce event's "type" ("blocked": the server refused it for now).
_SENDGRID = {"bounce": HARD, "blocked": SOFT}
# Mailgun: a permanent failure is hard, except "old": Mailgun gave up after retrying a
# temporary failure for hours (the mailbox was full, the server away).
_MAILGUN_SOFT_REASONS = {"old"}

# "5.1.1" (enhanced status code) or a bare reply code "550" at a word boundary.
_ENHANCED = re.compile(r"(?<![\d.])([245])\.\d{1,3}\.\d{1,3}(?![\d.])")
_REPLY = re.compile(r"(?<![\d.])([245])\d\d(?![\d.])")


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(mapping, Mapping):
            return None
        mapping = mapping.get(key)
    return mapping


def _from_payload(esp_name: str, payload: Any) -> str | None:
    esp = esp_name.lower().replace(" ", "_")
    if esp == "postmark":
        kind = _POSTMARK.get(str(_get(payload, "Type")))
        return kind or _POSTMARK.get(str(_get(payload, "SuppressionReason")))
    if esp == "amazon_ses":
        return _SES.get(str(_get(payload, "bounce", "bounceType")))
    if esp == "sendgrid":
        return _SENDGRID.get(str(_get(payload, "type")))
    if esp == "mailgun":
        data = _get(payload, "event-data")
        if _get(data, "severity") == "permanent":
            return SOFT if _get(data, "reason") in _MAILGUN_SOFT_REASONS else HARD
    return None


def _from_smtp(response: object) -> str | None:
    if not isinstance(response, str):
        return None
    match = _ENHANCED.search(response) or _REPLY.search(response)
    if match is None:
        return None
    return {"5": HARD, "4": SOFT}.get(match.group(1))


def bounce_kind(*, esp_name: str, event: AnymailTrackingEvent) -> str:
    """ "hard", "soft" or "unknown" for a bounce event from this provider."""
    return (
        _from_payload(esp_name, event.esp_event)
        or _from_smtp(event.mta_response)
        or _from_smtp(event.description)
        or UNKNOWN
    )
