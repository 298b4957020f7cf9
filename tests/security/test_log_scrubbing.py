"""Tokens in links never reach a log: a CSRF failure, a server error, runserver's request
lines, Celery's records and gunicorn's error log all show ``[token]`` instead.

Every URL with a ``<token>`` in petitions/urls.py (and anywhere else in the URLconf) is
found by walking the resolver, so a new token URL is covered, or fails here, by itself.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.utils.log import LoggingProxy
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from common.logging import TokenScrubFilter
from mailer.backends import LocalOutboxBackend

BASE_DIR = Path(__file__).resolve().parents[2]
# Shaped like a signed token (payload:timestamp:signature), and unmistakable in a log.
TOKEN = "SECRETx4bQ:1t0KeN:zz9SeCrEtSiGnAtUrEq"
SAMPLE_KWARGS = {"uuid": str(uuid.uuid4()), "slug": "some-petition", "int": "1"}


def token_patterns() -> list[tuple[str, URLPattern]]:
    """(path with TOKEN in it, pattern) for every URL pattern that takes a ``token``."""
    found: list[tuple[str, URLPattern]] = []

    def walk(patterns: list[Any], namespace: str = "") -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, inner)
            elif isinstance(entry, URLPattern) and "token" in entry.pattern.converters:
                kwargs = {
                    name: TOKEN if name == "token" else sample_value(converter)
                    for name, converter in entry.pattern.converters.items()
                }
                found.append((reverse(f"{namespace}{entry.name}", kwargs=kwargs), entry))

    walk(get_resolver().url_patterns)
    return found


def sample_value(converter: Any) -> str:
    name = type(converter).__name__.removesuffix("Converter").lower()
    return SAMPLE_KWARGS.get(name, "x")


TOKEN_PATHS = [path for path, _ in token_patterns()]


def raising_view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    raise RuntimeError(f"failed while serving {request.get_full_path()}")


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the configured console handler writes, for the length of a test."""
    handlers = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    assert handlers, "settings.LOGGING has no console handler on the root logger"
    buffer = io.StringIO()
    previous = [h.setStream(buffer) for h in handlers]  # type: ignore[attr-defined]
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)  # type: ignore[attr-defined]


def test_every_token_url_is_found_and_the_list_is_not_empty():
    paths = " ".join(TOKEN_PATHS)

    assert f"/confirm/{TOKEN}/" in paths
    assert f"/manage/{TOKEN}/" in paths
    assert f"/manage/{TOKEN}/erase/" in paths
    assert f"/workspace/account/reset/{TOKEN}/" in paths
    assert f"/u/{TOKEN}/one-click/" in paths
    assert f"/u/{TOKEN}/one-click/" not in CSRF_CHECKED_TOKEN_PATHS


@pytest.mark.parametrize("path", TOKEN_PATHS)
def test_the_filter_hides_the_token_of_every_token_url(path):
    scrub = TokenScrubFilter().scrub

    for text in (path, f"https://example.org{path}?next=1", f'"POST {path} HTTP/1.1" 403'):
        assert TOKEN not in scrub(text)
        assert "[token]" in scrub(text)


# RFC 8058's one-click unsubscribe takes a POST without CSRF by design (updates.views).
CSRF_CHECKED_TOKEN_PATHS = [
    path
    for path, pattern in token_patterns()
    if not getattr(pattern.callback, "csrf_exempt", False)
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", CSRF_CHECKED_TOKEN_PATHS)
def test_a_csrf_failure_on_a_token_url_logs_no_token(path, caplog, console):
    client = Client(enforce_csrf_checks=True)

    with caplog.at_level(logging.WARNING):
        response = client.post(path, {"confirm": "1"})

    assert response.status_code == 403
    assert "Forbidden (CSRF cookie not set.)" in caplog.text
    assert "[token]" in caplog.text
    assert "[token]" in console.getvalue()
    assert TOKEN not in caplog.text
    assert TOKEN not in console.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("path", TOKEN_PATHS)
def test_a_server_error_on_a_token_url_logs_no_token(path, caplog, console, monkeypatch):
    [pattern] = [p for candidate, p in token_patterns() if candidate == path]
    monkeypatch.setattr(pattern, "callback", raising_view)
    client = Client(raise_request_exception=False)

    with caplog.at_level(logging.ERROR):
        response = client.get(f"{path}?from=mail")

    assert response.status_code == 500
    # The line and the traceback both name the path: both are scrubbed.
    assert "Internal Server Error: " in caplog.text
    assert "RuntimeError: failed while serving" in caplog.text
    assert "RuntimeError: failed while serving" in console.getvalue()
    assert TOKEN not in caplog.text
    assert TOKEN not in console.getvalue()
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert TOKEN not in record.request.path
    assert TOKEN not in record.request.get_full_path()


def test_the_request_being_served_keeps_its_path():
    request = RequestFactory().get(f"/confirm/{TOKEN}/", HTTP_REFERER=f"/manage/{TOKEN}/")
    record = logging.LogRecord("django.request", logging.ERROR, "", 0, "x", (), None)
    record.request = request

    TokenScrubFilter().filter(record)

    assert record.request is not request
    assert record.request.path == "/confirm/[token]/"
    assert record.request.META["HTTP_REFERER"] == "/manage/[token]/"
    assert request.path == f"/confirm/{TOKEN}/"
    assert request.META["HTTP_REFERER"] == f"/manage/{TOKEN}/"


def test_runserver_request_lines_log_no_token(caplog, console):
    with caplog.at_level(logging.INFO):
        logging.getLogger("django.server").info(
            '"%s" %s %s', f"GET /manage/{TOKEN}/export/ HTTP/1.1", 200, 512
        )

    assert '"GET /manage/[token]/export/ HTTP/1.1" 200 512' in caplog.text
    assert TOKEN not in console.getvalue()
    assert "/manage/[token]/export/" in console.getvalue()


def test_celery_task_failures_and_prints_log_no_token(caplog, console):
    try:
        raise ValueError(f"no page at https://example.org/confirm/{TOKEN}/")
    except ValueError as exc:
        error = exc
    with caplog.at_level(logging.INFO):
        logging.getLogger("celery.app.trace").error(
            "Task %(name)s[%(id)s] raised unexpected: %(exc)s",
            {"name": "mailer.tasks.outbox_send", "id": "1", "exc": repr(error)},
            exc_info=(type(error), error, error.__traceback__),
        )
        # print() inside a task: the worker's stdout is this proxy.
        proxy = LoggingProxy(logging.getLogger("celery.redirected"), logging.WARNING)
        proxy.write(f"visiting /manage/{TOKEN}/\n")

    assert "raised unexpected" in caplog.text
    assert "visiting /manage/[token]/" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN not in console.getvalue()


def test_the_development_outbox_shows_whole_links_on_the_terminal_even_in_a_worker(
    tmp_path, monkeypatch, capfd, caplog
):
    # The worker's stdout is a logger; the outbox's lines go round it to the terminal, where
    # the person running `make run` needs the link whole (this backend is development only).
    from django.core.mail import EmailMessage

    monkeypatch.setattr(sys, "stdout", LoggingProxy(logging.getLogger("celery.redirected")))
    message = EmailMessage("Confirm", f"Open https://example.org/confirm/{TOKEN}/", to=["a@b.c"])

    LocalOutboxBackend(outbox_dir=tmp_path).send_messages([message])

    assert f"[outbox]   link: https://example.org/confirm/{TOKEN}/" in capfd.readouterr().out
    assert TOKEN not in caplog.text


# --- gunicorn -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_gunicorn_s_error_log_names_no_token(tmp_path):
    """gunicorn, run with the image's settings file, logs a failed request without its token."""
    port = free_port()
    env = {
        **os.environ,
        "SBOR_BIND": f"127.0.0.1:{port}",
        "SBOR_WEB_WORKERS": "1",
    }
    stderr_path = tmp_path / "stderr.log"
    command = [
        sys.executable, "-m", "gunicorn", "tests.security.wsgi_raising:application",
        "--config", "config/gunicorn.py",
    ]  # fmt: skip
    with stderr_path.open("wb") as stderr:
        server = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )
    try:
        status = None
        deadline = time.monotonic() + 30
        while status is None and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/manage/{TOKEN}/export/?x=1", timeout=5
                )
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    log = stderr_path.read_text(errors="replace")

    assert status == 500, log
    assert "Error handling request" in log
    assert "/manage/[token]/export/" in log
    assert TOKEN not in log
