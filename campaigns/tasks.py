"""Campaigns' periodic tasks (scheduled in ``settings.CELERY_BEAT_SCHEDULE``)."""

from __future__ import annotations

from celery import shared_task

from campaigns.services import members


@shared_task(ignore_result=True)
def invitations_expired_delete() -> int:
    """Delete invitations that expired unaccepted, with their addresses and mail (hourly)."""
    return members.invitations_expired_delete()
