"""The outbox: one row per transactional email, written in the transaction that causes it.

A Celery task claims the row, sends, and records the outcome, so a crash between any two
steps leaves a row that the periodic requeue task picks up again.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# The keys of ``OutboxMessage.about`` that are indexed, so that finding every message
# about one of them stays cheap. A key not listed here can be stored, but asking by it
# scans the table.
ABOUT_KEYS = ("petition", "signature", "sign_attempt")


class AboutKey(models.Func):
    """The text at ``key`` in ``OutboxMessage.about``, for indexes and queries alike.

    Django's own key transform passes the JSON path as a query parameter, which SQLite
    does not match against an index written with the path in the SQL; this writes the key
    into both, so asking by a key uses its index on SQLite and PostgreSQL. Values in
    ``about`` are stored as strings so both compare them as text.
    """

    output_field = models.CharField()

    def __init__(self, key: str) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise ValueError(f"not a key of about: {key!r}")
        self.key = key
        super().__init__(models.F("about"))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        about, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"({about} ->> '{self.key}')", list(params)
        return f"JSON_EXTRACT({about}, '$.{self.key}')", list(params)


class OutboxMessage(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    class ProviderStatus(models.TextChoices):
        # What the provider reported after it took a sent message (webhooks); the row's
        # status stays "sent". Delivery rows of bulk mail keep this in their status instead.
        NONE = "", pgettext_lazy("provider report", "Not reported")
        DELIVERED = "delivered", pgettext_lazy("provider report", "Delivered")
        BOUNCED = "bounced", pgettext_lazy("provider report", "Bounced")
        COMPLAINED = "complained", pgettext_lazy("provider report", "Complained")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # One of the kinds feature apps register (mailer.registry); checked when queued.
    kind = models.CharField(max_length=40)
    # Whom and what the message is about, in the owning app's own terms: the mailer
    # neither reads nor joins them, it hands the row to the kind's builder, which reads
    # the address at send time. ``recipient_ref`` names the person (e.g.
    # "petitions.supporter:42"); ``about`` holds ids of what the message is about, as
    # strings (e.g. {"petition": "5", "signature": "9", "sign_attempt": "3"}). The owning
    # app deletes the rows of people and things it deletes (outbox_messages_delete).
    recipient_ref = models.CharField(max_length=100, db_index=True)
    about = models.JSONField(default=dict, blank=True)
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
    provider_status = models.CharField(
        max_length=16, choices=ProviderStatus.choices, default=ProviderStatus.NONE, blank=True
    )

    class Meta:
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")
        indexes = [
            models.Index(
                fields=["created_at"],
                name="outbox_pending",
                condition=models.Q(status__in=["queued", "sending"]),
            ),
            # Feature apps find and delete rows by what they are about ("every message
            # of this petition"); one expression index per key they ask by.
            *[models.Index(AboutKey(key), name=f"outbox_about_{key}") for key in ABOUT_KEYS],
            # Provider events find the message they are about (mailer.events).
            models.Index(
                fields=["provider_message_id"],
                name="outbox_provider_id",
                condition=~models.Q(provider_message_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id} ({self.status})"
