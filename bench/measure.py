"""Measuring one scenario: the load generator's numbers and the CPU each process used."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import loadgen
from bench.common import CLK_TCK, BenchError, Options, log

if TYPE_CHECKING:
    from bench.server import Database, Server


# --- CPU accounting from /proc ------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def children_of(parent: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields and int(fields[1]) == parent:
                pids.append(int(entry))
    return pids


def cpu_seconds(pid: int) -> float | None:
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine, in clock ticks."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return total - idle, total


@dataclass
class CpuSampler:
    """CPU time of the processes that take part, by group, between two samples."""

    server: Server
    database: Database

    def groups(self, clients: list[int]) -> dict[str, list[int]]:
        postgres, redis_server = [], []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            comm = _comm(pid)
            if comm == "postgres" and f" {self.database.name} " in _cmdline(pid):
                postgres.append(pid)  # backends serving the bench database only
            elif comm == "redis-server":
                redis_server.append(pid)
        return {
            "server": self.server.worker_pids(),
            "db": postgres,
            "redis": redis_server,
            "clients": clients,
        }

    def sample(self, clients: list[int]) -> dict[str, Any]:
        snapshot: dict[str, Any] = {"machine": machine_jiffies(), "at": time.monotonic()}
        for group, pids in self.groups(clients).items():
            snapshot[group] = {pid: cpu_seconds(pid) for pid in pids}
        return snapshot


def cpu_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """Seconds of CPU per group, and the machine's busy share over the interval."""
    out: dict[str, float] = {}
    for group in ("server", "db", "redis", "clients"):
        total = 0.0
        for pid, end in after[group].items():
            start = before[group].get(pid, 0.0 if group == "db" else None)
            if start is not None and end is not None:
                total += end - start
        out[group] = total
    busy = after["machine"][0] - before["machine"][0]
    total = after["machine"][1] - before["machine"][1]
    out["machine_busy"] = busy / total if total else 0.0
    out["machine_cores_busy"] = busy / CLK_TCK / (after["at"] - before["at"])
    out["seconds"] = after["at"] - before["at"]
    accounted = sum(out[group] for group in ("server", "db", "redis", "clients"))
    # Everything else: other processes on the machine, the kernel's share of networking.
    out["other_cores"] = max(0.0, out["machine_cores_busy"] - accounted / out["seconds"])
    return out


# --- Scenarios ----------------------------------------------------------------------------


@dataclass
class Measured:
    key: str
    label: str
    request: str
    result: loadgen.Result
    cpu: dict[str, float] = field(default_factory=dict)

    def per_request_ms(self, group: str) -> float:
        return self.cpu.get(group, 0.0) * 1000 / self.result.ok if self.result.ok else 0.0


def measure(
    key: str,
    label: str,
    scenario: loadgen.Scenario,
    *,
    server: Server,
    sampler: CpuSampler,
    options: Options,
) -> Measured:
    request = f"{scenario.method} {scenario.path}"
    log(f"{label}: {request} for {options.warmup:g}+{options.duration:g} s")
    samples: list[dict[str, Any]] = []

    def window(clients: list[int]) -> None:
        samples.append(sampler.sample(clients))

    result = loadgen.run(
        host="127.0.0.1",
        port=server.port,
        scenario=scenario,
        clients=options.clients,
        warmup=options.warmup,
        duration=options.duration,
        window=window,
    )
    cpu = cpu_diff(samples[0], samples[1]) if len(samples) == 2 else {}
    errors = sum(result.errors.values())
    log(
        f"  {result.rate:8.1f} req/s  p50 {result.percentile(0.5):6.2f} ms  "
        f"p95 {result.percentile(0.95):6.2f} ms  errors {errors}  "
        f"connections {result.connections}"
    )
    if server.process.poll() is not None:
        raise BenchError(f"gunicorn died during {label}:\n{server.log_tail()}")
    return Measured(key=key, label=label, request=request, result=result, cpu=cpu)
