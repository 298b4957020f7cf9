"""Bulk mail on real parts: a mailing to a few hundred, its worker SIGKILLed three times.

Real Celery workers (a bulk worker of two processes, a mail worker, the periodic worker and
beat for the sweep), a Redis of their own, and an SMTP server that keeps every message and
answers each DATA after a short pause, so that kills land while messages are being handed
over. Every eligible recipient must get exactly one copy and nobody else any; the only
exception is a message in the instant of a kill, recorded "unknown" and received at most
once. A confirmation email queued mid-mailing goes out within seconds.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import functools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from mailer import selectors, services
from mailer.models import Delivery, Mailing, Suppression
from tests.bulkkind import kind as test_kind
from tests.e2e.cluster import Cluster, RedisServer
from tests.e2e.harness import free_port, wait_for
from tests.factories import signature_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RECIPIENTS = 300
SKIPPED = {7, 77, 177}  # the builder finds nobody to write to
SUPPRESSED = {10, 100, 200}  # on the suppression list since planning
KILLS = 3
BULK_PROCESSES = 2
# The server holds each message this long before its "250": most kills land in a send.
DATA_DELAY = 0.03
S = Delivery.Status


@dataclass
class Received:
    recipients: list[str]
    message: EmailMessage
    at: float


@dataclass
class SlowStoringHandler:
    """Keeps every message as it arrives, then answers after ``delay``."""

    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append(Received(list(envelope.rcpt_tos), message, time.monotonic()))
        # The message is in: a worker killed now never hears the "250" (in doubt).
        await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def per_recipient(self) -> Counter[str]:
        return Counter(to for item in self.messages() for to in item.recipients)


@pytest.fixture
def sink() -> Iterator[tuple[SlowStoringHandler, int]]:
    handler = SlowStoringHandler(delay=DATA_DELAY)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def cluster(
    redis_server: RedisServer, sink: tuple[SlowStoringHandler, int], tmp_path: Path
) -> Iterator[Cluster]:
    made = Cluster(
        broker_url=redis_server.url,
        smtp_port=sink[1],
        workdir=tmp_path,
        extra_env={
            # The workers know the test kind (tests/bulkkind).
            "DJANGO_SETTINGS_MODULE": "tests.bulkkind.settings",
            "SBOR_MAIL_BULK_BATCH_SIZE": "20",
            "SBOR_MAIL_BULK_TASKS": str(BULK_PROCESSES),
            "SBOR_MAIL_BULK_TASK_SECONDS": "5",
            # A dead worker's batch is taken up after 4 s; its hand-over recorded unknown
            # after the claim lease (3 + 20 s); lost tasks enqueued again after 3 s.
            "SBOR_MAIL_BULK_LEASE_SECONDS": "4",
            "SBOR_MAIL_SEND_TIME_LIMIT_SECONDS": "3",
            "SBOR_MAIL_BULK_STALE_SECONDS": "3",
            "SBOR_MAIL_REQUEUE_INTERVAL_SECONDS": "1",
        },
    )
    try:
        yield made
    finally:
        made.stop()


def bulk_received(handler: SlowStoringHandler) -> list[Received]:
    return [item for item in handler.messages() if item.recipients[0].startswith("person")]


def arrived(handler: SlowStoringHandler, count: int) -> bool:
    return len(bulk_received(handler)) >= count


def rows_by_number(mailing: Mailing) -> dict[int, Delivery]:
    return {
        test_kind.number(row.recipient_ref): row for row in Delivery.objects.filter(mailing=mailing)
    }


def test_a_mailing_survives_three_sigkills_and_everyone_gets_exactly_one_copy(
    sink, cluster, petition
):
    handler, _ = sink
    test_kind.register()
    cluster.worker(queues="periodic", name="periodic", concurrency=1)
    cluster.beat()
    cluster.worker(queues="default,mail", name="mail", concurrency=1)
    bulk = cluster.worker(queues="bulk", name="bulk", concurrency=BULK_PROCESSES)

    mailing = services.mailing_create(
        kind=test_kind.KIND,
        about={"title": "The petition was delivered", "skip": ",".join(map(str, SKIPPED))},
    )
    services.deliveries_add(
        mailing=mailing,
        recipients=test_kind.planned(range(0, RECIPIENTS, 2), "en")
        + test_kind.planned(range(1, RECIPIENTS, 2), "ru"),
    )
    for n in SUPPRESSED:
        services.suppression_add(address_digest=test_kind.digest(n), reason="hard_bounce")
    eligible = set(range(RECIPIENTS)) - SKIPPED - SUPPRESSED
    started = time.monotonic()
    assert services.mailing_start(mailing=mailing)

    def describe() -> str:
        progress = selectors.mailing_progress(mailing=mailing).counts
        return f"progress {progress}; received {len(bulk_received(handler))}\n{cluster.logs()}"

    confirmation_latency = None
    for kill in range(KILLS):
        # Kill while the mailing is going out: after some more messages have arrived.
        target = len(bulk_received(handler)) + 25
        wait_for(functools.partial(arrived, handler, target), timeout=60, describe=describe)
        assert not selectors.mailing_progress(mailing=mailing).finished
        bulk.kill()
        bulk.start()
        if kill == 0:
            # A confirmation queued mid-mailing travels on "mail" and is not held back.
            queued_at = time.monotonic()
            signature_create(petition=petition, email="confirm-me@example.org")
            wait_for(
                lambda: handler.per_recipient()["confirm-me@example.org"] == 1,
                timeout=10,
                describe=describe,
            )
            confirmation_latency = time.monotonic() - queued_at

    def finished() -> bool:
        mailing.refresh_from_db()
        return mailing.status == Mailing.Status.DONE

    wait_for(finished, timeout=120, describe=describe)
    assert confirmation_latency is not None and confirmation_latency < 5, confirmation_latency
    assert not selectors.mailing_progress(mailing=mailing).counts[S.QUEUED]

    rows = rows_by_number(mailing)
    received = Counter(
        int(item.recipients[0].removeprefix("person").removesuffix("@example.org"))
        for item in bulk_received(handler)
    )
    # Nobody else: only eligible recipients were mailed, each one in their own message.
    assert set(received) <= eligible
    assert all(len(item.recipients) == 1 for item in bulk_received(handler))
    unknown = set()
    for n, row in rows.items():
        if n in SKIPPED:
            assert row.status == S.SKIPPED, (n, row.status)
        elif n in SUPPRESSED:
            assert row.status == S.SUPPRESSED, (n, row.status)
        elif row.status == S.UNKNOWN:
            # Handed over in the instant of a kill: perhaps received, never twice.
            unknown.add(n)
            assert received[n] <= 1, n
        else:
            assert row.status == S.SENT, (n, row.status, row.last_error)
            assert received[n] == 1, (n, received[n])
    # At most the one message each killed process had in hand.
    assert len(unknown) <= KILLS * BULK_PROCESSES, unknown
    assert Suppression.objects.count() == len(SUPPRESSED)
    assert time.monotonic() - started < 180


def test_every_recipient_gets_their_own_headers_and_links(sink, cluster):
    handler, _ = sink
    handler.delay = 0.0
    test_kind.register()
    cluster.worker(queues="periodic", name="periodic", concurrency=1)
    cluster.beat()
    cluster.worker(queues="bulk", name="bulk", concurrency=BULK_PROCESSES)
    mailing = services.mailing_create(kind=test_kind.KIND, about={"title": "Q & A"})
    services.deliveries_add(
        mailing=mailing, recipients=test_kind.planned(range(5)) + test_kind.planned([5], "ru")
    )
    services.mailing_start(mailing=mailing)

    wait_for(
        lambda: len(bulk_received(handler)) == 6,
        timeout=30,
        describe=lambda: f"{selectors.mailing_progress(mailing=mailing).counts}\n{cluster.logs()}",
    )

    rows = rows_by_number(mailing)
    for item in bulk_received(handler):
        message = item.message
        [to] = item.recipients
        n = int(to.removeprefix("person").removesuffix("@example.org"))
        url = f"https://sbor.test/u/{mailing.public_id}/{n}/"
        assert message["To"] == to
        # Folded after the name (the URL is long and has no space): unfolded, the same.
        assert message["List-Unsubscribe"].strip() == f"<{url}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Precedence"] == "bulk"
        assert message["Message-ID"] == rows[n].provider_message_id
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        assert text is not None and html is not None
        greeting = "Здравствуйте" if n == 5 else "Hello"
        assert text.get_content().startswith(f"{greeting} Person <{n}>,")
        assert f"Unsubscribe: {url}" in text.get_content()
        assert f"Person &lt;{n}&gt;" in html.get_content()
        assert f'href="{url}"' in html.get_content()
        assert "Q &amp; A" in html.get_content()
        assert message["Subject"] == ("Q & A (ru)" if n == 5 else "Q & A (en)")
