from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse

HEALTHZ_PATH = "/healthz"


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for the container orchestrator: the process answers and reaches the database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


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
