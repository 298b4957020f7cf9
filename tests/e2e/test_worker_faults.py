"""Workers under faults: Redis lost mid-send, workers SIGKILLed mid-send, periodic work
behind a flood of other work. Real processes as production runs them (prefork workers,
beat, a separate periodic worker), a throwaway redis-server that the test stops and starts,
and an aiosmtpd server that counts what it accepted, per recipient.

The settings that bound how late mail can be (send time limit, claim lease, sweep
interval) are shortened through their environment variables so the tests stay fast; the
defaults are checked against the two-minute promise in tests/mailer/test_send_window.py.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.utils import timezone

from config.celery import app as celery_app
from mailer.models import OutboxMessage
from petitions import services, tasks
from petitions.models import Petition, SignAttempt, Signature, Supporter
from tests.e2e.harness import (
    celery_broker_use,
    free_port,
    subprocess_database_url,
    wait_for,
)
from tests.factories import campaign_create, petition_create, signature_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

START_TIMEOUT = 40.0
SITE = "http://sbor.test"


# --- A redis-server of our own --------------------------------------------------------------


@dataclass
class RedisServer:
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            wait_for(self._pings(client), timeout=10, describe=lambda: "redis-server to start")
        finally:
            client.close()

    @staticmethod
    def _pings(client: redis.Redis) -> Any:
        def ping() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        return ping

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.fail("these tests need redis-server (apt-get install redis-server)")
    server = RedisServer(port=free_port(), workdir=tmp_path)
    server.start()
    previous = (settings.CELERY_BROKER_URL, dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS))
    # Sends enqueued after commit in this process go to this broker too.
    celery_broker_use(server.url, {"visibility_timeout": 3600})
    try:
        yield server
    finally:
        celery_broker_use(*previous)
        server.stop()


# --- An SMTP server that counts, and can be made slow ---------------------------------------


@dataclass
class Accepted:
    recipient: str
    at: float  # time.monotonic() when the server answered "250" to the message


@dataclass
class CountingHandler:
    """Accepts every message; records which recipient and when. ``rcpt_delay`` and
    ``quit_delay`` make sends slow before and after acceptance; while ``gate`` is clear,
    RCPT waits for it."""

    rcpt_delay: float = 0.0
    quit_delay: float = 0.0
    gate: threading.Event = field(default_factory=threading.Event)
    accepted: list[Accepted] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.gate.set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        await asyncio.sleep(self.rcpt_delay)
        while not self.gate.is_set():
            await asyncio.sleep(0.02)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            for recipient in envelope.rcpt_tos:
                self.accepted.append(Accepted(recipient=recipient, at=time.monotonic()))
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.quit_delay)
        return "221 Bye"

    def per_recipient(self) -> Counter[str]:
        with self.lock:
            return Counter(item.recipient for item in self.accepted)

    def acceptances(self) -> list[Accepted]:
        with self.lock:
            return list(self.accepted)


@pytest.fixture
def smtp() -> Iterator[tuple[CountingHandler, int]]:
    handler = CountingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        handler.gate.set()
        controller.stop()


# --- Celery processes -----------------------------------------------------------------------


@dataclass
class CeleryProcess:
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready_text: str
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # The log is appended to across restarts; readiness is read from this run's part.
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log_file:
            # A session of its own: a kill reaches the pool's children too, as when a
            # container or a machine dies.
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.log_path.parent,
                env=self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                code = self.process.returncode
                pytest.fail(f"{self.argv[3:6]} exited with {code}:\n{self.log()}")
            with self.log_path.open("rb") as log:
                log.seek(offset)
                return self.ready_text in log.read().decode(errors="replace")

        wait_for(ready, timeout=START_TIMEOUT, describe=self.log)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log(self, last: int = 80) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-last:])

    def full_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Cluster:
    """Starts worker, periodic worker and beat with one environment; stops them all."""

    broker_url: str
    smtp_port: int
    workdir: Path
    extra_env: dict[str, str]
    processes: list[CeleryProcess] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(settings.BASE_DIR), os.environ.get("PYTHONPATH")])
            ),
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": subprocess_database_url(),
            "CELERY_BROKER_URL": self.broker_url,
            "SBOR_VAR_DIR": str(settings.VAR_DIR),
            "SBOR_MAIL_BACKEND": "smtp",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.smtp_port),
            "EMAIL_TIMEOUT": "5",
            "SBOR_SITE_URL": SITE,
            "SBOR_LOG_LEVEL": "INFO",
            # The tests wait for beat's and the workers' own INFO lines ("beat: Starting...").
            "SBOR_TASK_LOG_LEVEL": "INFO",
            **self.extra_env,
        }
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        return env

    def worker(self, *, queues: str, name: str, concurrency: int = 2) -> CeleryProcess:
        argv = [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--queues", queues, "--concurrency", str(concurrency), "--loglevel", "INFO",
            "--hostname", f"{name}-{uuid.uuid4().hex[:6]}@%h",
            "--without-mingle", "--without-gossip",
        ]  # fmt: skip
        return self._started(argv, name=name, ready_text=" ready.")

    def beat(self) -> CeleryProcess:
        argv = [
            sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
            "--schedule", str(self.workdir / "celerybeat-schedule"),
        ]  # fmt: skip
        return self._started(argv, name="beat", ready_text="beat: Starting...")

    def _started(self, argv: list[str], *, name: str, ready_text: str) -> CeleryProcess:
        process = CeleryProcess(
            argv=argv, env=self.env(), log_path=self.workdir / f"{name}.log", ready_text=ready_text
        )
        # Recorded first: a process that never gets ready is stopped with the others.
        self.processes.append(process)
        process.start()
        return process

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.log_path.name}\n{p.log(40)}" for p in self.processes)


@pytest.fixture
def cluster_factory(
    redis_server: RedisServer, smtp: tuple[CountingHandler, int], tmp_path: Path
) -> Iterator[Any]:
    made: list[Cluster] = []

    def make(**extra_env: str) -> Cluster:
        cluster = Cluster(
            broker_url=redis_server.url, smtp_port=smtp[1], workdir=tmp_path, extra_env=extra_env
        )
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


@pytest.fixture
def petition() -> Petition:
    return petition_create(campaign=campaign_create(slug="faults-campaign"), slug="faults-petition")


def outbox_statuses() -> Counter[str]:
    return Counter(OutboxMessage.objects.values_list("status", flat=True))


def pending_people(petition: Petition, count: int) -> list[Signature]:
    """``count`` pending signatures of distinct people, written directly (no confirmation
    email is queued: these tests confirm them, they do not mail them)."""
    now = timezone.now()
    tag = uuid.uuid4().hex[:8]
    supporters = Supporter.objects.bulk_create(
        Supporter(
            email_digest=f"e2e-{tag}-{n:050d}",
            email=f"person{n}@example.org",
            name=f"Person {n}",
        )
        for n in range(count)
    )
    signatures = Signature.objects.bulk_create(
        Signature(petition=petition, supporter=supporter, confirmation_requested_at=now)
        for supporter in supporters
    )
    # Each awaits confirmation through an attempt, as its emailed link would name it.
    SignAttempt.objects.bulk_create(
        SignAttempt(
            petition=petition,
            signature=signature,
            confirm_code_digest=f"e2e-{tag}-{n}",
            processed_at=now,
        )
        for n, signature in enumerate(signatures)
    )
    return signatures


# --- Redis lost while a worker holds a send -------------------------------------------------


def test_a_worker_that_loses_redis_mid_send_reconnects_and_the_email_arrives(
    redis_server, smtp, cluster_factory, petition
):
    handler, _ = smtp
    cluster = cluster_factory()
    worker = cluster.worker(queues="default,mail", name="worker")
    handler.gate.clear()  # the send stops at RCPT until the test says so

    first = signature_create(petition=petition, email="first@example.org")
    wait_for(
        lambda: OutboxMessage.objects.filter(status=OutboxMessage.Status.SENDING).exists(),
        timeout=30,
        describe=lambda: f"the send to start; {outbox_statuses()}\n{worker.log()}",
    )

    redis_server.stop()
    wait_for(
        lambda: "Connection to broker lost" in worker.full_log(),
        timeout=30,
        describe=lambda: f"the worker to notice the lost broker:\n{worker.log()}",
    )
    time.sleep(2)  # a couple of reconnection attempts against a dead Redis
    redis_server.start()
    handler.gate.set()

    wait_for(
        lambda: (
            handler.per_recipient()["first@example.org"] == 1
            and OutboxMessage.objects.get(about__signature=str(first.pk)).status
            == OutboxMessage.Status.SENT
        ),
        timeout=30,
        describe=lambda: f"the email in hand; {outbox_statuses()}\n{worker.log()}",
    )
    # The same worker process reconnected and takes new work: nobody had to restart it.
    wait_for(
        lambda: "Connected to redis" in worker.full_log().split("Connection to broker lost")[-1],
        timeout=40,
        describe=lambda: f"the worker to reconnect:\n{worker.log()}",
    )
    assert worker.alive(), worker.log()
    assert "Unrecoverable error" not in worker.full_log()

    signature_create(petition=petition, email="second@example.org")
    wait_for(
        lambda: handler.per_recipient()["second@example.org"] == 1,
        timeout=30,
        describe=lambda: f"mail after the reconnect; {outbox_statuses()}\n{worker.log()}",
    )
    assert worker.alive()
    assert handler.per_recipient() == {"first@example.org": 1, "second@example.org": 1}


def test_the_supervisor_of_make_run_starts_a_worker_again_when_it_dies(tmp_path):
    # common.respawn wraps the worker and beat in Procfile.dev (honcho restarts nothing).
    marker = tmp_path / "runs"
    script = (
        "import pathlib, sys, time\n"
        f"runs = pathlib.Path({str(marker)!r})\n"
        "runs.write_text(runs.read_text() + 'x' if runs.exists() else 'x')\n"
        "time.sleep(60) if len(runs.read_text()) >= 3 else sys.exit(1)\n"
    )
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "common.respawn", sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: marker.exists() and len(marker.read_text()) >= 3,
            timeout=20,
            describe=lambda: "three runs of a command that dies twice",
        )
        assert supervisor.poll() is None
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=10)
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
            supervisor.wait(timeout=10)
    stderr = supervisor.stderr.read().decode() if supervisor.stderr else ""
    assert stderr.count("exited with 1; starting it again") == 2, stderr
    # Stopped by SIGTERM, it did not start the command a fourth time.
    assert len(marker.read_text()) == 3


# --- A worker SIGKILLed mid-send ------------------------------------------------------------


def accepted_more_than(handler: CountingHandler, count: int) -> bool:
    return len(handler.acceptances()) > count


KILLS = 4
MESSAGES = 16
# Half the kills land here after the server accepted a message, while the worker says
# goodbye (QUIT is slow); the others while a send waits before acceptance (RCPT is slow).
KILL_AFTER_ACCEPTANCE = 0.35
# A kill can duplicate only a message the server accepted this shortly before it: the
# instant between the server's "250" and the worker recording the row as sent.
IN_FLIGHT_WINDOW = 0.2


def test_sigkilled_workers_lose_no_email_and_duplicate_at_most_one_accepted_in_flight(
    smtp, cluster_factory, petition
):
    handler, _ = smtp
    # Slow before acceptance (RCPT) and after it (QUIT): most kills land mid-send.
    handler.rcpt_delay = 0.3
    handler.quit_delay = 0.8
    started = time.monotonic()
    cluster = cluster_factory(
        SBOR_MAIL_SEND_TIME_LIMIT_SECONDS="3",  # lease: 3 + 20 s
        SBOR_MAIL_REQUEUE_INTERVAL_SECONDS="2",
        SBOR_MAIL_REQUEUE_AFTER_SECONDS="5",
    )
    cluster.worker(queues="periodic", name="periodic", concurrency=1)
    cluster.beat()
    worker = cluster.worker(queues="default,mail", name="worker")

    recipients = [f"signer{n}@example.org" for n in range(MESSAGES)]
    for address in recipients:
        signature_create(petition=petition, email=address)

    kills: list[float] = []
    for n in range(KILLS):
        accepted_before = len(handler.acceptances())
        if n % 2 == 0:
            # Just after the server accepted a message: the worker is saying goodbye.
            wait_for(
                functools.partial(accepted_more_than, handler, accepted_before),
                timeout=40,
                describe=lambda: f"a message accepted; {outbox_statuses()}\n{cluster.logs()}",
            )
            time.sleep(KILL_AFTER_ACCEPTANCE)
        else:
            # While a claimed send waits for the server, before acceptance.
            wait_for(
                lambda: OutboxMessage.objects.filter(status=OutboxMessage.Status.SENDING).exists(),
                timeout=40,
                describe=lambda: f"a send in progress; {outbox_statuses()}\n{cluster.logs()}",
            )
            time.sleep(0.1)
        worker.kill()
        kills.append(time.monotonic())
        worker.start()

    def all_sent() -> bool:
        return outbox_statuses() == {OutboxMessage.Status.SENT: MESSAGES}

    wait_for(
        all_sent,
        timeout=120 - (time.monotonic() - started),
        describe=lambda: (
            f"every email within two minutes; {outbox_statuses()}; "
            f"received {handler.per_recipient()}\n{cluster.logs()}"
        ),
    )
    received = handler.per_recipient()
    assert set(received) == set(recipients)
    assert time.monotonic() - started < 120

    duplicated = {address for address, count in received.items() if count > 1}
    for address in duplicated:
        assert received[address] == 2, received
        first_accepted = min(a.at for a in handler.acceptances() if a.recipient == address)
        # The only second copy allowed: the server had accepted the first one in the
        # instant before a kill, before the worker could record it as sent.
        assert any(0 <= kill - first_accepted <= IN_FLIGHT_WINDOW for kill in kills), (
            address,
            kills,
            handler.acceptances(),
        )
    assert len(duplicated) <= KILLS


# --- Periodic work behind a flood of other work ---------------------------------------------

CONFIRMATIONS = 300
BULK_TASKS = 3000


def test_the_count_is_complete_within_seconds_of_a_burst_while_bulk_work_floods_the_workers(
    smtp, cluster_factory, petition, redis_server
):
    cluster = cluster_factory(SBOR_COUNT_INTERVAL_SECONDS="1")
    cluster.worker(queues="periodic", name="periodic")
    cluster.beat()
    cluster.worker(queues="default,mail", name="worker", concurrency=1)

    people = pending_people(petition, CONFIRMATIONS)
    # Bulk work on the default queue, as per-confirmation tasks used to make: thousands of
    # one-person address drops ahead of anything enqueued after them.
    with celery_app.producer_or_acquire() as producer:
        for n in range(BULK_TASKS):
            tasks.supporter_emails_drop.apply_async(
                args=[people[n % CONFIRMATIONS].supporter_id], queue="default", producer=producer
            )
    broker = redis.Redis.from_url(redis_server.url)
    try:
        backlog = broker.llen("default")
        for signature in people:
            services.signature_confirm(sign_attempt=signature.sign_attempts.get())
        last_confirmed = time.monotonic()
        # Confirming enqueued nothing per person, and the bulk work is still waiting.
        assert 0 < broker.llen("default") <= backlog
    finally:
        broker.close()

    def counted() -> int:
        return int(Petition.objects.values_list("signature_count", flat=True).get(pk=petition.pk))

    wait_for(
        lambda: counted() == CONFIRMATIONS,
        timeout=10,
        describe=lambda: f"the count (at {counted()}) with bulk work queued\n{cluster.logs()}",
    )
    assert time.monotonic() - last_confirmed <= 10
    # And the addresses of those who confirmed without consent are dropped in batches.
    wait_for(
        lambda: (
            not Supporter.objects.filter(
                pk__in=[s.supporter_id for s in people], email_dropped_at__isnull=True
            ).exists()
        ),
        timeout=10,
        describe=lambda: f"the batched address drop\n{cluster.logs()}",
    )
