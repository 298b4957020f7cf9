"""A small closed-loop HTTP load generator: N processes, one persistent connection each.

Every client sends its next request as soon as the previous answer has been read, for a
warm-up and then a measured window; only answers completed inside the window count.
Answers with an unexpected status and transport errors are counted separately.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import re
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

# Hard bounds on every loop, whatever the time window says.
MAX_REQUESTS_PER_CLIENT = 2_000_000
SOCKET_TIMEOUT_SECONDS = 10.0
ERROR_PAUSE_SECONDS = 0.01

_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_CSRF_COOKIE = re.compile(r"csrftoken=([^;]+)")


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    method: str = "GET"
    expect: int = 200
    # POST form fields; "email" is added per request, unique across the whole run.
    form: dict[str, str] = field(default_factory=dict)
    # A page to GET once per connection for the CSRF cookie and form token.
    csrf_page: str = ""


@dataclass
class Result:
    scenario: str
    duration: float
    ok: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    connections: int = 0
    requests: int = 0
    client_cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.duration

    def percentile(self, fraction: float) -> float:
        """Latency in milliseconds at ``fraction`` (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
        return ordered[index] * 1000


def csrf_fetch(conn: http.client.HTTPConnection, page: str) -> tuple[str, str]:
    conn.request("GET", page)
    response = conn.getresponse()
    body = response.read().decode()
    cookie = _CSRF_COOKIE.search(response.getheader("Set-Cookie") or "")
    token = _CSRF_INPUT.search(body)
    if response.status != 200 or not cookie or not token:
        raise RuntimeError(f"no CSRF cookie/token from {page} (HTTP {response.status})")
    return cookie.group(1), token.group(1)


def _client(
    index: int,
    host: str,
    port: int,
    scenario: Scenario,
    times: tuple[float, float, float],
    results: Any,
) -> None:
    start_at, measure_from, stop_at = times
    cpu_started = time.process_time()
    conn = http.client.HTTPConnection(host, port, timeout=SOCKET_TIMEOUT_SECONDS)
    headers: dict[str, str] = {}
    form = dict(scenario.form)
    errors: Counter[str] = Counter()
    connections = 0
    if scenario.csrf_page:
        cookie, token = csrf_fetch(conn, scenario.csrf_page)
        connections += 1
        headers["Cookie"] = f"csrftoken={cookie}"
        headers["Referer"] = f"http://{host}:{port}{scenario.csrf_page}"
        form["csrfmiddlewaretoken"] = token
    if scenario.method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    latencies = array("d")
    ok = requests = 0
    pid = os.getpid()
    time.sleep(max(0.0, start_at - time.monotonic()))
    while requests < MAX_REQUESTS_PER_CLIENT:
        sent = time.monotonic()
        if sent >= stop_at:
            break
        requests += 1
        body = None
        if scenario.method == "POST":
            body = urlencode({**form, "email": f"bench-{pid}-{requests}@example.org"})
        if conn.sock is None:
            connections += 1  # http.client (re)connects on this request
        try:
            conn.request(scenario.method, scenario.path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            errors[type(exc).__name__] += 1
            conn.close()
            time.sleep(ERROR_PAUSE_SECONDS)
            continue
        done = time.monotonic()
        if response.status != scenario.expect:
            errors[f"HTTP {response.status}"] += 1
        elif measure_from <= done <= stop_at:
            ok += 1
            latencies.append(done - sent)
    conn.close()
    results.put(
        {
            "ok": ok,
            "latencies": latencies.tobytes(),
            "errors": dict(errors),
            "connections": connections,
            "requests": requests,
            "cpu": time.process_time() - cpu_started,
        }
    )


def run(
    *,
    host: str,
    port: int,
    scenario: Scenario,
    clients: int,
    warmup: float,
    duration: float,
    window: Callable[[list[int]], None] | None = None,
) -> Result:
    """Run ``scenario`` with ``clients`` processes; blocks for about warmup + duration.

    ``window`` is called with the clients' pids when the measured window opens and again
    when it closes (for CPU accounting).
    """
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    # Time to start the processes (and fetch the CSRF tokens) before the clock starts.
    start_at = time.monotonic() + 1.5
    times = (start_at, start_at + warmup, start_at + warmup + duration)
    processes = [
        context.Process(
            target=_client,
            args=(index, host, port, scenario, times, results),
            name=f"bench-client-{index}",
            daemon=True,
        )
        for index in range(clients)
    ]
    for process in processes:
        process.start()
    if window is not None:
        pids = [process.pid for process in processes if process.pid is not None]
        for moment in times[1:]:
            time.sleep(max(0.0, moment - time.monotonic()))
            window(pids)
    result = Result(scenario=scenario.name, duration=duration)
    deadline = times[2] + SOCKET_TIMEOUT_SECONDS + 10
    received = 0
    while received < clients and time.monotonic() < deadline:
        try:
            item = results.get(timeout=max(0.1, deadline - time.monotonic()))
        except Exception:  # queue.Empty: a client died; its loss shows as missing answers
            break
        received += 1
        latencies = array("d")
        latencies.frombytes(item["latencies"])
        result.ok += item["ok"]
        result.latencies.extend(latencies)
        result.errors.update(item["errors"])
        result.connections += item["connections"]
        result.requests += item["requests"]
        result.client_cpu_seconds += item["cpu"]
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)
    if received < clients:
        result.errors["client process lost"] += clients - received
    return result
