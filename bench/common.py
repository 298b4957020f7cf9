"""What every part of the benchmark shares: where things are, the options, the log line."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


PYTHON = sys.executable
BIN = Path(PYTHON).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/sbor_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
RESULTS = ROOT / "bench" / "RESULTS.md"
CAMPAIGN = "/c/russia-behind-bars/"
PETITION = "right-to-defence"
SIGN = f"/p/{PETITION}/sign/"
COUNT = f"/api/v1/petitions/{PETITION}/count/"
STEP_TIMEOUT = 300  # seconds for any one setup subprocess (migrate, fill, …)
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- Options ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    duration: float
    warmup: float
    rows: int
    pending: int
    clients: int
    workers: int
    worker_class: str
    threads: int
    output: Path | None
    quick: bool
