"""Real Celery workers for the fault tests: their own Redis, an SMTP server that counts."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings

from mailer.models import OutboxMessage
from tests.e2e.harness import subprocess_database_url, wait_for

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


def outbox_statuses() -> Counter[str]:
    return Counter(OutboxMessage.objects.values_list("status", flat=True))
