"""A WSGI application that fails on every request, so that gunicorn itself logs the error
with the request's URI (tests/security/test_log_scrubbing.py)."""

from __future__ import annotations

from typing import Any


def application(environ: dict[str, Any], start_response: Any) -> Any:
    raise RuntimeError(f"failed on {environ.get('PATH_INFO')}")
