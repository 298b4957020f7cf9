"""The workspace's tasks: answering password-reset requests."""

from __future__ import annotations

from celery import shared_task

from workspace.services import accounts


@shared_task(ignore_result=True)
def password_reset_request_process(request_id: int) -> bool:
    """Answer one password-reset request: mail the link if an active account has the address."""
    return accounts.password_reset_request_process(request_id=request_id)


@shared_task(ignore_result=True)
def password_reset_requests_sweep() -> int:
    """Answer password-reset requests whose task was lost; drop stale ones (every minute)."""
    return accounts.password_reset_requests_sweep()
