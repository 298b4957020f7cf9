"""Nobody learns whether an address has signed.

For every surface an outsider can watch, the same sign is made with an address that has
never signed, one whose signature awaits confirmation, and one whose signature is
confirmed, and everything the outsider could see is compared: the HTTP answer of the form
and of the API (status, headers but the date, body), the thanks page, the public pages and
numbers before and after the periodic tasks run, the SQL statements and Celery tasks a
request causes (their number and their shape), and which emails anyone but the address's
owner receives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from petitions import services
from petitions.models import Petition
from petitions.services import addresses
from tests.factories import petition_create, signature_create

pytestmark = pytest.mark.django_db

UNKNOWN = "never.signed@example.org"
PENDING = "awaits.confirmation@example.org"
CONFIRMED = "has.confirmed@example.org"
CASES = {"unknown": UNKNOWN, "pending": PENDING, "confirmed": CONFIRMED}
# The same name for everyone: only the address differs between the cases.
TYPED = {"name": "Same Name", "display": "full", "country": "DE"}
IP = "198.51.100.23"


@pytest.fixture(autouse=True)
def _roomy_limits(settings: Any) -> None:
    # Every case signs from one address in quick succession: limits must not tell them apart.
    settings.RATE_IP_BURST_PER_MINUTE = 1000
    settings.RATE_IP_SUSTAINED_PER_HOUR = 1000
    settings.RATE_DOMAIN_PER_HOUR = 1000
    settings.CHALLENGE_AUTO_PER_MINUTE = 100000


@pytest.fixture
def petition() -> Petition:
    """A petition with a signer awaiting confirmation and one confirmed and counted."""
    petition = petition_create(title="Free the Three")
    signature_create(petition=petition, email=PENDING, name="Pending Person")
    signature_create(petition=petition, email=CONFIRMED, name="Counted Person", confirmed=True)
    periodic_tasks_run()
    mail.outbox.clear()
    return petition


def periodic_tasks_run() -> None:
    """Everything the beat schedule runs that could move a public number or page."""
    services.sign_attempts_sweep()
    services.signature_counts_refresh()
    services.signature_counts_repair()
    services.petition_integrity_refresh()
    addresses.supporter_emails_drop()


_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def page_text(response: Any) -> str:
    return _CSRF.sub('name="csrfmiddlewaretoken" value=""', response.content.decode())


def _header(name: str, value: str) -> str:
    if name.lower() == "content-security-policy":
        # django-csp writes the same directives in no fixed order.
        return "; ".join(sorted(part.strip() for part in value.split(";")))
    return value


def answer(response: Any) -> tuple[object, ...]:
    """Status, headers but the date, cookies without their (random) values and clock-made
    expiry dates, and the body."""
    headers = sorted((k, _header(k, v)) for k, v in response.headers.items() if k.lower() != "date")
    cookies = sorted(
        (name, {k: v for k, v in morsel.items() if v and k != "expires"})
        for name, morsel in response.cookies.items()
    )
    return response.status_code, headers, json.dumps(cookies, sort_keys=True), page_text(response)


def public_view(client: Client, petition: Petition) -> dict[str, object]:
    """What anyone can read about the petition, as an outsider's client sees it."""
    campaign = petition.campaign.slug
    return {
        "campaign page": answer(client.get(f"/c/{campaign}/")),
        "count api": answer(client.get(f"/api/v1/petitions/{petition.slug}/count/")),
        "embed": answer(client.get(f"/p/{petition.slug}/embed/")),
        "thanks": answer(client.get(f"/p/{petition.slug}/thanks/")),
        "confirmed": answer(client.get(f"/p/{petition.slug}/confirmed/")),
        "home": answer(client.get("/")),
    }


_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b|X'[0-9a-fA-F]*'")
_SAVEPOINTS = re.compile(r'"s\d+_x\d+"')


def shape(sql: str) -> str:
    """A statement with its values taken out: what it does, not with which row."""
    return _LITERALS.sub("?", _SAVEPOINTS.sub('"savepoint"', sql))


@dataclass
class Observed:
    answer: tuple[object, ...]
    statements: list[str]
    enqueued: int
    mail_to_others: list[tuple[str, ...]]


def sign_form(client: Client, petition: Petition, email: str) -> Any:
    return client.post(f"/p/{petition.slug}/sign/", {**TYPED, "email": email}, REMOTE_ADDR=IP)


def sign_api(client: Client, petition: Petition, email: str) -> Any:
    body = {"name": TYPED["name"], "display": TYPED["display"], "email": email}
    return client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/",
        json.dumps(body),
        content_type="application/json",
        REMOTE_ADDR=IP,
    )


@pytest.fixture
def observe(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> Iterator[Callable[..., Observed]]:
    def run(sign: Callable[[], Any], *, owner: str) -> Observed:
        mail.outbox.clear()
        with (
            django_capture_on_commit_callbacks() as callbacks,
            CaptureQueriesContext(connection) as queries,
        ):
            response = sign()
        # Then the worker: the tasks the request enqueued, and the mail they queue.
        with django_capture_on_commit_callbacks(execute=True):
            for callback in callbacks:
                callback()
        others = [tuple(m.to) for m in mail.outbox if m.to != [owner]]
        return Observed(
            answer=answer(response),
            statements=[shape(query["sql"]) for query in queries.captured_queries],
            enqueued=len(callbacks),
            mail_to_others=others,
        )

    yield run


@pytest.mark.parametrize("sign", [sign_form, sign_api], ids=["form", "api"])
def test_the_request_looks_and_works_the_same_whoever_the_address_is(
    client, petition, observe, sign
):
    # A first sign warms every cache (block rules, IP-hash key, templates) for all cases.
    observe(lambda: sign(client, petition, "warm.up@example.org"), owner="warm.up@example.org")

    seen = {
        case: observe(lambda email=email: sign(client, petition, email), owner=email)
        for case, email in CASES.items()
    }

    unknown = seen["unknown"]
    assert unknown.answer[0] in (302, 202)
    assert unknown.enqueued == 1
    for case in ("pending", "confirmed"):
        assert seen[case].answer == unknown.answer, case
        assert seen[case].statements == unknown.statements, case
        assert seen[case].enqueued == unknown.enqueued, case
    assert {case: o.mail_to_others for case, o in seen.items()} == {case: [] for case in CASES}


def test_every_public_page_and_number_is_the_same_before_and_after_the_periodic_tasks(
    client, petition, observe
):
    outsider = Client()
    before = public_view(outsider, petition)

    for case, email in CASES.items():
        observe(lambda email=email: sign_form(client, petition, email), owner=email)
        assert public_view(outsider, petition) == before, f"{case}: before the tasks"
        periodic_tasks_run()
        assert public_view(outsider, petition) == before, f"{case}: after the tasks"


def test_the_thanks_page_is_the_same_whoever_signed(client, petition, observe):
    pages = {}
    for case, email in CASES.items():
        observe(lambda email=email: sign_form(client, petition, email), owner=email)
        pages[case] = answer(client.get(f"/p/{petition.slug}/thanks/"))

    assert pages["pending"] == pages["unknown"] == pages["confirmed"]


def test_only_the_owner_of_the_address_is_mailed_and_never_with_the_typed_name(
    client, petition, observe
):
    for case, email in CASES.items():
        mail.outbox.clear()
        observed = observe(lambda email=email: sign_form(client, petition, email), owner=email)

        assert observed.mail_to_others == [], case
        assert [m.to for m in mail.outbox] == [[email]], case
        [message] = mail.outbox
        html = message.alternatives[0][0]
        assert "Same Name" not in message.subject + message.body + html, case


def test_a_flagged_attempt_looks_the_same_whoever_the_address_is(client, petition, observe):
    """A script filling the honeypot gets the normal answer, for any address, and the
    only thing that moves is a tally, which moves the same for everyone."""
    honeypot = {**TYPED, "website": "http://spam.example/"}
    # The day's first flagged attempt makes the tally's row: warm it up for every case.
    client.post(f"/p/{petition.slug}/sign/", {**honeypot, "email": "w@example.org"})
    seen = {}
    for case, email in CASES.items():
        seen[case] = observe(
            lambda email=email: client.post(
                f"/p/{petition.slug}/sign/", {**honeypot, "email": email}, REMOTE_ADDR=IP
            ),
            owner=email,
        )
    assert seen["pending"].answer == seen["unknown"].answer == seen["confirmed"].answer
    assert seen["pending"].statements == seen["unknown"].statements
    assert seen["confirmed"].statements == seen["unknown"].statements
    assert [o.enqueued for o in seen.values()] == [0, 0, 0]
    assert mail.outbox == []
