"""Celery tasks for updates. Thin: they take ids and call updates.services."""

from __future__ import annotations

from celery import shared_task

from common.tasks import enqueue_now
from updates import services


@shared_task(acks_late=True, ignore_result=True)
def update_plan(update_id: int) -> bool:
    """Plan an update's deliveries and start its mailing (safe to run twice)."""
    return services.update_plan(update_id=update_id)


@shared_task(ignore_result=True)
def updates_tick() -> dict[str, int]:
    """Every half minute: start due scheduled updates, re-enqueue planning whose task was
    lost, mark finished updates sent."""
    started = services.updates_due_start()
    stale = services.updates_plan_stale()
    for update_id in stale:
        enqueue_now(update_plan, update_id)
    finished = services.updates_finish()
    return {"started": started, "replanned": len(stale), "finished": finished}
