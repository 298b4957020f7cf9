"""None"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings

from mailer.models import OutboxMessage
from tests.e2e.cluster import outbox_statuses
from tests.e2e.harness import wait_for
from tests.factories import signature_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


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
