"""What the account pages share: where to send someone next (the ``next`` they came with,
if it is safe), and the status of a form sent back with errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def next_url(request: HttpRequest) -> str:
    """The ``next`` of the form or the address, if it points to this site; else ""."""
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def redirect_next(target: str) -> HttpResponseRedirect:
    """To ``target`` (already checked by ``next_url``), or to the workspace's start."""
    return HttpResponseRedirect(target or resolve_url(settings.LOGIN_REDIRECT_URL))


def redirect_with_next(name: str, target: str) -> HttpResponseRedirect:
    """To the page ``name``, carrying ``target`` on as its ``next``."""
    url = reverse(name)
    if target:
        url = f"{url}?{urlencode({REDIRECT_FIELD_NAME: target})}"
    return HttpResponseRedirect(url)


def form_status(form: Any) -> int:
    """422 for a form sent back with errors, 429 when a limit refused it."""
    codes = {error.code for errors in form.errors.as_data().values() for error in errors}
    return 429 if codes & {"throttled", "wait"} else 422
