"""Sorting send failures into "try again later" and "this will never work"."""

from __future__ import annotations

import re
import smtplib

from anymail.exceptions import (
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
)

_ADDRESS = re.compile(r"[^\s<>\"']+@[^\s<>\"']+")


def send_error_is_transient(exc: BaseException) -> bool:
    """True when the same message may well go through on a later attempt.

    SMTP 4xx replies, dropped connections, timeouts, HTTP 429 and 5xx from an ESP are
    transient; refused recipients, invalid addresses, SMTP 5xx and other ESP 4xx are not.
    """
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress):
        return False
    if isinstance(exc, AnymailRequestsAPIError):
        status = exc.status_code
        return status is None or status == 429 or status >= 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, AnymailError):
        # Other Anymail errors are configuration or payload problems.
        return False
    return isinstance(exc, smtplib.SMTPException | OSError | TimeoutError)


def send_error_describe(exc: BaseException) -> str:
    """A short description for the outbox row, with any email address removed."""
    detail = ""
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = f" {exc.smtp_code}"
    elif isinstance(exc, AnymailRequestsAPIError) and exc.status_code:
        detail = f" HTTP {exc.status_code}"
    text = f"{type(exc).__name__}{detail}: {exc}"
    return _ADDRESS.sub("<address>", text)[:200]
