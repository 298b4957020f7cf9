"""Asking for a manage link mails one email per person per interval, however it is asked."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from mailer.models import OutboxMessage
from petitions import emails
from petitions.models import ManageLinkRequest
from petitions.services import manage_links
from tests.factories import petition_create, signature_create
from tests.security.manage_asking import KNOWN, UNKNOWN, ask

pytestmark = pytest.mark.django_db


# --- One email per person per interval --------------------------------------------------------


def test_the_interval_holds_across_many_requests_from_many_ips(
    signer, settings, django_capture_on_commit_callbacks
):
    settings.MANAGE_LINK_INTERVAL_SECONDS = 600
    settings.RATE_MANAGE_ADDRESS_PER_HOUR = 1000
    settings.RATE_MANAGE_IP_PER_HOUR = 1000
    with django_capture_on_commit_callbacks(execute=True):
        answers = [ask(KNOWN, ip=f"10.0.{n // 250}.{n % 250 + 1}") for n in range(40)]
    assert {response.status_code for response in answers} == {200}
    assert len(mail.outbox) == 1
    # Just inside the interval: still nothing; once it has passed, one more link.
    sent = OutboxMessage.objects.get(kind=emails.SIGNATURE_MANAGE_LINK)
    OutboxMessage.objects.filter(pk=sent.pk).update(
        created_at=timezone.now() - timedelta(seconds=590)
    )
    with django_capture_on_commit_callbacks(execute=True):
        ask(KNOWN, ip="10.9.9.9")
    assert len(mail.outbox) == 1
    OutboxMessage.objects.filter(pk=sent.pk).update(
        created_at=timezone.now() - timedelta(seconds=601)
    )
    with django_capture_on_commit_callbacks(execute=True):
        ask(KNOWN, ip="10.9.9.10")
    assert len(mail.outbox) == 2


def test_requests_answered_together_mail_once(signer, settings):
    settings.MANAGE_LINK_INTERVAL_SECONDS = 600
    rows = [ManageLinkRequest.objects.create(email=KNOWN, language="en") for _ in range(5)]
    results = [manage_links.manage_link_request_process(request_id=row.pk) for row in rows]
    assert results == [True, False, False, False, False]
    assert OutboxMessage.objects.filter(kind=emails.SIGNATURE_MANAGE_LINK).count() == 1


# --- The task and the sweep -------------------------------------------------------------------


def test_the_task_is_safe_to_run_twice(signer):
    row = ManageLinkRequest.objects.create(email=KNOWN, language="ru")
    assert manage_links.manage_link_request_process(request_id=row.pk) is True
    assert manage_links.manage_link_request_process(request_id=row.pk) is False
    message = OutboxMessage.objects.get(kind=emails.SIGNATURE_MANAGE_LINK)
    assert message.language == "ru"
    assert not ManageLinkRequest.objects.exists()


def test_a_request_whose_task_was_lost_is_answered_by_the_sweep(
    signer, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("broker down")

    from petitions import tasks

    monkeypatch.setattr(tasks.manage_link_request_process, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(KNOWN)
    assert response.status_code == 200
    assert ManageLinkRequest.objects.count() == 1
    assert mail.outbox == []
    # Young rows are left to their own task; older ones are answered.
    assert manage_links.manage_link_requests_sweep() == 0
    ManageLinkRequest.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert manage_links.manage_link_requests_sweep() == 1
    assert [message.to for message in mail.outbox] == [[KNOWN]]
    assert not ManageLinkRequest.objects.exists()


def test_the_sweep_deletes_stale_requests_without_mailing(signer):
    row = ManageLinkRequest.objects.create(email=KNOWN, language="en")
    ManageLinkRequest.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - manage_links.MANAGE_LINK_REQUEST_STALE - timedelta(minutes=1)
    )
    assert manage_links.manage_link_requests_sweep() == 0
    assert not ManageLinkRequest.objects.exists()
    assert not OutboxMessage.objects.filter(kind=emails.SIGNATURE_MANAGE_LINK)


def test_a_stale_request_reached_by_its_late_task_is_dropped(signer):
    row = ManageLinkRequest.objects.create(email=KNOWN, language="en")
    ManageLinkRequest.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - manage_links.MANAGE_LINK_REQUEST_STALE - timedelta(minutes=1)
    )
    assert manage_links.manage_link_request_process(request_id=row.pk) is False
    assert not ManageLinkRequest.objects.exists()


def test_the_address_in_a_request_row_is_encrypted_at_rest(signer):
    row = ManageLinkRequest.objects.create(email=KNOWN, language="en")
    with connection.cursor() as cursor:
        cursor.execute("SELECT email FROM petitions_managelinkrequest WHERE id = %s", [row.pk])
        [(stored,)] = cursor.fetchall()
    assert "example" not in stored.lower()
    assert "known" not in stored.lower()


def test_the_limit_message_is_in_the_visitors_language(settings):
    settings.RATE_MANAGE_IP_PER_HOUR = 1
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    ask(UNKNOWN, ip="192.0.2.1", client=client)
    response = ask(UNKNOWN, ip="192.0.2.1", client=client)
    assert response.status_code == 429
    assert "Из вашей сети запросили слишком много ссылок" in response.content.decode()


def at_once(count: int, work: Callable[[int], bool]) -> list[bool]:
    """Run ``work(i)`` in ``count`` threads released together (each its own connection)."""
    barrier = threading.Barrier(count, timeout=30)
    results: list[bool] = []
    errors: list[BaseException] = []

    def target(index: int) -> None:
        try:
            barrier.wait()
            results.append(work(index))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not [thread for thread in threads if thread.is_alive()], "a thread is stuck"
    assert errors == []
    return results


@pytest.mark.django_db(transaction=True)
def test_simultaneous_answers_for_one_person_mail_once(settings):
    settings.MANAGE_LINK_INTERVAL_SECONDS = 600
    signature_create(petition=petition_create(), email=KNOWN, confirmed=True)
    rows = [ManageLinkRequest.objects.create(email=KNOWN, language="en") for _ in range(8)]
    results = at_once(8, lambda i: manage_links.manage_link_request_process(request_id=rows[i].pk))
    assert sorted(results) == [False] * 7 + [True]
    assert OutboxMessage.objects.filter(kind=emails.SIGNATURE_MANAGE_LINK).count() == 1
    assert not ManageLinkRequest.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_one_request_answered_by_several_workers_at_once_mails_once(settings):
    settings.MANAGE_LINK_INTERVAL_SECONDS = 0  # only the claim on the row may stop a second
    signature_create(petition=petition_create(), email=KNOWN, confirmed=True)
    row = ManageLinkRequest.objects.create(email=KNOWN, language="en")
    results = at_once(6, lambda i: manage_links.manage_link_request_process(request_id=row.pk))
    assert sorted(results) == [False] * 5 + [True]
    assert OutboxMessage.objects.filter(kind=emails.SIGNATURE_MANAGE_LINK).count() == 1
