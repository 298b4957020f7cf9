"""200 signatures from one IP at once: the burst limit holds exactly, with no race.

Real concurrency: twenty threads, each with its own client and database connection, post
the real sign view, so the test needs committed transactions (``transaction=True``). It
runs on PostgreSQL + Redis (where the counter is one Redis INCR per attempt) and on the
SQLite + in-process defaults (a lock around a dict).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from mailer.models import OutboxMessage
from petitions import services
from petitions.models import FlaggedAttemptTally, Signature, Supporter
from tests.factories import petition_create, signature_confirm
from trust import ratelimit
from trust.iphash import ip_hash_candidates

ATTEMPTS = 200
THREADS = 20
BURST_LIMIT = 25
IP = "198.51.100.7"
# Pinned to the middle of a minute: the whole burst falls in one fixed window, however
# long the test takes.
FROZEN_NOW = 1_800_000_000.0 + 30


@pytest.mark.django_db(transaction=True)
def test_two_hundred_signatures_from_one_ip_at_once_let_exactly_the_burst_limit_through(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.RATE_IP_BURST_PER_MINUTE = BURST_LIMIT
    settings.RATE_IP_SUSTAINED_PER_HOUR = 100_000
    settings.RATE_DOMAIN_PER_HOUR = 100_000
    # The automatic proof-of-work switch would otherwise turn on mid-burst and answer 422.
    settings.CHALLENGE_AUTO_PER_MINUTE = 100_000
    monkeypatch.setattr(ratelimit, "_now", lambda: FROZEN_NOW)
    petition = petition_create()
    url = f"/p/{petition.slug}/sign/"
    clients = threading.local()
    barrier = threading.Barrier(THREADS, timeout=60)

    def attempt(n: int) -> tuple[int, str]:
        if not hasattr(clients, "client"):
            clients.client = Client()
            barrier.wait()  # every thread ready before the first request goes out
        try:
            response = clients.client.post(
                url,
                {"name": f"Signer {n}", "email": f"signer{n}@example.org", "display": "hidden"},
                REMOTE_ADDR=IP,
            )
            return response.status_code, response.get("Location", "")
        finally:
            connection.close()  # this thread's connection: the database must be dropped later

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        answers = list(pool.map(attempt, range(ATTEMPTS)))

    # Every attempt got the same answer, flagged or not.
    assert set(answers) == {(302, f"/p/{petition.slug}/thanks/")}
    signatures = Signature.objects.filter(petition=petition)
    assert signatures.count() == BURST_LIMIT
    assert signatures.filter(status=Signature.Status.PENDING).count() == BURST_LIMIT
    # The others left no row about a person: only the anonymous tally counted them.
    tally = FlaggedAttemptTally.objects.get(petition=petition)
    assert (tally.reason, tally.detail) == ("rate_limit", "ip_burst")
    assert tally.count == ATTEMPTS - BURST_LIMIT
    assert Supporter.objects.count() == BURST_LIMIT
    # Only the signatures within the limit were mailed.
    assert OutboxMessage.objects.count() == BURST_LIMIT
    mailed = [
        int(about["signature"]) for about in OutboxMessage.objects.values_list("about", flat=True)
    ]
    assert set(Signature.objects.filter(pk__in=mailed).values_list("status", flat=True)) == {
        "pending"
    }
    # Every one carries the IP's hash (even if threads raced to make the first key).
    assert set(signatures.values_list("ip_hash", flat=True)) <= set(ip_hash_candidates(ip=IP))
    for signature in signatures:
        signature_confirm(signature)
    services.signature_counts_refresh()
    petition.refresh_from_db()
    assert petition.signature_count == BURST_LIMIT
