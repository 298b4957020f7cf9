"""Busy day: does the public count keep up with a burst of confirmations?

    .venv/bin/python bench/confirm_burst.py            (or: make bench ARGS=--confirm-burst)
    .venv/bin/python bench/confirm_burst.py --confirmations 2000 --seconds 20 --runs 3

Starts the Celery processes as production runs them (a worker on "default,mail", a
worker on "periodic", beat; see Procfile.dev) against a throw-away PostgreSQL database and
a dedicated Redis database, writes pending signatures of distinct people, then confirms
them through the real confirm service from several processes at a steady pace
(2 000 in 20 s by default). It reports how long after the last confirmation the stored
count (what every public page and the count API show) was complete, the longest the count
stood still during the burst, and when the addresses of those without consent were
dropped. The promise: the count is complete within 10 s of the last confirmation.

Environment (as for bench/run.py; the database is dropped, the Redis database flushed):
  BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/sbor_bench_burst
  BENCH_REDIS_URL     default redis://127.0.0.1:6379/13 (never DB 0)

Sub-commands run in child processes with the bench settings (you do not call them):
  prepare --people N --prefix P | confirm --prefix P --index I --of K --rate R | watch ...
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import BenchError  # noqa: E402
from bench.report import machine_describe  # noqa: E402
from bench.server import Database, child_env, redis_client, run_step  # noqa: E402

PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/sbor_bench_burst"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
PROMISE_SECONDS = 10.0
WATCH_LIMIT_SECONDS = 120.0


def log(message: str) -> None:
    print(f"[burst {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- Child jobs (bench settings, Django set up) ---------------------------------------------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()


def job_prepare(*, people: int, prefix: str) -> dict[str, Any]:
    _django()
    from django.utils import timezone

    from bench.jobs import _insert_people, _petition
    from petitions.models import SignAttempt, Signature

    petition = _petition()
    inserted = _insert_people(petition=petition, prefix=prefix, rows=people, confirmed=False)
    # Each pending signature awaits confirmation through an attempt, as its emailed link
    # would name it (no address or name kept on it: confirming needs neither).
    pending = Signature.objects.filter(supporter__email_digest__startswith=prefix)
    now = timezone.now()
    SignAttempt.objects.bulk_create(
        (
            SignAttempt(
                petition=petition,
                signature_id=pk,
                confirm_code_digest=f"{prefix}{pk}",
                processed_at=now,
            )
            for pk in pending.values_list("pk", flat=True)
        ),
        batch_size=1000,
    )
    return {"inserted": inserted, "petition_id": petition.pk}


def job_confirm(
    *, prefix: str, index: int, of: int, rate: float, start_at: float
) -> dict[str, Any]:
    """Confirm this process's share of the pending signatures at ``rate`` per second."""
    _django()
    from petitions.models import SignAttempt
    from petitions.services import signature_confirm

    # Every process takes its share of the same list, whichever starts first (not filtered
    # by status: another process may already be confirming its own share).
    attempts = list(
        SignAttempt.objects.filter(signature__supporter__email_digest__startswith=prefix).order_by(
            "pk"
        )
    )[index::of]
    while time.time() < start_at:
        time.sleep(0.005)
    began = time.time()
    for n, attempt in enumerate(attempts):
        # A steady pace, as people clicking their links: never ahead of schedule.
        delay = began + n / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        signature_confirm(sign_attempt=attempt)
    return {"confirmed": len(attempts), "began": began, "ended": time.time()}


def job_watch(*, petition_id: int, expected: int, prefix: str, until: float) -> dict[str, Any]:
    """Poll the stored count and the dropped addresses; report when each was complete."""
    _django()
    from petitions.models import Petition, Supporter

    changes: list[tuple[float, int]] = []
    complete_at = dropped_at = None
    while time.time() < until and (complete_at is None or dropped_at is None):
        count = Petition.objects.values_list("signature_count", flat=True).get(pk=petition_id)
        now = time.time()
        if not changes or changes[-1][1] != count:
            changes.append((now, count))
        if complete_at is None and count >= expected:
            complete_at = now
        if dropped_at is None and not (
            Supporter.objects.filter(
                email_digest__startswith=prefix, email_dropped_at__isnull=True
            ).exists()
        ):
            dropped_at = now
        time.sleep(0.1)
    return {"changes": changes, "complete_at": complete_at, "dropped_at": dropped_at}


def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="job", required=True)
    prepare = sub.add_parser("prepare")
    prepare.add_argument("--people", type=int, required=True)
    prepare.add_argument("--prefix", required=True)
    confirm = sub.add_parser("confirm")
    confirm.add_argument("--prefix", required=True)
    confirm.add_argument("--index", type=int, required=True)
    confirm.add_argument("--of", type=int, required=True)
    confirm.add_argument("--rate", type=float, required=True)
    confirm.add_argument("--start-at", type=float, required=True)
    watch = sub.add_parser("watch")
    watch.add_argument("--petition-id", type=int, required=True)
    watch.add_argument("--expected", type=int, required=True)
    watch.add_argument("--prefix", required=True)
    watch.add_argument("--until", type=float, required=True)
    args = parser.parse_args(argv)
    if args.job == "prepare":
        result = job_prepare(people=args.people, prefix=args.prefix)
    elif args.job == "confirm":
        result = job_confirm(
            prefix=args.prefix, index=args.index, of=args.of, rate=args.rate, start_at=args.start_at
        )
    else:
        result = job_watch(
            petition_id=args.petition_id,
            expected=args.expected,
            prefix=args.prefix,
            until=args.until,
        )
    print(json.dumps(result))


# --- The driver -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    confirmations: int
    seconds: float
    runs: int
    confirmers: int


def options_parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--confirmations", type=int, default=2000, help="per run (2 000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="spread over (20)")
    parser.add_argument("--runs", type=int, default=3, help="bursts, one after another (3)")
    parser.add_argument("--confirmers", type=int, default=4, help="confirming processes (4)")
    args = parser.parse_args(argv)
    if not (1 <= args.confirmations <= 100_000 and 1 <= args.runs <= 20):
        parser.error("--confirmations 1..100000, --runs 1..20")
    if not (0.5 <= args.seconds <= 600 and 1 <= args.confirmers <= 32):
        parser.error("--seconds 0.5..600, --confirmers 1..32")
    return Options(args.confirmations, args.seconds, args.runs, args.confirmers)


def child_json(env: dict[str, str], *args: str) -> dict[str, Any]:

    output = run_step(env, str(Path(__file__).resolve()), *args)
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def celery_start(
    env: dict[str, str], log_dir: Path, name: str, *args: str
) -> subprocess.Popen[bytes]:
    with (log_dir / f"{name}.log").open("wb") as log_file:
        return subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "config", *args, "--loglevel", "INFO"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def celery_wait_ready(log_dir: Path, names: dict[str, str], timeout: float = 60.0) -> None:

    deadline = time.monotonic() + timeout
    for name, text in names.items():
        while text not in (log_dir / f"{name}.log").read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise BenchError(f"{name} did not start:\n{(log_dir / f'{name}.log').read_text()}")
            time.sleep(0.2)


def one_run(env: dict[str, str], options: Options, run: int, counted_before: int) -> dict[str, Any]:
    prefix = f"bburst{run}-"
    prepared = child_json(
        env, "prepare", "--people", str(options.confirmations), "--prefix", prefix
    )
    rate = options.confirmations / options.seconds / options.confirmers
    start_at = time.time() + 3.0  # every confirming process is up by then
    expected = counted_before + options.confirmations
    watch = subprocess.Popen(
        [
            PYTHON, str(Path(__file__).resolve()), "watch",
            "--petition-id", str(prepared["petition_id"]), "--expected", str(expected),
            "--prefix", prefix, "--until", str(start_at + options.seconds + WATCH_LIMIT_SECONDS),
        ],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    confirmers = []
    for index in range(options.confirmers):
        argv = [
            PYTHON, str(Path(__file__).resolve()), "confirm", "--prefix", prefix,
            "--index", str(index), "--of", str(options.confirmers),
            "--rate", str(rate), "--start-at", str(start_at),
        ]  # fmt: skip
        confirmers.append(
            subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        )
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in confirmers]
    watched = json.loads(watch.communicate()[0].strip().splitlines()[-1])
    first = min(r["began"] for r in results)
    last = max(r["ended"] for r in results)
    changes = [(at, count) for at, count in watched["changes"] if at >= first]
    still = [b[0] - a[0] for a, b in itertools.pairwise(changes)]
    complete_at, dropped_at = watched["complete_at"], watched["dropped_at"]
    return {
        "confirmed": sum(r["confirmed"] for r in results),
        "burst_seconds": last - first,
        "complete_after_last": None if complete_at is None else complete_at - last,
        "longest_still": max(still, default=0.0),
        "dropped_after_last": None if dropped_at is None else dropped_at - last,
        "expected": expected,
    }


def report(
    results: list[dict[str, Any]], options: Options, machine: list[str], loadavg: str
) -> str:
    def seconds(value: float | None) -> str:
        return "never" if value is None else f"{value:.1f} s"

    lines = [
        f"Confirm burst: {options.confirmations} confirmations over {options.seconds:.0f} s "
        f"from {options.confirmers} processes, {options.runs} runs",
        *machine,
        f"Load average when it started: {loadavg}",
        "",
        "| run | burst took | count complete after the last | count stood still at most "
        "| addresses dropped after the last |",
        "|---|---|---|---|---|",
    ]
    for n, r in enumerate(results, 1):
        lines.append(
            f"| {n} | {r['burst_seconds']:.1f} s | {seconds(r['complete_after_last'])} | "
            f"{r['longest_still']:.1f} s | {seconds(r['dropped_after_last'])} |"
        )
    lags = [r["complete_after_last"] for r in results if r["complete_after_last"] is not None]
    if lags:
        lines.append(
            f"\nCount complete after the last confirmation: median {statistics.median(lags):.1f} s,"
            f" worst {max(lags):.1f} s (promise: {PROMISE_SECONDS:.0f} s)."
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:

    options = options_parse(argv)
    loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    database = Database.from_url(os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL
    redis = redis_client(redis_url)
    var_dir = Path(tempfile.mkdtemp(prefix="sbor-burst-"))
    env = child_env(database, redis_url, "http://127.0.0.1:8000", var_dir)
    env["SBOR_MAIL_BACKEND"] = "locmem"
    processes: list[subprocess.Popen[bytes]] = []
    code = 1
    try:
        log(f"database {database.vendor}:{database.name}, redis {redis_url}")
        redis.flushdb()
        database.recreate()
        run_step(env, "manage.py", "migrate", "--noinput")
        run_step(env, "manage.py", "load_demo")
        # As Procfile.dev and docker-compose.yml run them.
        processes = [
            celery_start(env, var_dir, "worker", "worker", "--queues", "default,mail",
                         "--concurrency", "2", "--hostname", "worker@%h"),
            celery_start(env, var_dir, "periodic", "worker", "--queues", "periodic",
                         "--concurrency", "2", "--hostname", "periodic@%h"),
            celery_start(env, var_dir, "beat", "beat", "--schedule",
                         str(var_dir / "celerybeat-schedule")),
        ]  # fmt: skip
        celery_wait_ready(
            var_dir, {"worker": " ready.", "periodic": " ready.", "beat": "beat: Starting..."}
        )
        results = []
        # The demo's own confirmed signatures, folded into the stored count first.
        base = _stored_count(env)
        for run in range(1, options.runs + 1):
            log(f"run {run}: {options.confirmations} confirmations over {options.seconds:.0f} s")
            result = one_run(env, options, run, base)
            base = result["expected"]
            log(f"run {run}: {json.dumps(result)}")
            results.append(result)
            time.sleep(3)
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
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            database.drop()
        with contextlib.suppress(Exception):
            redis.flushdb()
        shutil.rmtree(var_dir, ignore_errors=True)
    return code


def _stored_count(env: dict[str, str]) -> int:

    output = run_step(
        env,
        "-c",
        "import django; django.setup(); "
        "from bench.jobs import _petition; "
        "from petitions.services import signature_counts_refresh; "
        "signature_counts_refresh(); print(_petition().signature_count)",
    )
    return int(output.strip().splitlines()[-1])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("prepare", "confirm", "watch"):
        child_main(sys.argv[1:])
    else:
        sys.exit(main(sys.argv[1:]))
