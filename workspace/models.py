"""The workspace's own table: requests for a password-reset email, answered by a task."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from trust.crypto import EncryptedTextField


class PasswordResetRequest(models.Model):
    """Someone asked for a password-reset email; a task answers it (or finds no account).

    The request writes this row and enqueues one task whatever the address, so the work
    done while the person waits never depends on whether an account has it (as
    ``petitions.ManageLinkRequest`` does for signers). The row lives for seconds: the task
    deletes it as it claims it; a periodic sweep answers rows whose task was lost and
    deletes those too old to answer.
    """

    # The normalised address (empty past the per-address limit: answered, not mailed).
    # Encrypted at rest; never in the broker.
    email = EncryptedTextField(blank=True)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"password reset request {self.pk}"
