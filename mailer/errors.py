"""Sorting send failures into "try again later" and "this will never work"."""

from __future__ import annotations

import re
import smtplib

import requests
from anymail.exceptions import (
    AnymailAPIError,
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


def send_error_is_in_doubt(exc: BaseException) -> bool:
    """True when the provider may have accepted the message despite the error.

    A definite answer (an SMTP reply code, an HTTP status, a refused address) or an error
    raised while the message was still being put together means it was not accepted. A
    connection lost or timing out mid-conversation, or anything unexpected, leaves it in
    doubt: bulk mail then records the delivery "unknown" rather than send it twice.
    """
    if isinstance(
        exc,
        smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused | AnymailRecipientsRefused,
    ):
        return False
    if isinstance(exc, AnymailAPIError):
        if exc.status_code is not None:
            # An error status is a "no"; a success the backend could not read is in doubt.
            return 200 <= exc.status_code < 300
        # Anymail wraps the requests exception; one raised before connecting sent nothing.
        return not isinstance(exc.__cause__, requests.exceptions.ConnectTimeout) and not (
            _refused_connection(exc.__cause__)
        )
    if isinstance(exc, AnymailError):
        return False  # a payload or configuration problem, found before any call
    # A message that could not be built (a header with a line break, say) never left.
    return not isinstance(exc, ValueError | TypeError | LookupError)


def _refused_connection(exc: BaseException | None) -> bool:
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    reason = exc.args[0] if exc.args else None
    # urllib3's MaxRetryError(reason=NewConnectionError): the TCP connection never opened.
    return type(getattr(reason, "reason", None)).__name__ == "NewConnectionError"
