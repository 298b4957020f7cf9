"""Periodic tasks that keep petition counts current. Both are safe to run concurrently."""

from __future__ import annotations

from celery import shared_task

from petitions import services


@shared_task(ignore_result=True)
def signature_counts_refresh() -> int:
    return services.signature_counts_refresh()


@shared_task(ignore_result=True)
def signature_counts_repair() -> int:
    return services.signature_counts_repair()
