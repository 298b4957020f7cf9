"""Fan-out: one update to 100 000 supporters, through the bulk queue.

    .venv/bin/python bench/fanout.py                   (or: make bench ARGS=--fanout)
    .venv/bin/python bench/fanout.py --sizes 10000 --backends esp --runs 3 --kinds update

Starts the Celery processes as production runs them (a bulk worker of two processes on
"bulk", a worker on "default,mail", the periodic worker and beat; see Procfile.dev)
against a throw-away PostgreSQL database and a dedicated Redis database, writes the
supporters, then for each backend and audience size plans a mailing (keyset pages of the
audience, one INSERT per 1 000 deliveries), starts it and waits until it is done. It
reports recipients per second (from the mailing's start to its last delivery), the
planning rate, the peak memory (VmHWM) of the bulk worker's processes, started fresh for
each run, and how long a confirmation email queued half-way through took to be sent.

Kinds: "update" (the default) is the real thing: an ``updates.Update`` sent through
``updates.services.update_send``, planned by its task and built by the ``campaign_update``
kind (signed per-recipient tokens, List-Unsubscribe headers, the audience read again at
send time; see bench/fanout_update.py). "bench" is the benchmark's own bulk kind
(bench/fanout_app.py: one query and a dict per recipient), which measures the mailer alone.
``--kinds update,bench`` runs both.

Backends: "esp" is anymail's test backend without its memory (one provider call per batch,
anymail's batch sending), "smtp" an aiosmtpd sink in this process (one message per
recipient over one connection per batch).

Environment (as for bench/run.py; the database is dropped, the Redis database flushed):
  BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/sbor_bench_fanout
  BENCH_REDIS_URL     default redis://127.0.0.1:6379/12 (never DB 0)
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import BenchError  # noqa: E402
from bench.confirm_burst import celery_start, celery_wait_ready  # noqa: E402
from bench.measure import children_of  # noqa: E402
from bench.report import machine_describe, num  # noqa: E402
from bench.server import Database, child_env, free_port, redis_client, run_step  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/sbor_bench_fanout"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
PREFIX = "bfan-"
TARGET_PER_SECOND = 2000
CONFIRM_PROMISE_SECONDS = 5.0
RUN_LIMIT_SECONDS = 1800.0


def log(message: str) -> None:
    print(f"[fanout {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Options:
    sizes: list[int]
    backends: list[str]
    runs: int
    concurrency: int
    batch_size: int
    kinds: list[str]


def options_parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="audiences (10000,100000)")
    parser.add_argument("--backends", default="esp,smtp", help="esp and/or smtp (esp,smtp)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each (1)")
    parser.add_argument("--concurrency", type=int, default=2, help="bulk worker processes (2)")
    parser.add_argument("--batch-size", type=int, default=500, help="deliveries per claim (500)")
    parser.add_argument("--kinds", default="update", help="update and/or bench (update)")
    args = parser.parse_args(argv)
    kinds = args.kinds.split(",")
    if not kinds or not set(kinds) <= {"update", "bench"}:
        parser.error("--kinds update,bench")
    sizes = [int(size) for size in args.sizes.split(",")]
    backends = args.backends.split(",")
    if not all(100 <= size <= 1_000_000 for size in sizes):
        parser.error("--sizes: each 100..1000000")
    if not set(backends) <= {"esp", "smtp"} or not 1 <= args.runs <= 10:
        parser.error("--backends esp,smtp; --runs 1..10")
    return Options(sizes, backends, args.runs, args.concurrency, args.batch_size, kinds)


# --- An SMTP sink that only counts -----------------------------------------------------------


class CountingSink:
    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.count += len(envelope.rcpt_tos)
        return "250 OK"


# --- Memory ---------------------------------------------------------------------------------


def peak_kib(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in KiB; 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --- One run --------------------------------------------------------------------------------


def _consents_give(*, campaign_id: int) -> None:
    """Every bench supporter agreed to updates (or the periodic drop would erase them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO petitions_consent (supporter_id, campaign_id, purpose, method,"
            " wording_version, language, given_at, confirmed_at)"
            " SELECT id, %s, 'campaign_updates', 'sign_form', 'bench', 'en', now(), now()"
            " FROM petitions_supporter WHERE email_digest LIKE %s",
            [campaign_id, PREFIX + "%"],
        )


def _plan(size: int) -> tuple[Any, float]:
    """A mailing to the first ``size`` supporters, walked in keyset pages, as an app would."""
    from bench.fanout_app import KIND
    from mailer import services
    from petitions.models import Supporter

    started = time.perf_counter()
    mailing = services.mailing_create(kind=KIND, about={"bench": "1"})
    last, added = 0, 0
    while added < size:
        page = list(
            Supporter.objects.filter(pk__gt=last, email_digest__startswith=PREFIX)
            .order_by("pk")
            .values_list("pk", "email_digest", "language")[: min(1000, size - added)]
        )
        if not page:
            raise BenchError(f"only {added} bench supporters; wanted {size}")
        added += services.deliveries_add(
            mailing=mailing,
            recipients=((f"petitions.supporter:{pk}", digest, lang) for pk, digest, lang in page),
        )
        last = page[-1][0]
    return mailing, time.perf_counter() - started


def _confirm_queue(petition: Any) -> float:
    """Someone new signs: their confirmation email goes through "default" and "mail"."""
    from petitions.services import signature_create

    at = time.time()
    email = f"fanout-confirm-{uuid.uuid4().hex}@example.org"
    signature_create(petition=petition, email=email, name="Bench")
    return at


def _confirm_latency(since: float) -> float | None:
    from datetime import UTC, datetime

    from mailer.models import OutboxMessage

    sent = (
        OutboxMessage.objects.filter(
            kind="signature_confirm",
            status=OutboxMessage.Status.SENT,
            created_at__gte=datetime.fromtimestamp(since, UTC),
        )
        .values_list("sent_at", flat=True)
        .first()
    )
    return None if sent is None else sent.timestamp() - since


def one_run(
    *,
    env: dict[str, str],
    var_dir: Path,
    backend: str,
    size: int,
    concurrency: int,
    n: int,
    kind: str,
    update_setup: dict[int, Any],
) -> dict[str, Any]:
    from bench.jobs import _petition
    from mailer import selectors, services
    from mailer.models import Mailing

    clicked = None
    if kind == "bench":
        mailing, plan_seconds = _plan(size)
    name = f"bulk-{kind}-{backend}-{size}-{n}"
    worker = celery_start(
        env, var_dir, name, "worker", "--queues", "bulk", "--concurrency", str(concurrency),
        "--hostname", f"{name}@%h", "--without-mingle", "--without-gossip",
    )  # fmt: skip
    try:
        celery_wait_ready(var_dir, {name: " ready."})
        pids = children_of(worker.pid)
        if kind == "bench":
            services.mailing_start(mailing=mailing)
        else:
            from bench.fanout_update import update_start

            actor, campaign = update_setup[size]
            update, clicked = update_start(actor=actor, campaign=campaign, n=n)
            assert update.mailing is not None
            mailing = update.mailing
        confirm_at = latency = None
        deadline = time.monotonic() + RUN_LIMIT_SECONDS
        while True:
            mailing.refresh_from_db()
            if mailing.status == Mailing.Status.DONE:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"{name}: not done after {RUN_LIMIT_SECONDS:.0f} s")
            progress = selectors.mailing_progress(mailing=mailing)
            if confirm_at is None and progress.sent >= size // 2:
                confirm_at = _confirm_queue(_petition())
            if confirm_at is not None and latency is None:
                latency = _confirm_latency(confirm_at)
            time.sleep(0.25)
        timed = time.perf_counter()
        progress = selectors.mailing_progress(mailing=mailing)
        progress_ms = (time.perf_counter() - timed) * 1000
        give_up = time.monotonic() + 60
        while confirm_at is not None and latency is None and time.monotonic() < give_up:
            latency = _confirm_latency(confirm_at)
            time.sleep(0.1)
        assert mailing.started_at is not None and mailing.finished_at is not None
        seconds = (mailing.finished_at - mailing.started_at).total_seconds()
        if clicked is not None:
            # The update's planning: from the click to the mailing's start.
            plan_seconds = mailing.started_at.timestamp() - clicked
            end_to_end = mailing.finished_at.timestamp() - clicked
        else:
            end_to_end = seconds + plan_seconds
        peaks = [peak_kib(pid) for pid in pids]
        return {
            "kind": kind,
            "backend": backend,
            "size": size,
            "sent": progress.sent,
            "seconds": seconds,
            "per_second": progress.sent / seconds,
            "plan_per_second": size / plan_seconds,
            "end_to_end": end_to_end,
            "peak_child_mib": max(peaks) / 1024,
            "peak_parent_mib": peak_kib(worker.pid) / 1024,
            "confirm_latency": latency,
            "progress_ms": progress_ms,
            "counts": {k: v for k, v in progress.counts.items() if v},
        }
    finally:
        _stop(worker)


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# --- Report ---------------------------------------------------------------------------------


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def report(
    results: list[dict[str, Any]], options: Options, machine: list[str], loadavg: str
) -> str:
    lines = [
        f"Fan-out: one mailing per run, bulk worker of {options.concurrency} processes, "
        f"batches of {options.batch_size}, {options.runs} run(s) each",
        *machine,
        f"Load average when it started: {loadavg}; when it ended: {_loadavg()}",
        "",
        "| kind | backend | audience | recipients/s | took | planning rows/s | click to last "
        "| peak memory per worker process | confirmation sent after | progress query |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        latency = "never" if r["confirm_latency"] is None else f"{r['confirm_latency']:.1f} s"
        lines.append(
            f"| {r['kind']} | {r['backend']} | {num(r['size'])} | {num(r['per_second'])} | "
            f"{r['seconds']:.1f} s | {num(r['plan_per_second'])} | {r['end_to_end']:.1f} s | "
            f"{r['peak_child_mib']:.0f} MiB (parent {r['peak_parent_mib']:.0f} MiB) | {latency} | "
            f"{r['progress_ms']:.0f} ms |"
        )
    for kind in options.kinds:
        for backend in options.backends:
            for size in options.sizes:
                rates = [
                    r["per_second"]
                    for r in results
                    if (r["kind"], r["backend"], r["size"]) == (kind, backend, size)
                ]
                if len(rates) > 1:
                    lines.append(
                        f"\n{kind} {backend} {num(size)}: median "
                        f"{num(statistics.median(rates))}/s, "
                        f"spread {num(min(rates))} to {num(max(rates))}/s"
                    )
    return "\n".join(lines)


# --- Driver ---------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    options = options_parse(argv)
    loadavg = _loadavg()
    database = Database.from_url(os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL
    redis = redis_client(redis_url)
    var_dir = Path(tempfile.mkdtemp(prefix="sbor-fanout-"))
    smtp_port = free_port()
    env = child_env(database, redis_url, "http://127.0.0.1:8000", var_dir)
    env.update(DJANGO_SETTINGS_MODULE="bench.fanout_settings", SBOR_MAIL_BACKEND="locmem")
    # Beat says "Starting..." at INFO; a bulk task logs two lines per minute of sending.
    env["SBOR_TASK_LOG_LEVEL"] = "INFO"
    processes: list[subprocess.Popen[bytes]] = []
    controller = None
    code = 1
    try:
        from aiosmtpd.controller import Controller

        log(f"database {database.vendor}:{database.name}, redis {redis_url}")
        redis.flushdb()
        database.recreate()
        run_step(env, "manage.py", "migrate", "--noinput")
        run_step(env, "manage.py", "load_demo")
        # This process plans, starts and watches the mailings itself.
        os.environ.update(env)
        import django

        django.setup()
        from bench.jobs import _insert_people, _petition

        people = max(options.sizes)
        log(f"writing {num(people)} supporters")
        _insert_people(petition=_petition(), prefix=PREFIX, rows=people, confirmed=True)
        _consents_give(campaign_id=_petition().campaign_id)
        update_setup: dict[int, Any] = {}
        if "update" in options.kinds:
            from bench import fanout_update

            log("encrypting an address of their own for each")
            fanout_update.addresses_unique(prefix=PREFIX)
            organisation = _petition().campaign.organisation
            actor = fanout_update.actor_get(organisation=organisation)
            for size in options.sizes:
                campaign = fanout_update.campaign_for_size(
                    organisation=organisation, prefix=PREFIX, size=size
                )
                update_setup[size] = (actor, campaign)
        sink = CountingSink()
        controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        processes = [
            celery_start(env, var_dir, "worker", "worker", "--queues", "default,mail",
                         "--concurrency", "1", "--hostname", "worker@%h"),
            celery_start(env, var_dir, "periodic", "worker", "--queues", "periodic",
                         "--concurrency", "1", "--hostname", "periodic@%h"),
            celery_start(env, var_dir, "beat", "beat", "--schedule",
                         str(var_dir / "celerybeat-schedule")),
        ]  # fmt: skip
        celery_wait_ready(
            var_dir, {"worker": " ready.", "periodic": " ready.", "beat": "beat: Starting..."}
        )
        results = []
        for backend in options.backends:
            bulk_env = dict(env, SBOR_MAIL_BULK_BATCH_SIZE=str(options.batch_size))
            if backend == "esp":
                bulk_env["BENCH_FANOUT_ESP"] = "1"
            else:
                bulk_env.update(
                    SBOR_MAIL_BACKEND="smtp",
                    EMAIL_HOST="127.0.0.1",
                    EMAIL_PORT=str(smtp_port),
                    EMAIL_USE_TLS="0",
                )
            for kind, size, n in itertools.product(
                options.kinds, options.sizes, range(options.runs)
            ):
                log(f"{kind}, {backend}, {num(size)} recipients, run {n + 1}")
                result = one_run(
                    env=bulk_env,
                    var_dir=var_dir,
                    backend=backend,
                    size=size,
                    concurrency=options.concurrency,
                    n=n,
                    kind=kind,
                    update_setup=update_setup,
                )
                log(
                    f"  {num(result['per_second'])}/s over {result['seconds']:.1f} s; "
                    f"peak {result['peak_child_mib']:.0f} MiB; confirmation "
                    f"{result['confirm_latency']}; {result['counts']}"
                )
                results.append(result)
        machine = machine_describe(
            f"{database.vendor} {database.name}",
            str(redis.info("server").get("redis_version", "unknown")),
        )
        print(report(results, options, machine, loadavg))
        code = 0
    except BenchError as exc:
        log(f"failed: {exc}")
    except KeyboardInterrupt:
        log("interrupted")
        code = 130
    finally:
        for process in processes:
            _stop(process)
        if controller is not None:
            controller.stop()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with contextlib.suppress(Exception):
            database.drop()
        with contextlib.suppress(Exception):
            redis.flushdb()
        shutil.rmtree(var_dir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
