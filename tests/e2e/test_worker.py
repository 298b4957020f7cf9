"""Worker integration: a real Celery worker process sends the confirmation email over SMTP.

The pieces are all real: the live server (a thread in this process) takes the signature
over HTTP and enqueues the send task on the broker after commit; a ``celery worker``
subprocess picks it up, renders the email and hands it to an aiosmtpd server running in
this process; the test follows the link in the received email over HTTP.

The worker uses the test database (``live_server`` makes the test transactional, so the
worker sees committed rows) and, with Redis, a broker database of its own: the test suite
clears the Redis cache database between tests, which would also wipe queued messages.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import pytest
import redis
import requests
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from mailer.models import OutboxMessage
from petitions import emails, services
from petitions.models import Consent, Petition, Signature, Supporter
from petitions.services import addresses
from tests.factories import campaign_create, petition_create

pytestmark = pytest.mark.e2e

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
    """The forms on a page with their hidden inputs and button labels."""

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
        elif self._form is not None and tag == "input" and attributes.get("type") == "hidden":
            self._form.fields[attributes.get("name", "")] = attributes.get("value", "")
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


# --- Fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[StoringHandler, int]]:
    handler = StoringHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def broker_url() -> Iterator[str]:
    """An empty broker that this process (the live server) and the worker both use."""
    url = e2e_broker_url()
    previous = (celery_app.conf.broker_url, celery_app.conf.broker_transport_options)
    with pytest.MonkeyPatch.context() as environ:
        # Celery reads CELERY_BROKER_URL from the environment before its configuration.
        environ.setenv("CELERY_BROKER_URL", url)
        celery_broker_use(url, e2e_transport_options())
        try:
            broker_empty(url)
            yield url
        finally:
            broker_empty(url)
            celery_broker_use(*previous)


@pytest.fixture(scope="module")
def worker(
    django_db_setup: None,
    live_server: Any,
    smtp_server: tuple[StoringHandler, int],
    broker_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Worker]:
    _, smtp_port = smtp_server
    workdir = tmp_path_factory.mktemp("worker")
    log_path = workdir / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(settings.BASE_DIR), os.environ.get("PYTHONPATH")])
        ),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": subprocess_database_url(),
        "CELERY_BROKER_URL": broker_url,
        "SBOR_VAR_DIR": str(settings.VAR_DIR),
        "SBOR_MAIL_BACKEND": "smtp",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_TIMEOUT": "10",
        "SBOR_SITE_URL": live_server.url,
        "SBOR_LOG_LEVEL": "INFO",
        # Sign attempts are processed here, so the worker applies the repeat-mail interval;
        # these tests sign again within seconds (the interval has tests of its own).
        "SBOR_DUPLICATE_EMAIL_INTERVAL_SECONDS": "0",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--queues", "default,mail", "--pool", "solo", "--loglevel", "INFO",
        "--hostname", f"e2e-{uuid.uuid4().hex[:8]}@%h",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
    ]  # fmt: skip
    # The filesystem transport's relative "control" folder then lands where this process
    # puts it (see e2e_transport_options); other brokers do not care.
    cwd = workdir
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    started = Worker(process=process, log_path=log_path)
    try:

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"worker exited with {process.returncode}:\n{started.log()}")
            return " ready." in log_path.read_text(errors="replace")

        wait_for(ready, timeout=WORKER_START_TIMEOUT, describe=started.log)
        yield started
    finally:
        worker_stop(process)


@pytest.fixture
def mailbox(smtp_server: tuple[StoringHandler, int]) -> StoringHandler:
    handler, _ = smtp_server
    handler.clear()
    return handler


@pytest.fixture
def site(live_server: Any, worker: Worker, settings: Any) -> str:
    settings.SITE_URL = live_server.url
    return str(live_server.url)


@pytest.fixture
def petition() -> Petition:
    return petition_create(
        campaign=campaign_create(slug="worker-campaign", title="Worker campaign"),
        slug="worker-petition",
        title="Release the prisoners",
    )


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


def confirm(http: requests.Session, link: str, petition: Petition) -> None:
    page = http.get(link, timeout=HTTP_TIMEOUT)
    assert page.status_code == 200
    form = form_find(page.text, action_contains="/confirm/")
    assert form.buttons == ["Confirm my signature"]
    response = http.post(
        urljoin(page.url, form.action),
        data=form.fields,
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


# --- Tests ----------------------------------------------------------------------------------


def test_worker_sends_confirmation_email_and_the_link_confirms(
    site: str, worker: Worker, mailbox: StoringHandler, petition: Petition
) -> None:
    typed = "Anna.Example+petition@Example.org"
    with requests.Session() as http:
        sign(
            http,
            site,
            petition,
            name="Anna  Example",
            email=typed,
            display="short",
            consent_updates="on",
        )
        [mail] = mail_wait(mailbox, worker, count=1)

        # The envelope and the header carry the address as typed, its domain in the one
        # canonical form that was hashed (lower-case ASCII, IDNA 2008).
        stored = "Anna.Example+petition@example.org"
        assert mail.rcpt_tos == [stored]
        assert mail.message["To"] == stored
        assert mail.message["Auto-Submitted"] == "auto-generated"
        assert mail.message["X-Auto-Response-Suppress"] == "All"
        assert mail.message["Subject"] == "Confirm your signature: Release the prisoners"
        assert mail.message.get_content_type() == "multipart/alternative"
        # Nothing the signer typed is relayed before the address is confirmed.
        assert mail.text.splitlines()[0] == "Hello,"
        assert "Anna" not in mail.text
        link = confirm_link(site, mail)
        assert link in mail.html
        assert "Hello," in mail.html and "Anna" not in mail.html
        code = re.search(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b", mail.text)
        assert code is not None and code.group(0) in mail.html

        signature = Signature.objects.get(petition=petition)
        assert signature.status == Signature.Status.PENDING

        # Opening the link (as a mail scanner would) changes nothing.
        page = http.get(link, timeout=HTTP_TIMEOUT)
        assert page.status_code == 200
        assert "Confirm my signature" in page.text
        signature.refresh_from_db()
        assert signature.status == Signature.Status.PENDING

        confirm(http, link, petition)
        signature.refresh_from_db()
        assert signature.status == Signature.Status.CONFIRMED
        consent = Consent.objects.get(signature=signature)
        assert consent.confirmed_at is not None

        # The count moves when the count task runs, not on confirmation.
        assert count_get(http, site, petition)["count"] == 0
        assert services.signature_counts_refresh() == 1
        data = count_get(http, site, petition)
        assert (data["count"], data["goal"]) == (1, 100)
        assert data["label"] == "1 of 100 signatures", data


def test_signing_again_makes_no_second_signature_and_mails_already_signed(
    site: str, worker: Worker, mailbox: StoringHandler, petition: Petition, settings: Any
) -> None:
    # Repeat mail is normally limited to one per interval (anti-flooding); this test signs
    # again within seconds, so the worker runs without it (see the worker fixture), and so
    # does this process, which the sweep or a direct call would use.
    settings.DUPLICATE_EMAIL_INTERVAL_SECONDS = 0
    first = "Boris.Example@gmail.com"
    with requests.Session() as http:
        sign(http, site, petition, name="Boris Example", email=first)
        [first_mail] = mail_wait(mailbox, worker, count=1)
        assert first_mail.rcpt_tos == [first]

        # Still pending: signing again sends a fresh confirmation email, nothing else changes.
        sign(http, site, petition, name="Boris Example", email="borisexample+again@GoogleMail.com")
        _, second_mail = mail_wait(mailbox, worker, count=2)
        assert second_mail.message["Subject"].startswith("Confirm your signature")
        # Mail goes to the address given first: the supporter is the same person.
        assert second_mail.rcpt_tos == [first]

        confirm(http, confirm_link(site, second_mail), petition)
        # Boris gave no consent to updates: once confirmed, the frequent periodic task
        # (run here as beat would) drops his address and only its keyed hash remains.
        assert addresses.supporter_emails_drop_due() == 1
        assert Supporter.objects.get().email == ""

        # Confirmed: signing again gets the "already signed" email and the same page. The
        # address typed this time is the one mail goes to (it hashes to the same person).
        again = "BORIS.EXAMPLE@gmail.com"
        sign(http, site, petition, name="B. Example", email=again)
        *_, already = mail_wait(mailbox, worker, count=3)

    assert already.rcpt_tos == [again]
    assert already.message["To"] == again
    assert already.message["Auto-Submitted"] == "auto-generated"
    assert already.message["Subject"] == "You have already signed: Release the prisoners"
    assert "You have already signed it" in already.text
    assert "You have already signed it" in already.html
    assert "/confirm/" not in already.text

    assert Supporter.objects.count() == 1
    # Kept until the periodic drop task runs again (beat is not running here).
    assert Supporter.objects.get().email == again
    signature = Signature.objects.get(petition=petition)
    assert signature.status == Signature.Status.CONFIRMED
    assert list(OutboxMessage.objects.order_by("pk").values_list("kind", flat=True)) == [
        emails.SIGNATURE_CONFIRM,
        emails.SIGNATURE_CONFIRM,
        emails.SIGNATURE_ALREADY_SIGNED,
    ]
    assert services.signature_counts_refresh() == 1
    petition.refresh_from_db()
    assert petition.signature_count == 1
