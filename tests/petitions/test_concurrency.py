"""Simultaneous writes: the database, not timing, keeps one signature per person.

Each thread has its own database connection (Django connections are per thread), so these
tests need real commits: ``transaction=True``. They run on SQLite too, where the
``IMMEDIATE`` transaction mode configured in settings makes writers queue at BEGIN, and on
PostgreSQL, where the unique constraints and row locks do the work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from mailer.models import OutboxMessage
from petitions import emails, services
from petitions.models import Petition, Signature, Supporter
from tests.factories import petition_create, signature_confirm

T = TypeVar("T")

THREADS = 20
# Generous: a thread that waits this long is stuck, and the test should say so, not hang.
JOIN_TIMEOUT = 60.0

# One mailbox written twenty ways: case, dots and "+tags" are ignored at Gmail.
SAME_PERSON = [
    "Same.Person@gmail.com",
    "sameperson+x@googlemail.com",
    "SAMEPERSON@GMAIL.COM",
    "s.a.m.e.p.e.r.s.o.n@gmail.com",
    "same.person+petition@GoogleMail.com",
]


def run_at_once(count: int, work: Callable[[int], T]) -> tuple[list[T], list[BaseException]]:
    """Run ``work(i)`` in ``count`` threads released together; return results and errors."""
    barrier = threading.Barrier(count, timeout=JOIN_TIMEOUT)
    results: list[T] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def target(index: int) -> None:
        try:
            barrier.wait()
            result = work(index)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(result)
        finally:
            # Each thread opened its own connection; close it so the test database can be
            # flushed (SQLite) or dropped (PostgreSQL) at the end.
            connection.close()

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads did not finish within {JOIN_TIMEOUT}s: {stuck}"
    return results, errors


@pytest.fixture
def interval(settings: Any) -> timedelta:
    """A real repeat-mail interval (tests/conftest.py turns it off for most tests)."""
    settings.DUPLICATE_EMAIL_INTERVAL_SECONDS = 120
    return timedelta(seconds=120)


def sign_as_same_person(petition: Petition) -> Callable[[int], services.SignResult]:
    def sign(index: int) -> services.SignResult:
        return services.signature_create(
            petition=petition,
            email=SAME_PERSON[index % len(SAME_PERSON)],
            name=f"Same Person {index}",
            display=Signature.Display.SHORT,
        )

    return sign


@pytest.mark.django_db(transaction=True)
def test_simultaneous_signing_with_one_address_makes_one_signature(interval: timedelta) -> None:
    petition = petition_create()

    results, errors = run_at_once(THREADS, sign_as_same_person(petition))

    assert errors == []
    assert len(results) == THREADS
    assert Supporter.objects.count() == 1
    assert Signature.objects.count() == 1
    signature = Signature.objects.get()
    assert signature.status == Signature.Status.PENDING
    # Exactly one call created it; all the others were told about the same row.
    assert sum(result.created for result in results) == 1
    assert {result.signature.pk for result in results} == {signature.pk}
    # Twenty submissions, one email: the rest fall within the repeat-mail interval.
    assert list(OutboxMessage.objects.values_list("kind", flat=True)) == [emails.SIGNATURE_CONFIRM]
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_simultaneous_signing_after_the_interval_mails_once(interval: timedelta) -> None:
    """Once the interval has passed, twenty simultaneous re-signs still claim one email."""
    petition = petition_create()
    signature = services.signature_create(
        petition=petition, email="same.person@gmail.com", name="Same Person"
    ).signature
    signature_confirm(signature)
    earlier = timezone.now() - interval - timedelta(seconds=1)
    Signature.objects.filter(pk=signature.pk).update(emailed_at=earlier)
    mail.outbox.clear()

    results, errors = run_at_once(THREADS, sign_as_same_person(petition))

    assert errors == []
    assert not any(result.created for result in results)
    assert Signature.objects.count() == 1
    assert Supporter.objects.count() == 1
    assert list(
        OutboxMessage.objects.filter(about__signature=str(signature.pk))
        .order_by("pk")
        .values_list("kind", flat=True)
    ) == [emails.SIGNATURE_CONFIRM, emails.SIGNATURE_ALREADY_SIGNED]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("You have already signed")


@pytest.mark.django_db(transaction=True)
def test_simultaneous_confirmations_confirm_once_and_count_once() -> None:
    petition = petition_create()
    signature = services.signature_create(
        petition=petition, email="Confirm.Me@example.org", name="Confirm Me"
    ).signature

    def confirm(_index: int) -> bool:
        # A fresh object per thread, as each request would load its own.
        return signature_confirm(Signature.objects.get(pk=signature.pk))

    results, errors = run_at_once(THREADS, confirm)

    assert errors == []
    assert sorted(results) == [False] * (THREADS - 1) + [True]
    signature.refresh_from_db()
    assert signature.status == Signature.Status.CONFIRMED
    assert signature.confirmed_at is not None

    counted, errors = run_at_once(8, lambda _index: services.signature_counts_refresh())

    assert errors == []
    assert sorted(counted) == [0] * 7 + [1]
    petition.refresh_from_db()
    assert petition.signature_count == 1
    # Running again later finds nothing new.
    assert services.signature_counts_refresh() == 0
    petition.refresh_from_db()
    assert petition.signature_count == 1


@pytest.mark.django_db(transaction=True)
def test_simultaneous_signing_and_counting_never_double_counts() -> None:
    """Confirmations and count runs interleaved: the count equals the confirmed signatures."""
    petition = petition_create()
    signatures = [
        services.signature_create(
            petition=petition, email=f"signer{i}@example.org", name=f"Signer {i}"
        ).signature
        for i in range(10)
    ]

    def work(index: int) -> int:
        if index % 2 == 0:
            signature_confirm(signatures[index // 2])
            return 0
        return services.signature_counts_refresh()

    _, errors = run_at_once(THREADS, work)
    assert errors == []
    services.signature_counts_refresh()  # whatever was confirmed after the last run

    petition.refresh_from_db()
    assert petition.signature_count == 10
    assert Signature.objects.filter(status=Signature.Status.CONFIRMED, counted=True).count() == 10
