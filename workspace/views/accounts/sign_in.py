"""Signing in (password, then the second factor when the account has one) and out.

An account with an authenticator app is not signed in by its password alone: the password
step only remembers, for a few minutes, which account passed it (``_PENDING_KEY`` in the
session), and the session is signed in once a code is given. An account without one is
signed in by its password and may work as a campaigner or viewer; the two-factor page then
sends it to set an app up (owners are sent there by ``workspace.access`` for everything).

The session key changes when the account signs in and again when a signed-in session gives
its second factor, so that a session id seen before either step is worth nothing after it.
"""

from __future__ import annotations

import time
from typing import Any

import django_otp
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_static.models import StaticDevice

from campaigns.access import is_verified
from trust.login import KNOWN_BROWSER_COOKIE, KNOWN_BROWSER_MAX_AGE, known_browser_token_make
from trust.network import client_ip
from workspace.access import signed_in_user
from workspace.forms.accounts import LoginForm, RecoveryCodeForm, TotpCodeForm
from workspace.services import two_factor
from workspace.views.accounts.shared import form_status, next_url, redirect_next, redirect_with_next

_PENDING_KEY = "workspace_sign_in_pending"
# How long the password step is remembered while the second factor is asked for.
_PENDING_SECONDS = 5 * 60


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    target = next_url(request)
    form = LoginForm(
        request.POST if request.method == "POST" else None,
        ip=client_ip(request),
        known_browser=request.COOKIES.get(KNOWN_BROWSER_COOKIE, ""),
    )
    if form.is_bound and form.is_valid() and form.user is not None:
        user = form.user
        if two_factor.two_factor_enabled(user=user):
            _pending_start(request, user)
            return redirect_with_next("workspace:two-factor", target)
        auth.login(request, user)
        return _known_browser_set(redirect_next(target), user=user)
    context = {"form": form, "next": target}
    status = form_status(form) if form.is_bound else 200
    return render(request, "workspace/accounts/login.html", context, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth.logout(request)
    messages.success(request, _("You have signed out."))
    return redirect_with_next("workspace:login", "")


@sensitive_post_parameters("code", "recovery_code")
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in, or a signed-in session giving its second factor."""
    target = next_url(request)
    pending = _pending_user(request)
    if pending is not None:
        user = pending
    elif request.user.is_authenticated:
        user = signed_in_user(request)
        if is_verified(request.user):
            return redirect_next(target)
        if not two_factor.two_factor_enabled(user=user):
            return redirect_with_next("workspace:two-factor-setup", target)
    else:
        # Nothing to verify: nobody passed the password step (or it was long ago).
        return redirect_with_next("workspace:login", target)

    ip = client_ip(request)
    post = request.POST if request.method == "POST" else None
    totp_form = TotpCodeForm(post if post and "code" in post else None, user=user, ip=ip)
    recovery_form = RecoveryCodeForm(
        post if post and "recovery_code" in post else None, user=user, ip=ip
    )
    bound = next((form for form in (totp_form, recovery_form) if form.is_bound), None)
    if bound is not None and bound.is_valid():
        _verified_sign_in(request, user=user, device=bound.device, pending=pending is not None)
        if isinstance(bound.device, StaticDevice):
            _recovery_code_used_message(request, user=user)
        return _known_browser_set(redirect_next(target), user=user)
    context = {
        "totp_form": totp_form,
        "recovery_form": recovery_form,
        "account": user.get_username(),
        "next": target,
    }
    status = 200 if request.method != "POST" else 400  # a POST with no code at all
    if bound is not None:
        status = form_status(bound)
    return render(request, "workspace/accounts/two_factor.html", context, status=status)


def _known_browser_set(response: HttpResponse, *, user: User) -> HttpResponse:
    """Mark this browser as one the account signed in from (``trust.login``): strangers
    filling the account's sign-in limit from elsewhere do not lock it out."""
    response.set_cookie(
        KNOWN_BROWSER_COOKIE,
        known_browser_token_make(username=user.get_username()),
        max_age=KNOWN_BROWSER_MAX_AGE,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )
    return response


def _pending_start(request: HttpRequest, user: User) -> None:
    # A fresh session id for the step in between, like auth.login gives the next one.
    request.session.cycle_key()
    request.session[_PENDING_KEY] = {
        "user": user.pk,
        "backend": getattr(user, "backend", ""),
        "hash": user.get_session_auth_hash(),
        "until": time.time() + _PENDING_SECONDS,
    }


def _pending_user(request: HttpRequest) -> User | None:
    """The account that passed the password step in this session a moment ago, if any."""
    pending = request.session.get(_PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if float(pending.get("until", 0)) < time.time():
        del request.session[_PENDING_KEY]
        return None
    user_id = pending.get("user")
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    # The password changed since: that step no longer counts.
    if user is None or not constant_time_compare(
        str(pending.get("hash", "")), user.get_session_auth_hash()
    ):
        del request.session[_PENDING_KEY]
        return None
    user.backend = str(pending.get("backend", ""))
    return user


def _verified_sign_in(request: HttpRequest, *, user: User, device: Any, pending: bool) -> None:
    if pending:
        request.session.pop(_PENDING_KEY, None)
        # Signs in and gives the session a new key (auth.login cycles it).
        auth.login(request, user, backend=getattr(user, "backend", None) or None)
    else:
        request.session.cycle_key()
    django_otp.login(request, device)


def _recovery_code_used_message(request: HttpRequest, *, user: User) -> None:
    left = two_factor.recovery_codes_left(user=user)
    messages.warning(
        request,
        ngettext(
            "You signed in with a recovery code. %(count)d code is left: "
            "make new ones on your account page if they run low.",
            "You signed in with a recovery code. %(count)d codes are left: "
            "make new ones on your account page if they run low.",
            left,
        )
        % {"count": left},
    )
