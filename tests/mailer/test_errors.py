"""Sorting send failures into "try again later" and "this will never work"."""

from __future__ import annotations

import smtplib
import socket
from http import HTTPStatus

import pytest
import requests
from anymail.exceptions import (
    AnymailAPIError,
    AnymailConfigurationError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
    AnymailUnsupportedFeature,
)

from mailer.errors import send_error_describe, send_error_is_transient

ADDRESS = "Anna.K+Petition@Example.ORG"


def esp_error(status: int | None, body: str = "") -> AnymailRequestsAPIError:
    """What an Anymail HTTP backend raises for an ESP answer with ``status`` (None: no answer)."""
    if status is None:
        return AnymailRequestsAPIError("Connection to the ESP failed", esp_name="TestESP")
    response = requests.Response()
    response.status_code = status
    response.reason = HTTPStatus(status).phrase
    response._content = body.encode()
    return AnymailRequestsAPIError("ESP refused the send", response=response, esp_name="TestESP")


def refused(*codes: int) -> smtplib.SMTPRecipientsRefused:
    return smtplib.SMTPRecipientsRefused(
        {f"r{n}-{ADDRESS}": (code, b"refused") for n, code in enumerate(codes)}
    )


TRANSIENT = {
    "smtp-server-disconnected": smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
    "smtp-connect-error": smtplib.SMTPConnectError(421, b"Too many connections"),
    "smtp-421": smtplib.SMTPResponseException(421, b"4.3.2 Service shutting down"),
    "smtp-451": smtplib.SMTPResponseException(451, b"4.7.1 Greylisted, try again later"),
    "smtp-452-sender": smtplib.SMTPSenderRefused(452, b"4.3.1 Insufficient storage", ADDRESS),
    "smtp-data-450": smtplib.SMTPDataError(450, b"4.2.0 Mailbox busy"),
    "smtp-recipients-450": refused(450),
    "smtp-recipients-all-4xx": refused(450, 451, 452),
    "os-error": OSError("Network is unreachable"),
    "timeout": TimeoutError("timed out"),
    "socket-timeout": socket.timeout("timed out"),  # noqa: UP041 - the name smtplib raises
    "connection-refused": ConnectionRefusedError(111, "Connection refused"),
    "connection-reset": ConnectionResetError(104, "Connection reset by peer"),
    "dns-failure": socket.gaierror(-3, "Temporary failure in name resolution"),
    "esp-429": esp_error(429, '{"message": "rate limited"}'),
    "esp-500": esp_error(500),
    "esp-502": esp_error(502),
    "esp-503": esp_error(503, '{"message": "overloaded"}'),
    "esp-no-response": esp_error(None),
}

PERMANENT = {
    "smtp-recipients-550": refused(550),
    "smtp-recipients-mixed-4xx-and-5xx": refused(450, 550),
    "smtp-recipients-empty": smtplib.SMTPRecipientsRefused({}),
    "smtp-554": smtplib.SMTPResponseException(554, b"5.7.1 Message rejected"),
    "smtp-550-data": smtplib.SMTPDataError(550, b"5.7.1 Spam"),
    "smtp-553-sender": smtplib.SMTPSenderRefused(553, b"5.1.8 Bad sender", ADDRESS),
    "smtp-530-auth": smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"),
    "anymail-recipients-refused": AnymailRecipientsRefused(),
    "anymail-invalid-address": AnymailInvalidAddress(f"Invalid address {ADDRESS}"),
    "anymail-unsupported-feature": AnymailUnsupportedFeature("no attachments"),
    "anymail-configuration": AnymailConfigurationError("missing API key"),
    "anymail-api-error-without-status": AnymailAPIError("Unparsable response"),
    "esp-400": esp_error(400, '{"message": "invalid To"}'),
    "esp-401": esp_error(401),
    "esp-403": esp_error(403),
    "esp-404": esp_error(404),
    "esp-422": esp_error(422),
    "programming-error": ValueError("a bug"),
    "type-error": TypeError("a bug"),
}


@pytest.mark.parametrize("error", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_failures_that_may_pass_later_are_transient(error):
    assert send_error_is_transient(error) is True


@pytest.mark.parametrize("error", PERMANENT.values(), ids=PERMANENT.keys())
def test_failures_that_will_never_pass_are_permanent(error):
    assert send_error_is_transient(error) is False


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(
            smtplib.SMTPResponseException(451, f"4.7.1 Try {ADDRESS} later".encode()),
            "SMTPResponseException 451: (451, b'4.7.1 Try <address> later')",
            id="smtp-response",
        ),
        pytest.param(
            smtplib.SMTPRecipientsRefused({ADDRESS: (550, f"5.1.1 <{ADDRESS}> unknown".encode())}),
            "SMTPRecipientsRefused: {'<address>': (550, b'5.1.1 <<address>> unknown')}",
            id="smtp-recipients",
        ),
        pytest.param(
            smtplib.SMTPSenderRefused(553, b"5.1.8 Bad sender", "no-reply@sbor.example"),
            "SMTPSenderRefused 553: (553, b'5.1.8 Bad sender', '<address>')",
            id="smtp-sender",
        ),
        pytest.param(
            ConnectionRefusedError(111, "Connection refused"),
            "ConnectionRefusedError: [Errno 111] Connection refused",
            id="connection-refused",
        ),
        pytest.param(
            AnymailRecipientsRefused(f"Recipient {ADDRESS} is suppressed"),
            "AnymailRecipientsRefused: Recipient <address> is suppressed",
            id="anymail-recipients",
        ),
    ],
)
def test_a_description_names_the_error_and_code_without_the_address(error, expected):
    assert send_error_describe(error) == expected


@pytest.mark.parametrize("status", [400, 429, 503])
def test_an_esp_error_description_includes_the_http_status_without_the_address(status):
    error = esp_error(status, f'{{"message": "cannot send to {ADDRESS} right now"}}')

    description = send_error_describe(error)

    assert description.startswith(f"AnymailRequestsAPIError HTTP {status}: ESP refused the send")
    assert f"TestESP API response {status}" in description
    assert "cannot send to <address> right now" in description
    assert "@" not in description


def test_an_esp_error_without_a_response_is_described_without_a_status():
    assert send_error_describe(esp_error(None)) == (
        "AnymailRequestsAPIError: Connection to the ESP failed"
    )


@pytest.mark.parametrize(
    "address",
    [
        ADDRESS,
        "anna@example.org",
        "user@[192.0.2.1]",
        "x@xn--80ak6aa92e.com",
        "пётр@пример.рф",
    ],
)
def test_every_form_of_address_is_removed(address):
    description = send_error_describe(RuntimeError(f"rejected {address}, and <{address}>."))

    assert address not in description
    assert "@" not in description
    assert description.startswith("RuntimeError: rejected <address>")


def test_an_address_with_an_apostrophe_loses_its_mailbox_and_domain():
    # Quotes end a match (bytes reprs wrap replies in them), so "o'" is left in front.
    description = send_error_describe(RuntimeError("rejected o'brien@example.ie"))

    assert "brien" not in description
    assert "example.ie" not in description
    assert "@" not in description


def test_several_addresses_are_all_removed():
    error = smtplib.SMTPRecipientsRefused(
        {"a@example.org": (550, b"a@example.org unknown"), "b@example.org": (451, b"later")}
    )

    description = send_error_describe(error)

    assert "@" not in description
    assert description.count("<address>") == 3


def test_a_description_fits_the_column():
    error = smtplib.SMTPResponseException(451, ("x" * 500 + f" {ADDRESS}").encode())

    description = send_error_describe(error)

    assert len(description) <= 200
    assert description.startswith("SMTPResponseException 451: ")


def test_an_address_is_removed_before_the_description_is_cut():
    # Cutting first could leave half an address ("anna.k+petition@exa") behind.
    padding = "x" * (200 - len("RuntimeError: ") - 10)
    description = send_error_describe(RuntimeError(f"{padding} {ADDRESS}"))

    assert "@" not in description
    assert "Anna.K" not in description
