"""Writing bench/RESULTS.md: the machine, each scenario as a ratio to its reference."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path
from typing import Any

from bench.common import Options
from bench.measure import Measured

# --- Report -------------------------------------------------------------------------------


def _first_line(path: str, prefix: str) -> str:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    return "unknown"


def machine_describe(database: str, redis_version: str) -> list[str]:
    import django
    import gunicorn

    memory_kib = int(_first_line("/proc/meminfo", "MemTotal").split()[0] or 0)
    return [
        f"CPU: {_first_line('/proc/cpuinfo', 'model name')}, "
        f"{len(os.sched_getaffinity(0))} cores (nproc); "
        f"memory {memory_kib / 1024 / 1024:.1f} GiB",
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"gunicorn {gunicorn.__version__}, {database}, Redis {redis_version}",
    ]


def num(value: float) -> str:
    """A whole number with spaces between thousands, as the README writes them."""
    return f"{value:,.0f}".replace(",", " ")


# Which reference each measured scenario is compared with.
REFERENCE_FOR = {
    "campaign": "trivial",
    "count": "trivial",
    "sign": "insert",
    "campaign_big": "campaign",
    "trivial_again": "trivial",
}


def _ratios(measured: dict[str, Measured], key: str) -> tuple[str, str]:
    reference = REFERENCE_FOR.get(key)
    if not reference or reference not in measured:
        return "reference", "reference"
    item, base = measured[key], measured[reference]
    rate = item.result.rate / base.result.rate if base.result.rate else float("nan")
    base_cpu = base.per_request_ms("server")
    cpu = item.per_request_ms("server") / base_cpu if base_cpu else float("nan")
    return f"**{rate:.2f}** x {base.label}", f"{cpu:.1f} x"


def report(measured: dict[str, Measured], *, options: Options, facts: dict[str, Any]) -> str:
    rows = [
        "| scenario | request | req/s | p50 ms | p95 ms | errors | req/s ratio "
        "| gunicorn CPU per request, ratio |",
        "|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for key, item in measured.items():
        result = item.result
        rate_ratio, cpu_ratio = _ratios(measured, key)
        errors = sum(result.errors.values())
        error_text = str(errors) if not errors else f"{errors} {dict(result.errors)}"
        rows.append(
            f"| {item.label} | `{item.request}` | {num(result.rate)} | "
            f"{result.percentile(0.5):.2f} | {result.percentile(0.95):.2f} | {error_text} | "
            f"{rate_ratio} | {cpu_ratio} |"
        )
    cores = len(os.sched_getaffinity(0))
    cpu_rows = [
        "| scenario | gunicorn workers | PostgreSQL backends | Redis | load generator "
        "| whole machine busy | of which not accounted for |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {item.label} | {item.per_request_ms('server'):.2f} | "
            f"{item.per_request_ms('db'):.2f} | {item.per_request_ms('redis'):.3f} | "
            f"{item.per_request_ms('clients'):.2f} | "
            f"{item.cpu.get('machine_cores_busy', 0):.2f} of {cores} cores | "
            f"{item.cpu.get('other_cores', 0):.2f} cores |"
            for item in measured.values()
        ),
    ]
    views = facts["queries"]["views"]
    view_rows = [
        "| view | SQL statements | ms per request |",
        "|---|---:|---:|",
        *(f"| {name} | {v['statements']} | {v['ms']:.2f} |" for name, v in views.items()),
    ]
    part_rows = [
        "| piece | ms |",
        "|---|---:|",
        *(f"| {name} | {ms:.2f} |" for name, ms in facts["queries"]["parts"].items()),
    ]
    fill, prepare, refresh = facts["fill"], facts["prepare"], facts.get("refresh")
    server_shape = (
        f"gunicorn, {options.workers} `{options.worker_class}` workers"
        + (f" x {options.threads} threads" if options.worker_class == "gthread" else "")
        + " (the production image runs sync workers)"
    )
    lines = [
        "## Performance",
        "",
        f"Measured {facts['date']} with `make bench`"
        + (f" `ARGS='{' '.join(facts['argv'])}'`" if facts["argv"] else "")
        + f" (bench/run.py; the whole run took {facts['elapsed']:.0f} s). Every number below "
        "comes from that one run.",
        "",
        *(f"- {line}" for line in facts["machine"]),
        f"- Load average just before the run: {facts['loadavg']}.",
        f"- Server: {server_shape}, DEBUG off, PostgreSQL and Redis on the same machine, "
        "all traffic on loopback. No Celery worker runs: published messages wait in Redis.",
        f"- Load: {options.clients} client processes (Python, http.client), one connection "
        "each, keep-alive asked for, closed loop (the next request goes when the answer has "
        f"been read); {options.warmup:g} s warm-up, then {options.duration:g} s measured per "
        "scenario. Only answers with the expected status count (200, or 302 for the POSTs); "
        "every sign POST carries a new email address and the CSRF cookie and token from one "
        "GET of the campaign page."
        + (
            " gunicorn's sync worker closes the connection after each answer, so every "
            "request opens a new loopback connection."
            if options.worker_class == "sync"
            else ""
        ),
        '- References (bench/views.py, same server): `trivial` returns `HttpResponse("ok")` '
        "through the full middleware stack; `insert_enqueue` is a CSRF-exempt POST of an "
        "email doing one raw INSERT in a transaction and one Celery publish after commit, "
        "answered with a 302: the least that accepting a signature can cost.",
        "",
        *rows,
        "",
        f"The last campaign-page row was measured after {num(fill['rows'])} confirmed "
        f"signatures had been added (in {fill['seconds']:.1f} s with generate_series; stored "
        f"count {num(fill['petition_count'])}); the first one at 0 confirmed.",
        "",
        *interpret(measured, facts),
        "",
        "### Details",
        "",
        "CPU time per successful request, in ms, over each measured window (from /proc; "
        "'not accounted for' is other processes and the kernel's share of loopback "
        "networking, in cores):",
        "",
        *cpu_rows,
        "",
        "The same views called in-process through the whole middleware stack with Django's "
        "test client (no HTTP, no gunicorn, no other load; median of 30):",
        "",
        *view_rows,
        "",
        "Pieces of those requests timed alone (median of 200, in-process):",
        "",
        *part_rows,
        "",
        "The campaign page's recent-signers query (cached for 10 s) took "
        f"{prepare['recent_signers_ms']:.1f} ms uncached at 0 confirmed signatures and "
        f"{fill['recent_signers_ms']:.1f} ms at {num(fill['rows'])}, all of them with hidden "
        "names: the partial index holds only public, confirmed signatures, so hidden ones "
        "cost the query nothing.",
    ]
    if refresh:
        runs = ", ".join(f"{num(run['counted'])} in {run['ms']:.0f} ms" for run in refresh["runs"])
        lines += [
            "",
            f"Count task: {num(refresh['confirmed'])} pending signatures confirmed at once, on "
            f"top of the {num(fill['rows'])}; `signature_counts_refresh()` then called until it "
            f"returned 0 took {refresh['seconds'] * 1000:.0f} ms in all ({runs}), and the stored "
            f"count went from {num(refresh['count_before'])} to {num(refresh['count_after'])}.",
        ]
    lines += ["", "Check: " + facts["sanity"], ""]
    return "\n".join(lines)


def interpret(measured: dict[str, Measured], facts: dict[str, Any]) -> list[str]:
    """A few sentences drawn from this run's numbers."""

    def ratio(key: str) -> float:
        return measured[key].result.rate / measured[REFERENCE_FOR[key]].result.rate

    views, parts = facts["queries"]["views"], facts["queries"]["parts"]
    sign_cpu = measured["sign"].per_request_ms("server")
    ref_cpu = measured["insert"].per_request_ms("server")
    select_ms = parts.get("the country `<select>` rendered (the page caches it)", 0.0)
    size = ratio("campaign_big")
    drift = ratio("trivial_again")
    sentences = [
        f"Accepting a signature runs at {ratio('sign'):.0%} of the reference's rate "
        f"({num(measured['sign'].result.rate)} against "
        f"{num(measured['insert'].result.rate)} req/s): it sends "
        f"{views['sign']['statements']} SQL statements to the reference's "
        f"{views['insert_enqueue']['statements']} (the petition look-up, a "
        "savepoint and the sign attempt's row; the supporter, signature and email come later, "
        "in the task it enqueues) and burns "
        f"{sign_cpu:.1f} ms of gunicorn CPU per request against {ref_cpu:.1f} ms.",
        f"The campaign page is the expensive read: {ratio('campaign'):.0%} of the trivial "
        f"view's rate ({views['campaign']['ms']:.1f} ms in-process, with the empty country "
        f"list served from the cache; rendering it afresh would add {select_ms:.1f} ms); "
        f"the count API reaches {ratio('count'):.0%} of the trivial view.",
        f"With {num(facts['fill']['rows'])} confirmed signatures the page runs at "
        f"{size:.2f}x its rate at 0"
        + (
            # Three full runs on the 2-core machine put this page's rate within about 15% of
            # itself from run to run, so that is the band called noise here.
            ", the same within this page's run-to-run spread (about 15% on the 2-core "
            "machine): a page view does not count rows."
            if 0.85 <= size <= 1.15
            else ", which is more than noise and worth a look."
        ),
        f"The trivial view measured again at the end ran at {drift:.2f}x its first rate"
        + (
            ", so the machine stayed steady through the run."
            if 0.9 <= drift <= 1.1
            else "; the machine was not steady, so read ratios near 1 with care."
        ),
    ]
    return [" ".join(sentences)]
