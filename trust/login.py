"""Throttled sign-in: per client, per account and client, per account.

The workspace's sign-in (and through it the Django admin's) counts every attempt here
before any password or code is checked. Built on our own fixed-window limits
(trust.ratelimit) rather than django-axes: they already run on the Redis every process
shares, their keys are keyed hashes that expire within the hour, and nothing is written to
the database. django-axes would store each failed attempt's IP address and user agent in a
table and log them, against the promise that IP addresses are never stored in clear.

Every attempt counts, before the password is checked, against four limits:

* per client network (an IPv4 address or an IPv6 /64) and, wider, per IPv6 /48: one
  client cannot try many accounts, and rotating addresses inside its allocation gains
  nothing;
* per account name as typed (case-folded) *and* client network: one client cannot guess
  one account's password for long;
* per account name across all clients, much higher: a botnet cannot guess at leisure
  either, but a few strangers typing an admin's name cannot lock that admin out, because
  the admin's own network has its own budget under the per-account-and-network limit.

The second step (a code from an authenticator app, or a recovery code) is counted the same
way under limits of its own (``second_factor_attempt_allowed``), on top of django-otp's
own back-off per device.

A browser that signed in to the account before carries a signed "known browser" cookie
for it (OWASP's device cookie, ``known_browser_token_make``): its attempts are counted
under their own limit (per browser, as the per-account-and-network one) and NOT against
the account's total, so strangers who fill the total from many networks still cannot
lock the organiser out of the browser they use. A cookie of another account, forged or
expired counts for nothing.

An account that does not exist is counted and answered exactly like one that does, so the
limits say nothing about which accounts exist. An admin who is locked out anyway can still
lock a campaign down from a shell (``manage.py campaign_lockdown``), which no limit stops.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.core import signing

from trust.ratelimit import ratelimit_hit
from trust.services import client_ratelimit_hit

_WINDOW_SECONDS = 3600
# The "known browser" cookie: set on a successful sign-in, long-lived, HttpOnly, signed.
KNOWN_BROWSER_COOKIE = "sbor_known_browser"
KNOWN_BROWSER_MAX_AGE = 365 * 24 * 3600
_KNOWN_BROWSER_SALT = "trust.login.known-browser"


def known_browser_token_make(*, username: str) -> str:
    """The value of the known-browser cookie for a browser that just signed in to this
    account: signed, naming the account only by its keyed hash, with a random browser id."""
    return signing.dumps(
        {"a": _account_key(username), "b": secrets.token_hex(8)}, salt=_KNOWN_BROWSER_SALT
    )


def _known_browser_id(*, token: str, username: str) -> str:
    """The browser id of a valid, unexpired cookie for this account; "" otherwise."""
    if not token:
        return ""
    try:
        data = signing.loads(token, salt=_KNOWN_BROWSER_SALT, max_age=KNOWN_BROWSER_MAX_AGE)
    except signing.BadSignature:
        return ""
    if not isinstance(data, dict) or not hmac.compare_digest(
        str(data.get("a", "")), _account_key(username)
    ):
        return ""
    return str(data.get("b", ""))[:32]


def _account_key(username: str) -> str:
    # Keyed, so that an account name never reaches the store (which hashes keys again
    # under the rotating salt).
    key = f"{settings.SBOR_IP_HASH_KEY}:login".encode()
    name = username.strip().casefold()
    return hmac.new(key, name.encode(), hashlib.sha256).hexdigest()[:32]


def _attempt_allowed(*, scope: str, username: str, ip: str, known_browser: str = "") -> bool:
    account = _account_key(username)
    browser = _known_browser_id(token=known_browser, username=username)
    client_verdicts = [
        client_ratelimit_hit(
            ip=ip,
            scope=f"{scope}:ip",
            limit=settings.RATE_LOGIN_IP_PER_HOUR,
            window_seconds=_WINDOW_SECONDS,
        ),
        client_ratelimit_hit(
            ip=ip,
            scope=f"{scope}:network",
            limit=settings.RATE_LOGIN_NETWORK_PER_HOUR,
            window_seconds=_WINDOW_SECONDS,
            wide=True,
        ),
        client_ratelimit_hit(
            ip=ip,
            scope=f"{scope}:account:{account}",
            limit=settings.RATE_LOGIN_ACCOUNT_PER_HOUR,
            window_seconds=_WINDOW_SECONDS,
        ),
    ]
    if not all(client_verdicts):
        return False
    if browser:
        # A browser this account signed in from: its own budget, not the account's total.
        return ratelimit_hit(
            key=f"{scope}:account:{account}:browser:{browser}",
            limit=settings.RATE_LOGIN_ACCOUNT_PER_HOUR,
            window_seconds=_WINDOW_SECONDS,
        )
    return ratelimit_hit(
        key=f"{scope}:account:{account}",
        limit=settings.RATE_LOGIN_ACCOUNT_TOTAL_PER_HOUR,
        window_seconds=_WINDOW_SECONDS,
    )


def login_attempt_allowed(*, username: str, ip: str, known_browser: str = "") -> bool:
    """Count one sign-in attempt; False once any of the hourly limits is exceeded.

    ``ip`` is what ``trust.network.client_ip`` gives; "" or garbage shares one bucket with
    every such client (closed, never open). The client's own limits (its address or /64,
    its /48, and this account from it) count every attempt, including those already
    refused, so that a client who keeps trying stays refused for the whole window. The
    account's total across all clients counts only attempts that got past the client's
    limits: otherwise one client hammering an account would fill it and lock the real
    person out from everywhere; it takes many networks to reach it. ``known_browser`` is
    the known-browser cookie as the browser sent it: valid for this account, the attempt
    counts under that browser's limit instead of the account's total.
    """
    return _attempt_allowed(scope="login", username=username, ip=ip, known_browser=known_browser)


def second_factor_attempt_allowed(*, username: str, ip: str) -> bool:
    """Count one attempt at a second factor (an app's code or a recovery code) for this
    account; False past the limits. The same limits as ``login_attempt_allowed``, counted
    apart, so that typing a code does not use up the password's budget and the other way
    round."""
    return _attempt_allowed(scope="login-code", username=username, ip=ip)


def password_reset_request_limit(*, ip: str, email: str) -> str:
    """Count one request for a password-reset email; "" if within both limits, else "ip"
    or "address" (the per-client limit first, when both are exceeded).

    Every request counts against both limits, whether or not an account has the address.
    The per-address limit is shared by whoever types that address, so callers must not let
    it show: past it the answer stays the same and nothing is mailed. The per-client limit
    depends only on the requester and may show.
    """
    ip_ok = client_ratelimit_hit(
        ip=ip,
        scope="password-reset:ip",
        limit=settings.RATE_PASSWORD_RESET_IP_PER_HOUR,
        window_seconds=_WINDOW_SECONDS,
    )
    address_ok = ratelimit_hit(
        key=f"password-reset:address:{_account_key(email)}",
        limit=settings.RATE_PASSWORD_RESET_ADDRESS_PER_HOUR,
        window_seconds=_WINDOW_SECONDS,
    )
    if not ip_ok:
        return "ip"
    return "" if address_ok else "address"
