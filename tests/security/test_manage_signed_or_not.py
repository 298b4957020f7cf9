"""Asking "/manage/" for a link tells an outsider nothing about whether an address signed.

Each test posts an address that has signed and one that has not in exactly the same way
and compares everything an outsider can see: the answer (status, body, cookies), the work
done while they wait (SQL statements, tasks enqueued), when the limits trip, and who gets
mail. Only the owner of a known address ever receives anything.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mailer.models import OutboxMessage
from petitions import emails
from petitions.models import ManageLinkRequest, Signature, Supporter
from petitions.services import manage_links
from tests.factories import petition_create, signature_create
from tests.html import elements

pytestmark = pytest.mark.django_db

KNOWN = "Known.Signer@example.org"
UNKNOWN = "never.signed@example.org"
LIMITED = "from your network in the last hour"


@pytest.fixture
def signer() -> Signature:
    """A confirmed signer without consent: their stored address has been dropped."""
    signature = signature_create(petition=petition_create(), email=KNOWN, confirmed=True)
    assert signature.supporter is not None
    Supporter.objects.filter(pk=signature.supporter.pk).update(email="")
    return signature


@pytest.fixture(autouse=True)
def _empty_inbox() -> Iterator[None]:
    mail.outbox.clear()
    yield


def ask(email: str, *, ip: str = "198.51.100.7", client: Client | None = None) -> Any:
    return (client or Client()).post("/manage/", {"email": email}, REMOTE_ADDR=ip)


def visible(response: Any) -> tuple[int, str, list[tuple[str, dict[str, str]]]]:
    """What an outsider sees: status, the body without CSRF tokens, cookies without values
    or clock-made expiry dates."""
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())
    cookies = sorted(
        (name, {k: str(v) for k, v in morsel.items() if k != "expires"})
        for name, morsel in response.cookies.items()
    )
    return response.status_code, body, cookies


def statements(queries: list[dict[str, Any]]) -> list[str]:
    """SQL with every literal taken out: which statements ran, not with which values."""
    literal = r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b|\"s\d+_x\d+\""  # values, savepoint names
    return [re.sub(literal, "?", query["sql"]) for query in queries]


def observed(email: str, capture: Callable[..., Any]) -> tuple[Any, list[str], int]:
    """Post ``email`` once; the answer, the SQL it ran, and how many callbacks it left."""
    with capture(execute=False) as callbacks, CaptureQueriesContext(connection) as queries:
        response = ask(email)
    return response, statements(queries.captured_queries), len(callbacks)


# --- The answer and the work done while the person waits ----------------------------------


def test_known_and_unknown_addresses_get_byte_identical_answers(
    signer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        known = ask(KNOWN)
        unknown = ask(UNKNOWN)
    assert known.status_code == 200
    assert visible(known) == visible(unknown)
    assert [message.to for message in mail.outbox] == [[KNOWN]]


def test_known_and_unknown_addresses_do_the_same_sql_and_enqueue_one_task_each(
    signer, django_capture_on_commit_callbacks
):
    known, known_sql, known_tasks = observed(KNOWN, django_capture_on_commit_callbacks)
    unknown, unknown_sql, unknown_tasks = observed(UNKNOWN, django_capture_on_commit_callbacks)
    assert known.status_code == unknown.status_code == 200
    assert known_sql == unknown_sql
    assert any(sql.startswith("INSERT") and "managelinkrequest" in sql for sql in known_sql)
    assert not any("supporter" in sql for sql in known_sql)
    assert known_tasks == unknown_tasks == 1
    assert ManageLinkRequest.objects.count() == 2
    # The rows are encrypted and carry nothing that tells the two apart.
    assert {row.language for row in ManageLinkRequest.objects.all()} == {"en"}
    assert not OutboxMessage.objects.filter(kind=emails.SIGNATURE_MANAGE_LINK)


def test_the_number_of_queries_is_the_same_fixed_number_for_both(
    signer, django_assert_num_queries, django_capture_on_commit_callbacks
):
    _, baseline, _ = observed(UNKNOWN, django_capture_on_commit_callbacks)
    for email in (KNOWN, UNKNOWN):
        with django_assert_num_queries(len(baseline)):
            ask(email, ip="203.0.113.9")


def test_only_the_owner_of_a_known_address_gets_mail_and_their_address_is_stored_again(
    signer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ask(UNKNOWN)
        ask(KNOWN.upper())
    [message] = mail.outbox
    assert message.to == ["KNOWN.SIGNER@example.org"]  # as typed, the domain canonical
    assert "/manage/" in message.body
    assert ManageLinkRequest.objects.count() == 0
    assert Supporter.objects.count() == 1


# --- Limits per client IP and per address ---------------------------------------------------


def statuses(email: str, *, ips: list[str]) -> list[int]:
    return [ask(email, ip=ip).status_code for ip in ips]


def mailed(email: str, *, ips: list[str], capture: Callable[..., Any]) -> list[int]:
    """Ask once from each IP; how many emails each request led to."""
    counts = []
    for ip in ips:
        before = len(mail.outbox)
        with capture(execute=True):
            assert ask(email, ip=ip).status_code == 200
        counts.append(len(mail.outbox) - before)
    return counts


def test_past_the_limit_per_address_the_answer_is_the_usual_one_and_nothing_is_mailed(
    signer, settings, django_capture_on_commit_callbacks
):
    settings.RATE_MANAGE_ADDRESS_PER_HOUR = 3
    settings.RATE_MANAGE_IP_PER_HOUR = 100
    settings.MANAGE_LINK_INTERVAL_SECONDS = 0
    ips = [f"192.0.2.{n}" for n in range(1, 6)]  # a new IP each time: only the address counts
    assert mailed(KNOWN, ips=ips, capture=django_capture_on_commit_callbacks) == [1, 1, 1, 0, 0]
    assert mailed(UNKNOWN, ips=ips, capture=django_capture_on_commit_callbacks) == [0] * 5
    assert not ManageLinkRequest.objects.exists()


def test_the_limit_per_address_counts_every_spelling_of_it(
    signer, settings, django_capture_on_commit_callbacks
):
    settings.RATE_MANAGE_ADDRESS_PER_HOUR = 2
    settings.RATE_MANAGE_IP_PER_HOUR = 100
    settings.MANAGE_LINK_INTERVAL_SECONDS = 0
    spellings = [KNOWN, KNOWN.upper(), f"  {KNOWN.lower()} "]
    counts = [
        mailed(email, ips=[f"192.0.2.{n}"], capture=django_capture_on_commit_callbacks)[0]
        for n, email in enumerate(spellings)
    ]
    assert counts == [1, 1, 0]


def test_past_the_limit_per_address_the_request_does_the_same_work(
    signer, settings, django_capture_on_commit_callbacks
):
    settings.RATE_MANAGE_ADDRESS_PER_HOUR = 1
    settings.RATE_MANAGE_IP_PER_HOUR = 100
    within, within_sql, within_tasks = observed(KNOWN, django_capture_on_commit_callbacks)
    past, past_sql, past_tasks = observed(KNOWN, django_capture_on_commit_callbacks)
    assert visible(within) == visible(past)
    assert within_sql == past_sql
    assert within_tasks == past_tasks == 1
    # The row past the limit holds no address: its task has nobody to mail.
    rows = list(ManageLinkRequest.objects.order_by("pk"))
    assert [row.email for row in rows] == [KNOWN, ""]
    assert manage_links.manage_link_request_process(request_id=rows[1].pk) is False
    assert not OutboxMessage.objects.filter(kind=emails.SIGNATURE_MANAGE_LINK)


Seen = tuple[tuple[int, str, list[tuple[str, dict[str, str]]]], list[str], int]


def attacker_view(*, owner_asked: bool, capture: Callable[..., Any]) -> list[Seen]:
    """Everything a stranger sees while asking for the owner's link until well past the
    limit per address, after the owner has (or has not) asked for one this hour."""
    from trust.ratelimit import ratelimit_reset

    ratelimit_reset()
    if owner_asked:
        with capture(execute=True):
            assert ask(KNOWN, ip="203.0.113.77").status_code == 200
    seen: list[Seen] = []
    for _ in range(5):
        response, sql, tasks = observed(KNOWN, capture)
        seen.append((visible(response), sql, tasks))
    return seen


def test_a_stranger_cannot_tell_whether_the_owner_asked_for_a_link(
    signer, settings, django_capture_on_commit_callbacks
):
    settings.RATE_MANAGE_ADDRESS_PER_HOUR = 3
    settings.RATE_MANAGE_IP_PER_HOUR = 100
    asked = attacker_view(owner_asked=True, capture=django_capture_on_commit_callbacks)
    not_asked = attacker_view(owner_asked=False, capture=django_capture_on_commit_callbacks)
    assert asked == not_asked
    assert {answer[0] for answer, _, _ in asked} == {200}


def test_the_limit_per_ip_trips_at_the_same_point_whatever_the_addresses(signer, settings):
    settings.RATE_MANAGE_IP_PER_HOUR = 5
    settings.RATE_MANAGE_ADDRESS_PER_HOUR = 100
    known = statuses(KNOWN, ips=["198.51.100.1"] * 7)
    mixed = [
        ask(email, ip="198.51.100.2").status_code for email in [UNKNOWN, KNOWN] * 3 + [UNKNOWN]
    ]
    unknown = statuses(UNKNOWN, ips=["198.51.100.3"] * 7)
    assert known == mixed == unknown == [200] * 5 + [429] * 2


def test_an_ipv6_client_is_limited_per_64(settings):
    settings.RATE_MANAGE_IP_PER_HOUR = 2
    settings.RATE_MANAGE_ADDRESS_PER_HOUR = 100
    ips = ["2001:db8:1:2::1", "2001:db8:1:2::ff", "2001:db8:1:2:abcd::7"]
    assert statuses(UNKNOWN, ips=ips) == [200, 200, 429]
    assert ask(UNKNOWN, ip="2001:db8:1:3::1").status_code == 200  # another /64


def test_requests_without_a_usable_ip_share_one_bucket(settings):
    settings.RATE_MANAGE_IP_PER_HOUR = 2
    settings.RATE_MANAGE_ADDRESS_PER_HOUR = 100
    assert [ask(f"p{n}@example.org", ip="not-an-ip").status_code for n in range(3)] == [
        200,
        200,
        429,
    ]


def test_past_the_ip_limit_the_answer_is_specific_keeps_the_input_and_is_the_same_for_both(
    signer, settings, django_capture_on_commit_callbacks
):
    settings.RATE_MANAGE_ADDRESS_PER_HOUR = 100
    settings.RATE_MANAGE_IP_PER_HOUR = 1
    ask(KNOWN, ip="192.0.2.1")
    ask(UNKNOWN, ip="192.0.2.2")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        known = ask(KNOWN, ip="192.0.2.1")
        unknown = ask(KNOWN.replace("Known.Signer", "never.signed"), ip="192.0.2.2")
    assert callbacks == []  # nothing recorded, nothing enqueued
    assert known.status_code == unknown.status_code == 429
    html = known.content.decode()
    assert LIMITED in html
    [field] = elements(html, "input", name="email")
    assert field["value"] == KNOWN
    assert field["aria-invalid"] == "true"
    assert "id_email_error" in (field["aria-describedby"] or "")
    [error] = elements(html, "p", id="id_email_error")
    assert error is not None
    # The same words for both; only the echoed address differs.
    _, known_body, _ = visible(known)
    _, unknown_body, _ = visible(unknown)
    assert known_body.replace(KNOWN, "X") == unknown_body.replace(
        KNOWN.replace("Known.Signer", "never.signed"), "X"
    )


def test_past_the_ip_limit_the_message_names_the_network(settings):
    settings.RATE_MANAGE_IP_PER_HOUR = 1
    ask(UNKNOWN, ip="198.51.100.50")
    response = ask("someone.else@example.org", ip="198.51.100.50")
    assert response.status_code == 429
    assert "from your network" in response.content.decode()


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
