"""The account page: the address, the password and the second factor."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from trust.network import client_ip
from workspace.access import signed_in_user
from workspace.forms.accounts import PasswordChangeForm
from workspace.services import two_factor
from workspace.views.accounts.shared import form_status


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def account(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    enabled = two_factor.two_factor_enabled(user=user)
    context = {
        "account_email": user.email or user.get_username(),
        "two_factor_enabled": enabled,
        "verified": request.user.is_verified(),  # type: ignore[union-attr]
        "recovery_codes_left": two_factor.recovery_codes_left(user=user) if enabled else 0,
        "ws_section": "account",
    }
    return render(request, "workspace/accounts/account.html", context)


@login_required
@sensitive_post_parameters()
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    post = request.POST if request.method == "POST" else None
    form = PasswordChangeForm(user, post, ip=client_ip(request))
    if form.is_bound and form.is_valid():
        form.save()
        # Keeps this session (and its second factor) signed in; every other session of the
        # account is signed out by the new password.
        update_session_auth_hash(request, form.user)
        messages.success(request, _("Your password has been changed."))
        return HttpResponseRedirect(reverse("workspace:account"))
    context = {"form": form, "ws_section": "account"}
    status = form_status(form) if form.is_bound else 200
    return render(request, "workspace/accounts/password_change.html", context, status=status)
