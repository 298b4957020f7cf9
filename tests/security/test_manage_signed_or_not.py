"""None"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mailer.models import OutboxMessage
from petitions import emails
from petitions.models import ManageLinkRequest, Supporter
from petitions.services import manage_links
from tests.html import elements
from tests.security.manage_asking import KNOWN, UNKNOWN, ask

pytestmark = pytest.mark.django_db
LIMITED = "from your network in the last hour"


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
