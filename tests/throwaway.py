"""Throwaway Redis and PostgreSQL servers that a test may stop and start.

The shared services (PostgreSQL on 5432, Redis on 6379) are never stopped by a test: a test
that needs a dependency to go down starts its own on a free port, in a temporary folder,
and stops it in a finalizer. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

START_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def _wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {START_TIMEOUT_SECONDS:.0f}s")
        time.sleep(0.05)


class RedisServer:
    """``redis-server`` on a free port, without persistence; ``stop()`` and ``start()`` again."""

    def __init__(self, folder: Path) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.executable = executable
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            [
                self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for(lambda: port_accepts(self.port), "redis-server")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
        _wait_for(lambda: not port_accepts(self.port), "redis-server's stop")


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    executable = shutil.which(name)
    if executable is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return executable


class PostgresCluster:
    """A PostgreSQL cluster of its own (``initdb`` + ``pg_ctl``) on a free port.

    PostgreSQL refuses to run as root; as root, the cluster belongs to the ``postgres``
    user, which the server package creates. Connections are trusted from 127.0.0.1 only.
    """

    def __init__(self) -> None:
        # Not under pytest's tmp_path: its parent is private to root, and the server runs
        # as postgres.
        self.folder = Path(tempfile.mkdtemp(prefix="sbor-test-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.folder, user="postgres")
        self._run(
            _postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C",
        )  # fmt: skip

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *command: str) -> None:
        if self.as_root:
            command = ("runuser", "-u", "postgres", "--", *command)
        subprocess.run(
            command,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=START_TIMEOUT_SECONDS,
            cwd=self.folder,
        )

    def _pg_ctl(self, *args: str) -> None:
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-t", "20", "-w", *args)

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
            "-c fsync=off -c full_page_writes=off"
        )
        self._pg_ctl("-o", options, "-l", str(self.folder / "server.log"), "start")
        _wait_for(lambda: port_accepts(self.port), "PostgreSQL")

    def stop(self) -> None:
        # "fast": open connections are cut, as in a crash or fail-over, not waited for.
        self._pg_ctl("-m", "fast", "stop")
        _wait_for(lambda: not port_accepts(self.port), "PostgreSQL's stop")

    def remove(self) -> None:
        """For finalizers: stop if running and delete the cluster; never raises."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
