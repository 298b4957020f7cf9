"""Sbor benchmarks: `make bench` (or `.venv/bin/python bench/run.py`).

Starts a real gunicorn server on a free loopback port against a throw-away PostgreSQL
database and a dedicated Redis database, drives it with a multi-process HTTP load
generator, and reports each real endpoint as a ratio to a reference view measured in the
same run on the same server shape. Ratios, not absolute numbers, are what carry over from
one machine to another.

Environment (not DATABASE_URL/REDIS_URL: those are exported for the test suite, and this
script drops its database and flushes its Redis database):
  BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/sbor_bench
                      (dropped and re-created; its name must contain "bench")
  BENCH_REDIS_URL     default redis://127.0.0.1:6379/14 (flushed; never DB 0)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import loadgen  # noqa: E402
from bench.common import (  # noqa: E402
    CAMPAIGN,
    COUNT,
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    RESULTS,
    SIGN,
    BenchError,
    Options,
    log,
)
from bench.measure import CpuSampler, Measured, measure  # noqa: E402
from bench.report import machine_describe, num, report  # noqa: E402
from bench.server import (  # noqa: E402
    Database,
    Server,
    child_env,
    free_port,
    job,
    redis_client,
    run_step,
    server_start,
    smoke,
)


def options_parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 s per scenario, 20 000 rows")
    parser.add_argument("--duration", type=float, help="measured seconds per scenario (10)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per scenario (2)")
    parser.add_argument("--rows", type=int, help="confirmed signatures to add (200 000)")
    parser.add_argument("--pending", type=int, help="signatures confirmed for the count task")
    parser.add_argument("--clients", type=int, default=4, help="client processes (4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--worker-class", choices=["sync", "gthread"], default="sync", help="gunicorn (sync)"
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write the Markdown report (default: bench/RESULTS.md, not with --quick)",
    )
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    duration = args.duration or (3.0 if quick else 10.0)
    warmup = args.warmup if args.warmup is not None else (1.0 if quick else 2.0)
    rows = args.rows if args.rows is not None else (20_000 if quick else 200_000)
    pending = args.pending if args.pending is not None else (2_000 if quick else 10_000)
    limits = {
        "--duration": (duration, 0.5, 120),
        "--warmup": (warmup, 0, 60),
        "--rows": (rows, 0, 20_000_000),
        "--pending": (pending, 0, 1_000_000),
        "--clients": (args.clients, 1, 64),
        "--workers": (args.workers, 1, 16),
        "--threads": (args.threads, 1, 64),
    }
    for name, (value, low, high) in limits.items():
        if not low <= value <= high:
            parser.error(f"{name} must be between {low} and {high}")
    output = args.output if args.output else (None if quick else RESULTS)
    return Options(
        duration=duration,
        warmup=warmup,
        rows=rows,
        pending=pending,
        clients=args.clients,
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.threads if args.worker_class == "gthread" else 1,
        output=output,
        quick=quick,
    )


@contextlib.contextmanager
def terminate_on_sigterm() -> Iterator[None]:
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--confirm-burst"]:
        # `make bench ARGS="--confirm-burst [options]"`: the busy-day benchmark instead.
        from bench import confirm_burst

        return confirm_burst.main(argv[1:])
    if argv[:1] == ["--fanout"]:
        # `make bench ARGS="--fanout [options]"`: bulk mail to 100 000 supporters instead.
        from bench import fanout

        return fanout.main(argv[1:])
    options = options_parse(argv)
    started = time.monotonic()
    database = Database.from_url(os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL
    redis = redis_client(redis_url)
    loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    port = free_port()
    site_url = f"http://127.0.0.1:{port}"
    var_dir = Path(tempfile.mkdtemp(prefix="sbor-bench-"))
    env = child_env(database, redis_url, site_url, var_dir)
    server: Server | None = None
    code = 1
    with terminate_on_sigterm():
        try:
            log(f"database {database.vendor}:{database.name}, redis {redis_url}, {site_url}")
            redis.flushdb()
            database.recreate()
            log("migrate + load_demo")
            run_step(env, "manage.py", "migrate", "--noinput")
            run_step(env, "manage.py", "load_demo")
            prepare = job(env, "prepare")
            queries = job(env, "queries")
            log(f"in-process: {queries}")
            log(
                f"gunicorn: {options.workers} {options.worker_class} workers"
                + (f" x {options.threads} threads" if options.worker_class == "gthread" else "")
            )
            server = server_start(env, options, port, var_dir)
            smoke(port)
            sampler = CpuSampler(server=server, database=database)
            scenarios = benchmark(server, sampler, options, env, redis)
            measured, fill, refresh, sanity = scenarios
            redis_version = str(redis.info("server").get("redis_version", "unknown"))
            facts = {
                "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "argv": argv,
                "machine": machine_describe(
                    ("PostgreSQL " if prepare["vendor"] == "postgresql" else "SQLite ")
                    + prepare["server_version"],
                    redis_version,
                ),
                "loadavg": loadavg,
                "queries": queries,
                "prepare": prepare,
                "fill": fill,
                "refresh": refresh,
                "sanity": sanity,
                "elapsed": time.monotonic() - started,
            }
            text = report(measured, options=options, facts=facts)
            print(text)
            if options.output:
                options.output.write_text(text)
                log(f"wrote {options.output}")
            else:
                log("--quick: bench/RESULTS.md left as it was (use --output to write a report)")
            code = 0
        except BenchError as exc:
            log(f"failed: {exc}")
        except KeyboardInterrupt:
            log("interrupted")
            code = 130
        finally:
            log("cleaning up: gunicorn, bench database, bench Redis database")
            if server is not None:
                server.stop()
            with contextlib.suppress(Exception):
                database.drop()
            with contextlib.suppress(Exception):
                redis.flushdb()
            shutil.rmtree(var_dir, ignore_errors=True)
    return code


def benchmark(
    server: Server, sampler: CpuSampler, options: Options, env: dict[str, str], redis: Any
) -> tuple[dict[str, Measured], dict[str, Any], dict[str, Any] | None, str]:
    def run(key: str, label: str, scenario: loadgen.Scenario) -> None:
        measured[key] = measure(
            key, label, scenario, server=server, sampler=sampler, options=options
        )

    def counts() -> dict[str, int]:
        stats = job(env, "stats")
        return {
            "attempts": stats["attempts_unprocessed"],
            "default": int(redis.llen("default")),
            "reference": stats["reference_rows"],
            "mail": int(redis.llen("mail")),
            "bench": int(redis.llen("bench")),
        }

    measured: dict[str, Measured] = {}
    run("trivial", "trivial (reference)", loadgen.Scenario("trivial", "/bench/trivial/"))
    run("campaign", "campaign page", loadgen.Scenario("campaign", CAMPAIGN))
    run("count", "count API", loadgen.Scenario("count", COUNT))
    before = counts()
    run(
        "insert",
        "insert_enqueue (reference)",
        loadgen.Scenario("insert", "/bench/insert/", method="POST", expect=302),
    )
    run(
        "sign",
        "sign",
        loadgen.Scenario(
            "sign",
            SIGN,
            method="POST",
            expect=302,
            form={"name": "Bench Signer", "display": "hidden"},
            csrf_page=CAMPAIGN,
        ),
    )
    after = counts()
    log(f"adding {options.rows} confirmed signatures")
    fill = job(env, "fill", "--rows", str(options.rows))
    log(f"  {fill}")
    run(
        "campaign_big",
        f"campaign page at {num(options.rows)} signatures",
        loadgen.Scenario("campaign_big", CAMPAIGN),
    )
    refresh = None
    if options.pending:
        log(f"confirming {options.pending} signatures and timing the count task")
        refresh = job(env, "refresh", "--pending", str(options.pending))
        log(f"  {refresh}")
    run("trivial_again", "trivial, again", loadgen.Scenario("trivial_again", "/bench/trivial/"))
    sanity = sanity_check(measured, before, after)
    log(sanity)
    return measured, fill, refresh, sanity


def sanity_check(
    measured: dict[str, Measured], before: dict[str, int], after: dict[str, int]
) -> str:
    """Did every 302 do what it says? New rows and broker messages against answers."""
    delta = {key: after[key] - before[key] for key in before}
    sign = measured["sign"].result
    insert = measured["insert"].result
    sign_ok = sign.requests - sum(sign.errors.values())
    insert_ok = insert.requests - sum(insert.errors.values())
    sign_match = delta["attempts"] == delta["default"] == sign_ok
    insert_match = delta["reference"] == delta["bench"] == insert_ok
    return (
        f"the sign scenario got {num(sign_ok)} answers 302 (warm-up included) and left "
        f"{num(delta['attempts'])} new sign attempts awaiting processing and "
        f"{num(delta['default'])} processing tasks on the broker's `default` queue (no worker "
        "runs during the bench); the reference got "
        f"{num(insert_ok)} and left {num(delta['reference'])} rows and {num(delta['bench'])} "
        "messages on the `bench` queue"
        + (
            ": every answer did its work."
            if sign_match and insert_match
            else ". THESE DO NOT MATCH: some answers did not do their work."
        )
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
