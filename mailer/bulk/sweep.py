"""The bulk sweep: what dead workers left behind, lost tasks, finished mailings."""

from __future__ import annotations


def mailings_sweep() -> dict[str, int]:
    """Requeue stale claims, record stale hand-overs as unknown, re-enqueue, finish."""
    raise NotImplementedError
