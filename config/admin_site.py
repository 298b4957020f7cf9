"""The Django admin's site: entered only through the workspace's sign-in and second factor.

Staff sign in where organisers do (``workspace:login``: throttled, Argon2, two-factor) and
the admin has no sign-in form of its own: its login page sends them there, or to the
two-factor step (which sends someone without a device to set one up), and back. A session
that has not given a second factor is not let in, whatever the account's flags.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from campaigns.access import is_verified


class SborAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and is_verified(user))

    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        target = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = reverse("admin:index", current_app=self.name)
        user = request.user
        if user.is_active and user.is_staff:
            if self.has_permission(request):
                return HttpResponseRedirect(target)
            step = "workspace:two-factor"
        else:
            # Not signed in, or signed in with an account that is not staff: sign in
            # (again) with one that is.
            step = "workspace:login"
        return HttpResponseRedirect(f"{reverse(step)}?{urlencode({REDIRECT_FIELD_NAME: target})}")
