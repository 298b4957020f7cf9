"""Keeping the tokens in confirmation and manage links out of every log record.

A link such as ``/confirm/<token>/`` or ``/manage/<token>/`` is a key: whoever reads it can
confirm someone's signature, or read and erase everything stored about them. Django logs
request paths (a CSRF failure, a server error, runserver's request lines), gunicorn logs the
URI of a request it could not handle, and an exception's text may quote a URL. One filter,
attached to every handler (and to the loggers known to write paths, so that whatever else
listens to them, such as pytest's caplog, sees the scrubbed record too), rewrites the
segment after each token-carrying prefix to ``[token]``.

This module imports nothing from Django or the apps: gunicorn's master process loads it
before any Django settings exist.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Iterable
from typing import Any

# The path segment before every URL segment that is a signed token (petitions/urls.py,
# /workspace/invitations/<token>/, the unsubscribe links /u/<token>/ of updates/urls.py and
# the password-reset link /workspace/account/reset/<token>/;
# tests/security/test_log_scrubbing.py fails when a new token URL is not covered).
TOKEN_PATH_PREFIXES = ("confirm", "manage", "invitations", "u", "reset")
REPLACEMENT = "[token]"

# Request attributes and META entries that hold the path or a URL of this site.
_REQUEST_ATTRIBUTES = ("path", "path_info")
_REQUEST_META = ("PATH_INFO", "REQUEST_URI", "RAW_URI", "HTTP_REFERER", "QUERY_STRING")
_FORMATTER = logging.Formatter()


def _pattern(prefixes: Iterable[str]) -> re.Pattern[str]:
    names = "|".join(re.escape(prefix.strip("/")) for prefix in prefixes)
    # Also matches inside a full URL, and in a URL quoted into a parameter ("%2F" for "/").
    # The token runs up to the next slash, query, fragment, whitespace or quote.
    slash = "(?:/|%2[fF])"
    return re.compile(rf"({slash}(?:{names}){slash})(?:(?!%2[fF])[^/\s?#&\"'<>])+")


class TokenScrubFilter(logging.Filter):
    """Rewrites the token in token-carrying paths in a record's message, exception text,
    stack and request; lets every record through."""

    def __init__(self, name: str = "", prefixes: Iterable[str] = TOKEN_PATH_PREFIXES) -> None:
        super().__init__(name)
        self._pattern = _pattern(prefixes)

    def scrub(self, text: str) -> str:
        return self._pattern.sub(rf"\1{REPLACEMENT}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: leave it to the formatter to report
            message = None
        if message is not None:
            scrubbed = self.scrub(message)
            if scrubbed != message or record.args:
                # The message is final now: arguments merged in, so no handler can format
                # the token back in from them.
                record.msg, record.args = scrubbed, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "path"):
            record.request = self._request_scrubbed(request)
        return True

    def _request_scrubbed(self, request: Any) -> Any:
        """A shallow copy of the request with its path and URLs scrubbed; the request being
        served is left alone."""
        copied = copy.copy(request)
        for name in _REQUEST_ATTRIBUTES:
            value = getattr(copied, name, None)
            if isinstance(value, str):
                setattr(copied, name, self.scrub(value))
        meta = getattr(request, "META", None)
        if isinstance(meta, dict):
            copied.META = {
                key: self.scrub(value) if key in _REQUEST_META and isinstance(value, str) else value
                for key, value in meta.items()
            }
        return copied
