"""Periodic tasks over petitions and signatures. All are safe to run concurrently."""

from __future__ import annotations

from celery import shared_task

from petitions import services
from petitions.services import addresses, erasure, ip_hashes, manage_links, reminders


@shared_task(ignore_result=True)
def sign_attempt_process(attempt_id: int) -> None:
    """Turn a recorded sign attempt into a pending signature and its email (per attempt).

    Safe to run twice; if it never runs (broker down), ``sign_attempts_sweep`` does it."""
    services.sign_attempt_process(attempt_id=attempt_id)


@shared_task(ignore_result=True)
def sign_attempts_sweep() -> int:
    """Process attempts whose task was lost; delete expired attempts (every minute)."""
    return services.sign_attempts_sweep()


@shared_task(ignore_result=True)
def signature_reminders_send() -> int:
    """Remind people whose signature awaits confirmation (periodic, every 5 minutes)."""
    return reminders.signature_reminders_send()


@shared_task(ignore_result=True)
def signature_counts_refresh() -> int:
    return services.signature_counts_refresh()


@shared_task(ignore_result=True)
def signature_counts_repair() -> int:
    return services.signature_counts_repair()


@shared_task(ignore_result=True)
def supporter_emails_drop(supporter_id: int | None = None) -> int:
    """Drop stored addresses no mail needs: every supporter, in batches (periodic, the
    backstop); with ``supporter_id``, that one person only."""
    return addresses.supporter_emails_drop(
        supporter_ids=None if supporter_id is None else [supporter_id]
    )


@shared_task(ignore_result=True)
def supporter_emails_drop_due() -> int:
    """Drop the addresses of those who just confirmed, in batches (periodic, frequent).

    Confirming marks the supporter instead of enqueuing a task per person: two thousand
    confirmations are a few batched runs here, not two thousand tasks in a queue."""
    return addresses.supporter_emails_drop_due()


@shared_task(ignore_result=True)
def petition_integrity_refresh() -> int:
    """Store the numbers behind each petition's integrity line (periodic, every minute)."""
    return services.petition_integrity_refresh()


@shared_task(ignore_result=True)
def petitions_close_due() -> int:
    """Close open petitions whose deadline has passed (periodic, every minute)."""
    return services.petitions_close_due()


@shared_task(ignore_result=True)
def petitions_retention_apply() -> int:
    """Anonymise petitions closed longer than their campaign's retention period (hourly)."""
    return services.petitions_retention_apply()


@shared_task(ignore_result=True)
def manage_link_request_process(request_id: int) -> bool:
    """Answer one "/manage/" request: mail the link if the address belongs to a signer."""
    return manage_links.manage_link_request_process(request_id=request_id)


@shared_task(ignore_result=True)
def manage_link_requests_sweep() -> int:
    """Answer manage-link requests whose task was lost; drop stale ones (every minute)."""
    return manage_links.manage_link_requests_sweep()


@shared_task(ignore_result=True)
def supporters_unlinked_delete() -> int:
    """Delete people whose last signature was withdrawn days ago (hourly)."""
    return erasure.supporters_unlinked_delete()


@shared_task(ignore_result=True)
def signature_ip_hashes_drop() -> int:
    """Empty IP hashes past the fraud window and delete the salts behind them (hourly)."""
    return ip_hashes.signature_ip_hashes_drop()
