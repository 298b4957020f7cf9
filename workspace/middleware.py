"""Organisers' sessions end after ``SESSION_COOKIE_AGE`` without use of the workspace.

Django's ``SESSION_SAVE_EVERY_REQUEST`` would slide the expiry too, but on every response
of the site: the public pages and the JSON API would then send a signed-in organiser's
session cookie back with each answer, including answers that proxies may cache
(``Cache-Control: public``). This refreshes the session only on the pages that need it, the
workspace and the admin. Listed after ``SessionMiddleware``, so that it runs before it on
the way out.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse

_PREFIXES = ("/workspace/", "/admin/")


class SessionRefreshMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if (
            session is not None
            and response.status_code < 500  # not saved then, and the database may be down
            and request.path_info.startswith(_PREFIXES)
            and not session.is_empty()
            and SESSION_KEY in session  # a signed-in session, not a stray cookie
        ):
            session.modified = True  # saved again, with a new expiry, by SessionMiddleware
        return response
