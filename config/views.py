from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import DatabaseError, connection
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.templatetags.static import static
from django.utils.cache import add_never_cache_headers
from django.views.static import serve
from kombu.exceptions import OperationalError as BrokerError
from redis import RedisError

from config.celery import app as celery_app

logger = logging.getLogger(__name__)

HEALTHZ_PATH = "/healthz"


def _database_up() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True


def _cache_up() -> bool:
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return True  # in-process memory: up while this process is
    # Past the backend's fallbacks (common.cache), which would hide an outage: ask Redis.
    try:
        backend._cache.get_client(write=True).ping()
    except RedisError:
        return False
    return True


def _broker_up() -> bool:
    # A fresh connection each time: kombu's redis transport pings on connect, and the
    # timeouts in settings bound it (REDIS_TIMEOUT_SECONDS).
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
    except (BrokerError, RedisError, OSError):
        return False
    return True


HEALTH_CHECKS: dict[str, Callable[[], bool]] = {
    "database": _database_up,
    "cache": _cache_up,
    "broker": _broker_up,
}


def healthz(request: HttpRequest) -> HttpResponse:
    """Each dependency's state, for the container orchestrator and the load balancer.

    200 with ``"status": "ok"`` when all are up. Pages keep working with the cache or the
    broker down (README "When parts fail"), so that is 200 too, ``"status": "degraded"``,
    with ``down`` naming them: taking the web process out of rotation (or restarting it)
    would not help, and would turn a Redis outage into a site outage. Only a database
    outage, which pages cannot work without, answers 503 (``"status": "unavailable"``).
    """
    checks = {name: check() for name, check in HEALTH_CHECKS.items()}
    down = [name for name, up in checks.items() if not up]
    if down:
        logger.warning("health check: down: %s", ", ".join(down))
    unavailable = not checks["database"]
    body = {
        "status": "unavailable" if unavailable else "degraded" if down else "ok",
        "checks": {name: "ok" if up else "down" for name, up in checks.items()},
        "down": down,
    }
    response = JsonResponse(body, status=503 if unavailable else 200)
    add_never_cache_headers(response)
    return response


class HealthCheckMiddleware:
    """Answers /healthz before the Host header is validated.

    Health probes come from inside the container network by IP, so they would fail
    ALLOWED_HOSTS in production. (SECURE_REDIRECT_EXEMPT lets them use plain HTTP.)
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == HEALTHZ_PATH and request.method in ("GET", "HEAD"):
            return healthz(request)
        return self.get_response(request)


def media_serve(request: HttpRequest, path: str) -> HttpResponseBase:
    """Uploaded files on `make run` (never in production, where the proxy serves them).

    Reads MEDIA_ROOT at each request, so that a changed setting (a test's) is followed.
    """
    return serve(request, path, document_root=str(settings.MEDIA_ROOT))


def favicon(request: HttpRequest) -> HttpResponseBase:
    """``/favicon.ico``, which browsers ask for on pages that name no icon (the admin, JSON,
    an email preview): the site's SVG icon, instead of a 404 in every log."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))
