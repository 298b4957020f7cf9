"""A forgotten password: ask for a link by email, then choose a new password.

The request gets the same page whether or not an account has the address (the services
decide, silently, whether anything is mailed). The new password does not sign anyone in:
the account then signs in with it, and gives its second factor if it has one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from trust.network import client_ip
from workspace import tokens
from workspace.forms.accounts import PasswordResetRequestForm
from workspace.services import accounts
from workspace.views.accounts.shared import form_status

_LIMITED = gettext_lazy(
    "Too many requests from your connection. Please wait an hour and try again."
)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = PasswordResetRequestForm(request.POST if request.method == "POST" else None)
    template = "workspace/accounts/password_reset.html"
    if not form.is_bound:
        return render(request, template, {"form": form})
    if not form.is_valid():
        return render(request, template, {"form": form}, status=422)
    try:
        accounts.password_reset_request(
            email=form.cleaned_data["email"], ip=client_ip(request), language=request.LANGUAGE_CODE
        )
    except accounts.PasswordResetLimitedError:
        # This limit counts only the requester's own requests: it tells nothing about anyone.
        form.add_error("email", _LIMITED)
        return render(request, template, {"form": form}, status=429)
    return HttpResponseRedirect(reverse("workspace:password-reset-sent"))


@require_http_methods(["GET", "HEAD"])
def password_reset_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "workspace/accounts/password_reset_sent.html")


def _token_page(
    view: Callable[[HttpRequest, str], HttpResponse],
) -> Callable[[HttpRequest, str], HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, token: str) -> HttpResponse:
        response: HttpResponse = view(request, token)
        add_never_cache_headers(response)
        # The token is in this page's address: it must not reach another site. Not
        # "no-referrer", which makes browsers send "Origin: null" on this page's own form.
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapper


@sensitive_post_parameters()
@_token_page
@require_http_methods(["GET", "HEAD", "POST"])
def password_reset_confirm(request: HttpRequest, token: str) -> HttpResponse:
    user = tokens.password_reset_user(token=token)
    if user is None:
        return render(request, "workspace/accounts/password_reset_invalid.html", status=400)
    form = SetPasswordForm(user, request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        form.save()  # the token stops working: it was made from the old password
        messages.success(request, _("Your new password is set. Sign in with it."))
        return HttpResponseRedirect(reverse("workspace:login"))
    status = form_status(form) if form.is_bound else 200
    return render(
        request, "workspace/accounts/password_reset_confirm.html", {"form": form}, status=status
    )
