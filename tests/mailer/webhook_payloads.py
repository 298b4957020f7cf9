"""Webhook payloads in the shapes Postmark and Mailgun document, and how each is posted.

Postmark: one JSON object per request ("Bounce", "Delivery", "SpamComplaint",
"SubscriptionChange", "Open" webhooks), authenticated by the basic-auth credentials in the
webhook URL. Mailgun: one JSON object per request, ``{"signature": {timestamp, token,
signature}, "event-data": {...}}``, signed with HMAC-SHA256 of timestamp + token under the
webhook signing key (the basic-auth secret is checked too). Times are near now: events
older than a week are ignored on arrival.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

OLD_SECRET = "sbor-old:c29tZSBvbGQgc2VjcmV0IHZhbHVl"
NEW_SECRET = "sbor-new:YSBicmFuZCBuZXcgc2VjcmV0IHZhbA"
MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
SENDER = "news@sbor.test"


def basic_auth(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def _at(ago: timedelta) -> datetime:
    return datetime.now(UTC) - ago


def _iso(ago: timedelta) -> str:
    # Postmark writes seven fractional digits and an offset.
    return _at(ago).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


@dataclass(frozen=True)
class Postmark:
    name: str = "postmark"

    def message_id(self) -> str:
        """What Postmark's API answers for a sent message, and its events repeat."""
        return str(uuid.uuid4())

    def stored_id(self, message_id: str) -> str:
        return message_id

    def body(self, payload: Any) -> bytes:
        return json.dumps(payload).encode()

    def delivered(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        return {
            "RecordType": "Delivery",
            "ServerID": 23,
            "MessageStream": "broadcast",
            "MessageID": message_id,
            "Recipient": email,
            "Tag": "",
            "DeliveredAt": _iso(ago),
            "Details": "smtp;250 2.0.0 OK  1715000000 a1si123456qkb.10 - gsmtp",
            "Metadata": {"delivery": "1"},
        }

    def _bounce(
        self, email: str, message_id: str, ago: timedelta, kind: str, code: int, details: str
    ) -> dict:
        return {
            "RecordType": "Bounce",
            "MessageStream": "broadcast",
            "ID": secrets.randbelow(10**12),
            "Type": kind,
            "TypeCode": code,
            "Name": {"HardBounce": "Hard bounce", "SoftBounce": "Soft bounce"}.get(kind, kind),
            "Tag": "",
            "MessageID": message_id,
            "Metadata": {"delivery": "1"},
            "ServerID": 23,
            "Description": "The server was unable to deliver your message.",
            "Details": details,
            "Email": email,
            "From": SENDER,
            "BouncedAt": _iso(ago),
            "DumpAvailable": False,
            "Inactive": kind == "HardBounce",
            "CanActivate": True,
            "Subject": "Good news",
        }

    def hard_bounce(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        details = "smtp;550 5.1.1 The email account that you tried to reach does not exist."
        return self._bounce(email, message_id, ago, "HardBounce", 1, details)

    def soft_bounce(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        details = "smtp;452 4.2.2 The email account that you tried to reach is over quota."
        return self._bounce(email, message_id, ago, "SoftBounce", 4096, details)

    def deferred(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        details = "smtp;421 4.7.0 Try again later, closing connection."
        return self._bounce(email, message_id, ago, "Transient", 2, details)

    def rejected(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        return self._bounce(email, message_id, ago, "BadEmailAddress", 100000, "Invalid email")

    def complained(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        payload = self._bounce(email, message_id, ago, "SpamComplaint", 512, "")
        return payload | {"RecordType": "SpamComplaint", "Name": "Spam complaint"}

    def unsubscribed(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        return {
            "RecordType": "SubscriptionChange",
            "MessageID": message_id,
            "ServerID": 23,
            "MessageStream": "broadcast",
            "ChangedAt": _iso(ago),
            "Recipient": email,
            "Origin": "Recipient",
            "SuppressSending": True,
            "SuppressionReason": "ManualSuppression",
            "Tag": "",
            "Metadata": {"delivery": "1"},
        }

    def opened(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        return {
            "RecordType": "Open",
            "MessageStream": "broadcast",
            "FirstOpen": True,
            "Client": {"Name": "Thunderbird", "Company": "Mozilla", "Family": "Thunderbird"},
            "OS": {"Name": "Linux", "Company": "", "Family": "Linux"},
            "Platform": "Desktop",
            "UserAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Thunderbird/128.0",
            "Geo": {},
            "MessageID": message_id,
            "ReceivedAt": _iso(ago),
            "Tag": "",
            "Recipient": email,
        }

    def unknown(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        return {"RecordType": "SomethingNew", "MessageID": message_id, "Recipient": email}


@dataclass(frozen=True)
class Mailgun:
    name: str = "mailgun"
    key: str = MAILGUN_KEY

    def message_id(self) -> str:
        """The Message-Id header Mailgun's events carry (anymail adds the angle brackets)."""
        return f"20261130075401.{secrets.token_hex(8)}@mg.sbor.test"

    def stored_id(self, message_id: str) -> str:
        """What Mailgun's API answered when the message was sent: "<id>"."""
        return f"<{message_id}>"

    def signature(self, *, ago: timedelta = timedelta(0), token: str | None = None) -> dict:
        stamp = str(int(time.time() - ago.total_seconds()))
        token = token or secrets.token_hex(25)
        digest = hmac.new(self.key.encode(), (stamp + token).encode(), hashlib.sha256)
        return {"timestamp": stamp, "token": token, "signature": digest.hexdigest()}

    def body(self, payload: Any) -> bytes:
        if isinstance(payload, dict) and "event-data" in payload and "signature" not in payload:
            payload = {"signature": self.signature(), **payload}
        return json.dumps(payload).encode()

    def _event(self, event: str, email: str, message_id: str, ago: timedelta, **more: Any) -> dict:
        data = {
            "event": event,
            "id": secrets.token_urlsafe(16),
            "timestamp": _at(ago).timestamp(),
            "log-level": "info",
            "envelope": {"sender": SENDER, "transport": "smtp", "targets": email},
            "flags": {"is-routed": False, "is-authenticated": True, "is-test-mode": False},
            "message": {
                "headers": {
                    "to": email,
                    "message-id": message_id,
                    "from": f"Sbor <{SENDER}>",
                    "subject": "Good news",
                },
                "attachments": [],
                "size": 2048,
            },
            "recipient": email,
            "recipient-domain": email.rpartition("@")[2],
            "campaigns": [],
            "tags": [],
            "user-variables": {"delivery": "1"},
        }
        return {"event-data": data | more}

    def delivered(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        status = {"tls": True, "mx-host": "mx.example.org", "code": 250, "description": "",
                  "session-seconds": 0.4, "attempt-no": 1, "message": "OK",
                  "certificate-verified": True}  # fmt: skip
        return self._event("delivered", email, message_id, ago, **{"delivery-status": status})

    def _failed(
        self, email: str, message_id: str, ago: timedelta, severity: str, reason: str, code: int,
        message: str,
    ) -> dict:  # fmt: skip
        status = {"attempt-no": 1, "code": code, "message": message, "description": "",
                  "session-seconds": 0.2, "mx-host": "mx.example.org"}  # fmt: skip
        return self._event(
            "failed", email, message_id, ago, severity=severity, reason=reason,
            **{"log-level": "error" if severity == "permanent" else "warn",
               "delivery-status": status},
        )  # fmt: skip

    def hard_bounce(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        message = "5.1.1 The email account that you tried to reach does not exist."
        return self._failed(email, message_id, ago, "permanent", "bounce", 550, message)

    def soft_bounce(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        # Mailgun retried a full mailbox for hours, then gave up ("old").
        message = "4.2.2 The email account that you tried to reach is over quota."
        return self._failed(email, message_id, ago, "permanent", "old", 452, message)

    def deferred(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        message = "4.2.2 The email account that you tried to reach is over quota."
        return self._failed(email, message_id, ago, "temporary", "generic", 452, message)

    def rejected(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        # Mailgun does not send it: the address is on its bounce list.
        message = "Not delivering to previously bounced address"
        return self._failed(email, message_id, ago, "permanent", "suppress-bounce", 605, message)

    def complained(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        return self._event("complained", email, message_id, ago)

    def unsubscribed(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        client = {"client-type": "browser", "client-os": "Linux", "device-type": "desktop",
                  "client-name": "Firefox", "user-agent": "Mozilla/5.0"}  # fmt: skip
        return self._event("unsubscribed", email, message_id, ago, **{"client-info": client})

    def opened(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        return self._event("opened", email, message_id, ago)

    def unknown(self, email: str, message_id: str, ago: timedelta = timedelta(0)) -> dict:
        return self._event("something-new", email, message_id, ago)


ESPS = [Postmark(), Mailgun()]
