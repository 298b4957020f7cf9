"""Workers SIGKILLed mid-send lose no email; periodic work runs behind a flood of other work."""

from __future__ import annotations

import functools
import time
import uuid

import pytest
import redis
from django.utils import timezone

from config.celery import app as celery_app
from mailer.models import OutboxMessage
from petitions import services, tasks
from petitions.models import Petition, SignAttempt, Signature, Supporter
from tests.e2e.cluster import CountingHandler, outbox_statuses
from tests.e2e.harness import wait_for
from tests.factories import signature_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


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
