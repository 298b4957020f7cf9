"""Throttled sign-in to the Django admin: per account name and per client IP.

Built on our own fixed-window limits (trust.ratelimit) rather than django-axes: they already
run on the Redis every process shares, their keys are keyed hashes that expire within the
hour, and nothing is written to the database. django-axes would store each failed attempt's
IP address and user agent in a table and log them, against the promise that IP addresses
are never stored in clear.

Every attempt counts, before the password is checked, against the account name as typed
(case-folded) and against the client's IP. An account that does not exist is counted and
answered exactly like one that does, so the limit says nothing about which accounts exist.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from trust.network import client_ip
from trust.ratelimit import ratelimit_hit

_WINDOW_SECONDS = 3600
# One shared bucket for requests whose address cannot be read: closed, never open.
_UNKNOWN_IP = "unknown"


def _key(*, kind: str, value: str) -> str:
    # Keyed, so that the store's keys never hold an account name or an address.
    key = f"{settings.SBOR_IP_HASH_KEY}:login".encode()
    return f"login-{kind}:{hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]}"


def login_attempt_allowed(*, username: str, ip: str) -> bool:
    """Count one sign-in attempt; False once the account or the IP is past its hourly limit.

    Both limits count every attempt, including those already refused, so that an attacker
    who keeps trying stays refused for the whole window.
    """
    account_ok = ratelimit_hit(
        key=_key(kind="account", value=username.strip().casefold()),
        limit=settings.RATE_LOGIN_ACCOUNT_PER_HOUR,
        window_seconds=_WINDOW_SECONDS,
    )
    ip_ok = ratelimit_hit(
        key=_key(kind="ip", value=ip or _UNKNOWN_IP),
        limit=settings.RATE_LOGIN_IP_PER_HOUR,
        window_seconds=_WINDOW_SECONDS,
    )
    return account_ok and ip_ok


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form, refusing attempts past the limits before any password check."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": _(
            "Too many sign-in attempts for this account or from your connection. "
            "Please wait an hour and try again."
        ),
    }

    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        ip = client_ip(self.request) if self.request is not None else ""
        if not login_attempt_allowed(username=username, ip=ip):
            raise ValidationError(self.error_messages["throttled"], code="throttled")
        return super().clean()
