"""Periodic trust tasks."""

from __future__ import annotations

from celery import shared_task

from trust import iphash


@shared_task(ignore_result=True)
def ip_hashes_drop() -> int:
    """Empty IP hashes past the fraud window and delete the salts behind them (daily)."""
    return iphash.ip_hashes_drop()
