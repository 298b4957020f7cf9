"""The reference task. No worker runs during the benchmark: messages only pile up in the
broker, and bench/run.py flushes the bench Redis database at the end."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="bench.noop", ignore_result=True)
def noop() -> None:
    return None
