"""Sending a mailing: claim a batch, build it, check suppression, hand it over, record."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SendReport:
    status: str
    sent: int = 0


def mailing_send(*, mailing_id: int) -> SendReport:
    """Send batches of the mailing for up to ``MAILER_BULK_TASK_SECONDS``. Safe to run twice."""
    raise NotImplementedError
