"""The e2e harness: a storing SMTP server, the Celery worker, its broker, the signing flow."""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import pytest
import redis
import requests
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from mailer.models import OutboxMessage
from petitions.models import Petition

# Redis database for the e2e broker; the cache uses REDIS_URL's own database.
E2E_REDIS_DB = int(os.environ.get("SBOR_E2E_REDIS_DB", "15"))
WORKER_START_TIMEOUT = 30.0
MAIL_TIMEOUT = 30.0
HTTP_TIMEOUT = 10.0


# --- SMTP server ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, "no text/plain part"
        return str(part.get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None, "no text/html part"
        return str(part.get_content())


class StoringHandler:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[ReceivedMail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._messages.append(
                ReceivedMail(
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    message=message,
                )
            )
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- Helpers --------------------------------------------------------------------------------


def wait_for(condition: Callable[[], Any], *, timeout: float, describe: Callable[[], str]) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``describe()``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f}s: {describe()}")
        time.sleep(0.05)


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str]
    buttons: list[str]


class FormParser(HTMLParser):
    """The forms on a page with what a browser would submit untouched, and button labels."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = Form(
                action=attributes.get("action", ""),
                method=attributes.get("method", "get").lower(),
                fields={},
                buttons=[],
            )
            self.forms.append(self._form)
        elif self._form is not None and tag == "input" and attributes.get("name"):
            # What a browser submits untouched: hidden and text fields, ticked boxes and
            # radios (a <select> is left out: its empty choice is what an untouched one sends).
            kind = attributes.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            if kind in ("submit", "button", "image", "file"):
                return
            value = attributes.get("value", "on" if kind == "checkbox" else "")
            self._form.fields[attributes["name"]] = value
        elif self._form is not None and tag == "button":
            self._in_button = True
            self._form.buttons.append("")

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._in_button:
            self._form.buttons[-1] += data.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "button":
            self._in_button = False


def form_find(html: str, *, action_contains: str) -> Form:
    parser = FormParser()
    parser.feed(html)
    matches = [form for form in parser.forms if action_contains in form.action]
    assert len(matches) == 1, f"expected one form posting to {action_contains!r}: {parser.forms}"
    return matches[0]


def subprocess_database_url() -> str:
    """DATABASE_URL for a subprocess that must use the test database of this session."""
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(name).resolve()}"
    # Keep user, password, host and options from the configured URL; swap in the test name.
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + quote(name, safe="")))


def e2e_broker_url() -> str:
    url = str(settings.CELERY_BROKER_URL)
    if url.startswith(("redis://", "rediss://")):
        return urlunsplit(urlsplit(url)._replace(path=f"/{E2E_REDIS_DB}"))
    return url


def broker_empty(url: str) -> None:
    """Drop messages left over from earlier runs (a killed worker, an aborted test)."""
    if url.startswith(("redis://", "rediss://")):
        client = redis.Redis.from_url(url)
        try:
            client.flushdb()  # the e2e broker's own database, see E2E_REDIS_DB
        finally:
            client.close()
    elif url == "filesystem://":
        options = e2e_transport_options()
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            folder = Path(str(options[key]))
            shutil.rmtree(folder, ignore_errors=True)
            # kombu's filesystem transport does not create its folders.
            folder.mkdir(parents=True, exist_ok=True)
    else:
        pytest.fail(
            f"the e2e tests know how to empty redis:// and filesystem:// brokers, not {url}"
        )


def e2e_transport_options() -> dict[str, Any]:
    return dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)


def celery_broker_use(url: str, transport_options: dict[str, Any]) -> None:
    """Point this process's Celery app (used by the live server thread) at a broker."""
    celery_app.conf.update(broker_url=url, broker_transport_options=transport_options)
    # The app keeps the connection and producer pools it made for the previous broker;
    # forget them so that new ones are made for this one. (Not closed: kombu keeps pools in
    # a global registry and would hand the closed one back when the URL is restored.)
    cast(Any, celery_app)._pool = None
    cast(Any, celery_app.amqp)._producer_pool = None


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self, last: int = 60) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-last:])


def worker_stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # warm shutdown: finish the task in hand
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


# --- Flow helpers ---------------------------------------------------------------------------


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def sign(http: requests.Session, site: str, petition: Petition, **fields: str) -> None:
    """Sign as a browser would: load the page, then post the form with its hidden fields."""
    page = http.get(f"{site}/c/{petition.campaign.slug}/", timeout=HTTP_TIMEOUT)
    assert page.status_code == 200
    form = form_find(page.text, action_contains=f"/p/{petition.slug}/sign/")
    assert form.method == "post"
    assert "csrfmiddlewaretoken" in form.fields
    data = {**form.fields, "country": "", "display": "hidden", **fields}
    response = http.post(
        urljoin(page.url, form.action),
        data=data,
        headers={"Origin": origin_of(page.url)},  # as a browser sends it; CSRF checks it
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 302, response.text[:2000]
    assert response.headers["Location"] == f"/p/{petition.slug}/thanks/"
    thanks = http.get(urljoin(page.url, response.headers["Location"]), timeout=HTTP_TIMEOUT)
    assert thanks.status_code == 200
    assert "check your email" in thanks.text


def outbox_describe() -> str:
    rows = OutboxMessage.objects.order_by("pk").values_list("pk", "kind", "status", "last_error")
    return f"outbox rows: {list(rows)}"


def mail_wait(mailbox: StoringHandler, worker: Worker, *, count: int) -> list[ReceivedMail]:
    """Wait until ``count`` messages arrived and every outbox row is marked sent."""

    def describe() -> str:
        received = [m.message["Subject"] for m in mailbox.messages]
        return f"received {received}; {outbox_describe()}\nworker log:\n{worker.log()}"

    wait_for(lambda: len(mailbox.messages) >= count, timeout=MAIL_TIMEOUT, describe=describe)
    wait_for(
        lambda: not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists(),
        timeout=MAIL_TIMEOUT,
        describe=describe,
    )
    messages = mailbox.messages
    assert len(messages) == count, describe()
    return messages


def confirm_link(site: str, mail: ReceivedMail) -> str:
    links = re.findall(rf"{re.escape(site)}/confirm/[^/\s]+/", mail.text)
    assert len(links) == 1, mail.text
    return str(links[0])


def confirm(
    http: requests.Session, link: str, petition: Petition, *, ticked: tuple[str, ...] = ()
) -> None:
    """Open the review, tick the boxes named in ``ticked`` (the page ticks none itself),
    and press Confirm with everything else as the page shows it."""
    page = http.get(link, timeout=HTTP_TIMEOUT)
    assert page.status_code == 200
    form = form_find(page.text, action_contains="/confirm/")
    assert form.buttons == ["Confirm my signature"]
    response = http.post(
        urljoin(page.url, form.action),
        data={**form.fields, **dict.fromkeys(ticked, "on")},
        headers={"Origin": origin_of(page.url)},
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 302, response.text[:2000]
    assert response.headers["Location"] == f"/p/{petition.slug}/confirmed/"


def count_get(http: requests.Session, site: str, petition: Petition) -> dict[str, Any]:
    response = http.get(f"{site}/api/v1/petitions/{petition.slug}/count/", timeout=HTTP_TIMEOUT)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data
