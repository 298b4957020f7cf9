"""Setting up the second factor, new recovery codes, and removing the second factor."""

from __future__ import annotations

import base64

import django_otp
import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from campaigns.access import is_verified
from trust.network import client_ip
from workspace.access import signed_in_user
from workspace.forms.accounts import TwoFactorRemoveForm, TwoFactorSetupForm
from workspace.services import two_factor
from workspace.services.accounts import other_sessions_end
from workspace.views.accounts.shared import form_status, next_url, redirect_with_next


def _qr_svg(device: TOTPDevice) -> SafeString:
    """The device's otpauth:// address as a QR code, drawn as inline SVG on our server:
    the secret never leaves the page for a QR service, and no script draws it."""
    code = segno.make(device.config_url, error="m")
    # segno writes only numbers and the escaped title into the markup.
    svg = code.svg_inline(
        scale=5,
        border=4,
        dark="#000",
        light="#fff",
        omitsize=True,
        title=_("QR code for your authenticator app"),
    )
    # role="img": the title is then read as the picture's name.
    return mark_safe(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S308


def _secret_groups(device: TOTPDevice) -> str:
    """The key as an app asks for it when typed by hand: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _codes_page(request: HttpRequest, *, codes: list[str], target: str) -> HttpResponse:
    context = {
        "codes": [two_factor.recovery_code_display(code) for code in codes],
        "continue_url": target or reverse("workspace:account"),
        "ws_section": "account",
    }
    return render(request, "workspace/accounts/recovery_codes.html", context)


# The id of the unconfirmed app this session is setting up: no other session sees its secret.
_PENDING_DEVICE_KEY = "workspace_totp_pending"


@login_required
@sensitive_post_parameters("password", "code")
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    target = next_url(request)
    if two_factor.two_factor_enabled(user=user):
        # Set up already: give the code (or go on, if this session has).
        return redirect_with_next("workspace:two-factor", target)
    kept = request.session.get(_PENDING_DEVICE_KEY)
    device_id = kept if isinstance(kept, int) else None
    post = request.POST if request.method == "POST" else None
    if post is None or device_id is None:
        # A visit (or a post from a session that was never shown a secret): this
        # session's own secret, fresh unless it has one already.
        device = two_factor.totp_device_pending(user=user, device_id=device_id)
        request.session[_PENDING_DEVICE_KEY] = device_id = device.pk
    form = TwoFactorSetupForm(post, user=user, ip=client_ip(request), device_id=device_id)
    if form.is_bound and form.is_valid():
        request.session.pop(_PENDING_DEVICE_KEY, None)
        # Every other session of the account ends (they passed no second factor).
        other_sessions_end(request, user=user, password=form.cleaned_data["password"])
        django_otp.login(request, form.device)
        return _codes_page(request, codes=form.recovery_codes, target=target)
    device = two_factor.totp_device_pending(user=user, device_id=device_id)
    request.session[_PENDING_DEVICE_KEY] = device.pk
    context = {
        "form": form,
        "qr_svg": _qr_svg(device),
        "secret": _secret_groups(device),
        "next": target,
        "ws_section": "account",
    }
    status = form_status(form) if form.is_bound else 200
    return render(request, "workspace/accounts/two_factor_setup.html", context, status=status)


@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes, replacing the old ones; only for a session that gave a code."""
    user = signed_in_user(request)
    if not two_factor.two_factor_enabled(user=user):
        return redirect_with_next("workspace:two-factor-setup", "")
    if not is_verified(request.user):
        return redirect_with_next("workspace:two-factor", request.get_full_path())
    if request.method == "POST":
        codes = two_factor.recovery_codes_generate(user=user)
        return _codes_page(request, codes=codes, target="")
    context = {"left": two_factor.recovery_codes_left(user=user), "ws_section": "account"}
    return render(request, "workspace/accounts/recovery_codes_new.html", context)


@login_required
@sensitive_post_parameters("password", "code")
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def two_factor_remove(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    if not two_factor.two_factor_enabled(user=user):
        return HttpResponseRedirect(reverse("workspace:account"))
    post = request.POST if request.method == "POST" else None
    form = TwoFactorRemoveForm(post, user=user, ip=client_ip(request))
    if form.is_bound and form.is_valid():
        two_factor.two_factor_remove(user=user)
        request.session.pop(DEVICE_ID_SESSION_KEY, None)
        # Every other session of the account ends too (cycles this session's key).
        other_sessions_end(request, user=user, password=form.cleaned_data["password"])
        messages.success(
            request,
            _(
                "Two-factor authentication is off. Actions that need it are closed to you "
                "until you set it up again."
            ),
        )
        return HttpResponseRedirect(reverse("workspace:account"))
    context = {"form": form, "ws_section": "account"}
    status = form_status(form) if form.is_bound else 200
    return render(request, "workspace/accounts/two_factor_remove.html", context, status=status)
