"""Fixtures of the e2e tests: SMTP servers, the broker, workers and clusters of them, the site."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings

from config.celery import app as celery_app
from petitions.models import Petition
from tests.e2e.cluster import Cluster, CountingHandler, RedisServer
from tests.e2e.harness import (
    WORKER_START_TIMEOUT,
    StoringHandler,
    Worker,
    broker_empty,
    celery_broker_use,
    e2e_broker_url,
    e2e_transport_options,
    free_port,
    subprocess_database_url,
    wait_for,
    worker_stop,
)
from tests.factories import campaign_create, petition_create

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
