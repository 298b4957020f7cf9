"""Throttled sign-in to the Django admin: per client, per account and client, per account.

Built on our own fixed-window limits (trust.ratelimit) rather than django-axes: they already
run on the Redis every process shares, their keys are keyed hashes that expire within the
hour, and nothing is written to the database. django-axes would store each failed attempt's
IP address and user agent in a table and log them, against the promise that IP addresses
are never stored in clear.

Every attempt counts, before the password is checked, against four limits:

* per client network (an IPv4 address or an IPv6 /64) and, wider, per IPv6 /48: one
  client cannot try many accounts, and rotating addresses inside its allocation gains
  nothing;
* per account name as typed (case-folded) *and* client network: one client cannot guess
  one account's password for long;
* per account name across all clients, much higher: a botnet cannot guess at leisure
  either, but a few strangers typing an admin's name cannot lock that admin out, because
  the admin's own network has its own budget under the per-account-and-network limit.

An account that does not exist is counted and answered exactly like one that does, so the
limits say nothing about which accounts exist. An admin who is locked out anyway can still
lock a campaign down from a shell (``manage.py campaign_lockdown``), which no limit stops.
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
from trust.services import client_ratelimit_hit

_WINDOW_SECONDS = 3600


def _account_key(username: str) -> str:
    # Keyed, so that an account name never reaches the store (which hashes keys again
    # under the rotating salt).
    key = f"{settings.SBOR_IP_HASH_KEY}:login".encode()
    name = username.strip().casefold()
    return hmac.new(key, name.encode(), hashlib.sha256).hexdigest()[:32]


def login_attempt_allowed(*, username: str, ip: str) -> bool:
    """Count one sign-in attempt; False once any of the hourly limits is exceeded.

    ``ip`` is what ``trust.network.client_ip`` gives; "" or garbage shares one bucket with
    every such client (closed, never open). The client's own limits (its address or /64,
    its /48, and this account from it) count every attempt, including those already
    refused, so that a client who keeps trying stays refused for the whole window. The
    account's total across all clients counts only attempts that got past the client's
    limits: otherwise one client hammering an account would fill it and lock the real
    person out from everywhere; it takes many networks to reach it.
    """
    account = _account_key(username)
    client_verdicts = [
        client_ratelimit_hit(
            ip=ip,
            scope="login:ip",
            limit=settings.RATE_LOGIN_IP_PER_HOUR,
            window_seconds=_WINDOW_SECONDS,
        ),
        client_ratelimit_hit(
            ip=ip,
            scope="login:network",
            limit=settings.RATE_LOGIN_NETWORK_PER_HOUR,
            window_seconds=_WINDOW_SECONDS,
            wide=True,
        ),
        client_ratelimit_hit(
            ip=ip,
            scope=f"login:account:{account}",
            limit=settings.RATE_LOGIN_ACCOUNT_PER_HOUR,
            window_seconds=_WINDOW_SECONDS,
        ),
    ]
    if not all(client_verdicts):
        return False
    return ratelimit_hit(
        key=f"login:account:{account}",
        limit=settings.RATE_LOGIN_ACCOUNT_TOTAL_PER_HOUR,
        window_seconds=_WINDOW_SECONDS,
    )


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
