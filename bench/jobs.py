"""Database jobs for bench/run.py, run in their own process with the bench settings.

    python -m bench.jobs prepare | queries | fill --rows N | refresh --pending N | stats

Each prints one JSON object on its last line of output. Rows are written with set-based
SQL (generate_series on PostgreSQL, a recursive CTE on SQLite), never row by row.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.views import QUEUE, TABLE, table_create_sql  # noqa: E402
from petitions.demo.loader import PETITION_SLUG  # noqa: E402
from petitions.models import Petition, SignAttempt, Signature  # noqa: E402
from petitions.selectors import petition_recent_signers  # noqa: E402
from petitions.services import signature_counts_refresh  # noqa: E402
from trust.crypto import encrypt  # noqa: E402

# Bench rows are told apart by their email_digest prefix; a real digest is 64 hex digits,
# so a prefix with a dash in it can never collide with one.
FILL_PREFIX = "bfill-"
PENDING_PREFIX = "bpend-"
_DIGEST_LENGTH = 64


def _petition() -> Petition:
    return Petition.objects.get(slug=PETITION_SLUG)


def _recent_signers_ms(petition: Petition, *, tries: int = 3) -> float:
    """The uncached recent-signers query the campaign page runs once per cache period."""
    best = float("inf")
    for _ in range(tries):
        cache.delete(f"petition:{petition.pk}:recent-signers")
        started = time.perf_counter()
        petition_recent_signers(petition=petition)
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 2)


def _insert_people(*, petition: Petition, prefix: str, rows: int, confirmed: bool) -> int:
    """``rows`` new supporters, each with one signature on ``petition``; returns the count."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    pad = _DIGEST_LENGTH - len(prefix)
    status = Signature.Status.CONFIRMED if confirmed else Signature.Status.PENDING
    if connection.vendor == "postgresql":
        series = "generate_series(1, %s) AS g(n)"
        digest = f"%s || lpad(g.n::text, {pad}, '0')"
        uuid = "gen_random_uuid()"
        prefix_sql = ""
        from_sql = f"FROM {series}"
    else:
        prefix_sql = "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < %s) "
        digest = f"%s || printf('%%0{pad}d', g.n)"
        uuid = "lower(hex(randomblob(16)))"
        from_sql = "FROM g"
    # Emails and names are stored encrypted: one token each, shared by every generated row
    # (decrypting any row works, as on a real table; the values themselves don't matter).
    email_token, name_token = encrypt("bench@example.org"), encrypt("Bench Signer")
    supporters = (
        f"{prefix_sql}INSERT INTO petitions_supporter "
        "(public_id, email_digest, email_domain_digest, email_registrable_digest, email, name, "
        "country, language, "
        "created_at) "
        f"SELECT {uuid}, {digest}, '', '', '{email_token}', '{name_token}', '', 'en', %s "
        f"{from_sql}"
    )
    signatures = (
        "INSERT INTO petitions_signature "  # noqa: S608 - no user input
        "(public_id, petition_id, supporter_id, status, display, language, created_at, "
        "confirmation_requested_at, confirmed_at, emailed_at, counted, "
        "source, medium, source_campaign, ip_hash, ip_network_hash, invalid_reason, "
        "invalid_detail, confirm_emails_sent, reminders_sent, name, country) "
        f"SELECT {uuid}, %s, s.id, %s, 'hidden', 'en', %s, %s, %s, %s, %s, '', '', '', "
        f"'', '', '', '', 0, 0, '{name_token}', '' "
        "FROM petitions_supporter s WHERE s.email_digest >= %s AND s.email_digest < %s"
    )
    # The digest range [prefix, prefix with its last character raised) is exactly the prefix.
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(supporters, [prefix, now, rows])
        else:
            cursor.execute(supporters, [rows, prefix, now])
        cursor.execute(
            signatures,
            (
                petition.pk,
                status,
                now,
                now,
                now if confirmed else None,
                now,
                confirmed,
                prefix,
                upper,
            ),
        )
        inserted = cursor.rowcount
        if confirmed:
            cursor.execute(
                "UPDATE petitions_petition SET signature_count = signature_count + %s, "
                "count_refreshed_at = %s WHERE id = %s",
                [inserted, now, petition.pk],
            )
    return inserted


def _server_version() -> str:
    query = (
        "SHOW server_version" if connection.vendor == "postgresql" else "SELECT sqlite_version()"
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        return str(cursor.fetchone()[0]).split()[0]


def prepare() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(table_create_sql(connection.vendor))
        cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608 - constant
    petition = _petition()
    return {
        "vendor": connection.vendor,
        "server_version": _server_version(),
        "petition_count": petition.signature_count,
        "recent_signers_ms": _recent_signers_ms(petition),
    }


def fill(*, rows: int) -> dict[str, Any]:
    petition = _petition()
    started = time.perf_counter()
    inserted = _insert_people(petition=petition, prefix=FILL_PREFIX, rows=rows, confirmed=True)
    with connection.cursor() as cursor:
        # What autovacuum would soon do on a live site; the planner needs the new sizes.
        cursor.execute(
            "ANALYZE" if connection.vendor == "sqlite" else "ANALYZE petitions_signature"
        )
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE petitions_supporter")
    seconds = time.perf_counter() - started
    petition.refresh_from_db()
    return {
        "rows": inserted,
        "seconds": round(seconds, 2),
        "petition_count": petition.signature_count,
        "recent_signers_ms": _recent_signers_ms(petition),
    }


def refresh(*, pending: int) -> dict[str, Any]:
    """Confirm ``pending`` pending signatures at once, then time the count task draining them."""
    petition = _petition()
    _insert_people(petition=petition, prefix=PENDING_PREFIX, rows=pending, confirmed=False)
    upper = PENDING_PREFIX[:-1] + chr(ord(PENDING_PREFIX[-1]) + 1)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE petitions_signature SET status = %s, confirmed_at = %s "
            "WHERE status = %s AND supporter_id IN (SELECT id FROM petitions_supporter "
            "WHERE email_digest >= %s AND email_digest < %s)",
            [Signature.Status.CONFIRMED, now, Signature.Status.PENDING, PENDING_PREFIX, upper],
        )
        confirmed = cursor.rowcount
    before = petition.signature_count
    runs: list[dict[str, float]] = []
    started = time.perf_counter()
    for _ in range(1000):  # bounded: 1000 runs of 5000 would be five million signatures
        run_started = time.perf_counter()
        counted = signature_counts_refresh()
        runs.append(
            {"counted": counted, "ms": round((time.perf_counter() - run_started) * 1000, 1)}
        )
        if counted == 0:
            break
    seconds = time.perf_counter() - started
    petition.refresh_from_db()
    return {
        "confirmed": confirmed,
        "seconds": round(seconds, 3),
        "runs": runs,
        "count_before": before,
        "count_after": petition.signature_count,
    }


def queries(*, repeat: int = 30) -> dict[str, Any]:
    """SQL statements and in-process time per request for each view, without HTTP.

    Goes through the whole middleware stack with Django's test client (CSRF checks off),
    so the difference to the HTTP numbers is the cost of gunicorn and the network.
    """
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    sign = {"name": "Bench Signer", "display": Signature.Display.HIDDEN}
    cases: dict[str, tuple[str, str, dict[str, str] | None]] = {
        "trivial": ("GET", "/bench/trivial/", None),
        "campaign": ("GET", "/c/russia-behind-bars/", None),
        "count": ("GET", f"/api/v1/petitions/{PETITION_SLUG}/count/", None),
        "insert_enqueue": ("POST", "/bench/insert/", {}),
        "sign": ("POST", f"/p/{PETITION_SLUG}/sign/", sign),
    }
    out: dict[str, Any] = {}
    for name, (method, path, form) in cases.items():
        timings = []
        statements = 0
        # The first request warms caches and connections; the last one counts statements
        # (capturing adds a little time, so it is not timed).
        for attempt in range(repeat + 2):
            data = None if form is None else {**form, "email": f"q-{name}-{attempt}@example.org"}
            capture = attempt == repeat + 1
            captured = CaptureQueriesContext(connection)
            with captured if capture else nullcontext():
                started = time.perf_counter()
                response = client.get(path) if method == "GET" else client.post(path, data)
                elapsed = time.perf_counter() - started
            if response.status_code not in (200, 302):
                raise RuntimeError(f"{method} {path}: HTTP {response.status_code}")
            if capture:
                statements = len(captured.captured_queries)
            elif attempt:
                timings.append(elapsed)
        timings.sort()
        out[name] = {"statements": statements, "ms": round(timings[len(timings) // 2] * 1000, 2)}
    with connection.cursor() as cursor:
        # Leave no trace: the benchmark's own counts start from here.
        cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608 - constant
    return {"views": out, "parts": parts()}


def _median_ms(function: Callable[[int], object], repeat: int = 200) -> float:
    function(-1)  # warm
    timings = []
    for index in range(repeat):
        started = time.perf_counter()
        function(index)
        timings.append(time.perf_counter() - started)
    timings.sort()
    return round(timings[len(timings) // 2] * 1000, 3)


def parts() -> dict[str, float]:
    """Pieces of the sign request and the campaign page, timed alone (median ms)."""
    from django.utils import translation

    from config.celery import app as celery_app
    from petitions import services
    from petitions.forms import SignForm
    from petitions.selectors import petition_get_public

    translation.activate("en")
    petition = petition_get_public(slug=PETITION_SLUG)
    form = SignForm(auto_id="id_bench_%s")
    pid = os.getpid()
    timed: dict[str, Callable[[int], object]] = {
        "SELECT 1 (one database round trip)": lambda i: connection.cursor().execute("SELECT 1"),
        "petition_get_public() (one SELECT, three model objects)": lambda i: petition_get_public(
            slug=PETITION_SLUG
        ),
        "SignForm() (country choices cached per language)": lambda i: SignForm(
            auto_id="id_bench_%s"
        ),
        "SignForm(data).is_valid()": lambda i: SignForm(
            {"name": "Bench Signer", "email": f"p{i}@example.org", "display": "hidden"},
            auto_id="id_bench_%s",
        ).is_valid(),
        "the whole sign form rendered (`str(field)` for each field)": lambda i: "".join(
            str(field) for field in form
        ),
        "the country `<select>` rendered (the page caches it)": lambda i: str(form["country"]),
        "Celery publish (send_task to Redis)": lambda i: celery_app.send_task(
            "bench.noop", queue=QUEUE
        ),
        "sign_attempt_create() (the request's part: insert, commit, publish)": lambda i: (
            services.sign_attempt_create(
                petition=petition, email=f"parts-{pid}-{i}@example.org", name="Bench Signer"
            )
        ),
        "signature_create() (attempt and its processing, in one call)": lambda i: (
            services.signature_create(
                petition=petition, email=f"parts2-{pid}-{i}@example.org", name="Bench Signer"
            )
        ),
    }
    return {name: _median_ms(function) for name, function in timed.items()}


def stats() -> dict[str, Any]:
    petition = _petition()
    by_status = dict(
        Signature.objects.filter(petition=petition)
        .values_list("status")
        .annotate(n=django.db.models.Count("pk"))
        .values_list("status", "n")
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE}")  # noqa: S608 - constant
        reference_rows = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM mailer_outboxmessage")
        outbox_rows = cursor.fetchone()[0]
    return {
        "signatures": by_status,
        # A sign request records an attempt; a worker (none runs here) processes it.
        "attempts_unprocessed": SignAttempt.objects.filter(
            petition=petition, processed_at__isnull=True
        ).count(),
        "petition_count": petition.signature_count,
        "reference_rows": reference_rows,
        "outbox_rows": outbox_rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="job", required=True)
    sub.add_parser("prepare")
    sub.add_parser("queries")
    sub.add_parser("fill").add_argument("--rows", type=int, required=True)
    sub.add_parser("refresh").add_argument("--pending", type=int, required=True)
    sub.add_parser("stats")
    args = parser.parse_args()
    if args.job == "prepare":
        result = prepare()
    elif args.job == "queries":
        result = queries()
    elif args.job == "fill":
        result = fill(rows=args.rows)
    elif args.job == "refresh":
        result = refresh(pending=args.pending)
    else:
        result = stats()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
