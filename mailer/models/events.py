"""What mail providers tell us about sent messages, one row per event (webhooks).

The webhook stores the event and nothing else; a task processes it: records the final
status of the delivery or outbox row it is about, and puts the address on the suppression
list when a bounce, a complaint or an unsubscribe calls for it. See docs/emails.md
("Webhooks").
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class EmailEvent(models.Model):
    """One provider event about one recipient of one message.

    ``(esp, event_id, address_digest)`` is unique, so a webhook the provider sends again
    (or that someone replays) is one row, processed once. The address itself is never
    stored: only its keyed hash, as on deliveries and the suppression list.
    """

    class Type(models.TextChoices):
        DELIVERED = "delivered", pgettext_lazy("provider report", "Delivered")
        BOUNCED = "bounced", pgettext_lazy("provider report", "Bounced")
        COMPLAINED = "complained", pgettext_lazy("provider report", "Complained")
        UNSUBSCRIBED = "unsubscribed", pgettext_lazy("provider report", "Unsubscribed")
        # The provider refused to send it (often: the address is on its own suppression list).
        REJECTED = "rejected", pgettext_lazy("provider report", "Rejected")

    class BounceKind(models.TextChoices):
        # The address does not exist or will never take mail: suppressed at once.
        HARD = "hard", pgettext_lazy("bounce", "Hard")
        # The mailbox was full, the server down: suppressed after repeated ones.
        SOFT = "soft", pgettext_lazy("bounce", "Soft")
        UNKNOWN = "unknown", pgettext_lazy("bounce", "Unknown")

    # anymail's name for the provider ("Postmark", "Mailgun", "Amazon SES").
    esp = models.CharField(max_length=30)
    # The provider's id for the event, or a digest of what identifies it when it has none.
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=16, choices=Type.choices)
    bounce_kind = models.CharField(max_length=8, choices=BounceKind.choices, blank=True)
    # anymail's normalised reason for a rejection or a bounce ("bounced", "spam", …).
    reject_reason = models.CharField(max_length=20, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    # trust.identity.email_digest of the recipient.
    address_digest = models.CharField(max_length=64)
    # When it happened, as the provider says (never later than when we heard of it).
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("email event")
        verbose_name_plural = _("email events")
        constraints = [
            models.UniqueConstraint(
                fields=["esp", "event_id", "address_digest"], name="email_event_once"
            ),
        ]
        indexes = [
            # Soft bounces of one address within a window.
            models.Index(
                fields=["address_digest", "occurred_at"],
                name="email_event_bounces",
                condition=models.Q(event_type="bounced"),
            ),
            # The sweep: events whose task was lost.
            models.Index(
                fields=["received_at"],
                name="email_event_unprocessed",
                condition=models.Q(processed_at__isnull=True),
            ),
            # Pruning old events.
            models.Index(fields=["occurred_at"], name="email_event_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.esp} {self.event_type} {self.pk}"
