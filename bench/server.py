"""The throw-away database and Redis, the setup steps, and the gunicorn under test."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from bench import loadgen
from bench.common import BIN, CAMPAIGN, COUNT, PYTHON, ROOT, SIGN, STEP_TIMEOUT, BenchError, Options
from bench.measure import children_of

# --- Database and Redis -------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    url: str
    vendor: str  # "postgresql" or "sqlite"
    name: str

    @classmethod
    def from_url(cls, url: str) -> Database:
        parts = urlsplit(url)
        if parts.scheme in ("postgres", "postgresql", "pgsql"):
            name = parts.path.lstrip("/")
            vendor = "postgresql"
        elif parts.scheme == "sqlite":
            name = parts.path[1:] if parts.path.startswith("//") else parts.path
            vendor = "sqlite"
        else:
            raise BenchError(f"BENCH_DATABASE_URL: unsupported scheme {parts.scheme!r}")
        if "bench" not in Path(name).name:
            raise BenchError(
                f"BENCH_DATABASE_URL names {name!r}; the benchmark drops its database, so "
                "the name must contain 'bench'"
            )
        return cls(url=url, vendor=vendor, name=name)

    def _admin_url(self) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))

    def recreate(self) -> None:
        self.drop()
        if self.vendor == "postgresql":
            import psycopg
            from psycopg import sql

            with psycopg.connect(self._admin_url(), autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        if self.vendor == "postgresql":
            import psycopg
            from psycopg import sql

            with psycopg.connect(self._admin_url(), autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(self.name)
                    )
                )
        else:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(self.name + suffix).unlink(missing_ok=True)


def redis_client(url: str) -> Any:
    import redis

    client = redis.Redis.from_url(url)
    database = client.connection_pool.connection_kwargs.get("db", 0)
    if int(database) == 0:
        raise BenchError(
            "BENCH_REDIS_URL must name a dedicated Redis database (not 0): it is flushed"
        )
    return client


# --- Processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_step(env: dict[str, str], *args: str) -> str:
    """Run one setup command to completion; its output is shown only if it fails."""
    completed = subprocess.run(
        [PYTHON, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchError(
            f"{' '.join(args)} failed ({completed.returncode}):\n"
            f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        )
    return completed.stdout


def job(env: dict[str, str], *args: str) -> dict[str, Any]:
    output = run_step(env, "-m", "bench.jobs", *args)
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-3000:]
        return ""

    def worker_pids(self) -> list[int]:
        return children_of(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            # SIGTERM: gunicorn's graceful stop; the workers finish their request and leave.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def server_start(env: dict[str, str], options: Options, port: int, log_dir: Path) -> Server:
    log_path = log_dir / "gunicorn.log"
    command = [
        str(BIN / "gunicorn"),
        "bench.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(options.workers),
        "--worker-class",
        options.worker_class,
        "--threads",
        str(options.threads),
        "--keep-alive",
        "5",
        "--timeout",
        "30",
        "--log-level",
        "warning",
    ]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so the workers can be ended too
        )
    server = Server(process=process, port=port, log_path=log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited ({process.returncode}):\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                if reply.status == 200 and len(server.worker_pids()) >= options.workers:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    server.stop()
    raise BenchError(f"gunicorn did not answer /healthz within 30 s:\n{server.log_tail()}")


def smoke(port: int) -> None:
    """One request of each kind, so a broken setup fails here and not as a table of errors."""
    host = "127.0.0.1"
    import http.client

    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        for path in ("/bench/trivial/", CAMPAIGN, COUNT):
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise BenchError(f"GET {path}: HTTP {response.status}")
        cookie, token = loadgen.csrf_fetch(conn, CAMPAIGN)
        for path, form, headers in (
            ("/bench/insert/", {}, {}),
            (
                SIGN,
                {"name": "Smoke Test", "display": "hidden", "csrfmiddlewaretoken": token},
                {"Cookie": f"csrftoken={cookie}"},
            ),
        ):
            body = urlencode({**form, "email": f"smoke-{len(path)}@example.org"})
            conn.request(
                "POST",
                path,
                body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
            )
            response = conn.getresponse()
            response.read()
            if response.status != 302:
                raise BenchError(f"POST {path}: HTTP {response.status}, expected 302")
    finally:
        conn.close()


# --- Main ---------------------------------------------------------------------------------


def child_env(database: Database, redis_url: str, site_url: str, var_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SBOR_", "CELERY_", "DJANGO_"))
        and key not in ("DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=database.url,
        REDIS_URL=redis_url,
        SBOR_SITE_URL=site_url,
        SBOR_VAR_DIR=str(var_dir),
        SBOR_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
    )
    return env
