"""The outbox: one row per email, written in the business transaction that causes it.

A Celery task claims the row, sends, and records the outcome, so a crash between any two
steps leaves a row that the periodic requeue task picks up again.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    class Kind(models.TextChoices):
        SIGNATURE_CONFIRM = "signature_confirm", _("Confirm your signature")
        SIGNATURE_ALREADY_SIGNED = "signature_already_signed", _("You have already signed")
        SIGNATURE_MANAGE_LINK = "signature_manage_link", _("Link to manage your signature")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=40, choices=Kind.choices)
    # Every message knows whom and what it is about; the address is read from the
    # supporter at send time, so erasing a supporter also empties their queued mail.
    supporter = models.ForeignKey(
        "petitions.Supporter", on_delete=models.CASCADE, related_name="outbox_messages"
    )
    petition = models.ForeignKey(
        "petitions.Petition",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="outbox_messages",
    )
    signature = models.ForeignKey(
        "petitions.Signature",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="outbox_messages",
    )
    # A confirmation email carries the link and code of one sign attempt. Deleting an
    # attempt deletes its unsent mail first (petitions.services.signing); the record of
    # mail sent stays, like every outbox row, until the supporter goes.
    sign_attempt = models.ForeignKey(
        "petitions.SignAttempt",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="outbox_messages",
    )
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Error class and SMTP/HTTP status only: provider messages can quote the address.
    last_error = models.CharField(max_length=200, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")
        indexes = [
            models.Index(
                fields=["created_at"],
                name="outbox_pending",
                condition=models.Q(status__in=["queued", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id} ({self.status})"
