"""Answering 503, not 500, while the database cannot be reached.

A database that is down, restarting or refusing connections is an outage the visitor can
do nothing about but wait; it is not a bug of the page. Every request that runs into one
gets ``503 Service Unavailable`` with ``Retry-After`` and a page saying so (JSON with
``detail`` under ``/api/``), from two places:

* ``DatabaseUnavailableMiddleware.process_exception``: errors raised by a view or while
  rendering its template (DRF re-raises what its own handler does not know), in every mode.
* ``server_error`` (``handler500``): errors raised anywhere else, such as a middleware
  reading the session, when Django turns them into its error page (not in DEBUG).

The 503 page is rendered from files and the request alone: nothing on it reads the database.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)

# What Django raises when it cannot connect or lost the connection (psycopg's and sqlite3's
# errors are wrapped into these). Also lock and statement timeouts: waiting helps there too.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
# A restart or fail-over takes seconds to a minute; clients should not hammer it meanwhile.
RETRY_AFTER_SECONDS = 30
API_PREFIX = "/api/"


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    """The 503 for a request that needed the database while it was unreachable."""
    response: HttpResponse
    if request.path.startswith(API_PREFIX):
        message = _("The service is temporarily unavailable. Please try again in a minute.")
        response = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(render_to_string("503.html", request=request), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # A proxy must not keep serving the outage page once the database is back.
    add_never_cache_headers(response)
    return response


class DatabaseUnavailableMiddleware:
    """Turns a database outage met by a view into the 503 page (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_UNAVAILABLE_ERRORS):
            return None
        # The class only: a driver's message may quote the statement. django.request logs
        # the answer with its path; /healthz tells which dependency is down.
        logger.error("database unavailable, answered 503: %s", type(exception).__name__)
        return database_unavailable_response(request)


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """Django's 500 page, except for a database outage, which gets the 503 page."""
    # Django calls this inside the ``except`` block that caught the request's error.
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE_ERRORS):
        return database_unavailable_response(request)
    return defaults.server_error(request, template_name)
