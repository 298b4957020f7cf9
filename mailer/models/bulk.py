"""Bulk mail: one ``Mailing`` (say, one update to a petition's supporters), one ``Delivery``
row per recipient, and the mailer's own suppression list.

A feature app plans a mailing by adding delivery rows in chunks (``deliveries_add``), then
starts it; bulk workers claim batches of rows, send them and record each row's outcome.
The rows are the truth about who got what: a worker killed at any point leaves rows that
the sweep hands to another worker (``claimed``) or records as in doubt (``handing`` →
``unknown``), so nobody gets a second copy. See docs/emails.md ("Bulk mail").
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Mailing(models.Model):
    class Status(models.TextChoices):
        PLANNING = "planning", _("Planning")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # A bulk kind a feature app registered (mailer.registry.bulk_email_type_register).
    kind = models.CharField(max_length=40)
    # What the mailing is about, in the owning app's terms, ids as strings
    # (e.g. {"update": "7"}); handed back to the kind's builder, never read by the mailer.
    about = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLANNING)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When a send task last claimed a batch of this mailing, and when tasks were last
    # enqueued for it: the sweep re-enqueues a mailing whose tasks were lost only when
    # both are old, so a backlog in the queue is not multiplied.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # Deliveries deleted since planning (their people erased, or released from what the
    # mailing was about), counted by status: progress adds them back, so an update's
    # numbers stay true once no row says who was on its list (mailer.bulk.removal).
    removed_counts = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        verbose_name = _("mailing")
        verbose_name_plural = _("mailings")
        indexes = [
            models.Index(
                fields=["created_at"],
                name="mailing_active",
                condition=models.Q(status="sending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id} ({self.status})"


class Delivery(models.Model):
    class Status(models.TextChoices):
        # Waiting for a worker (again, after a transient failure: see next_attempt_at).
        QUEUED = "queued", _("Queued")
        # In a worker's batch (``claim``), until ``claimed_until``; not yet handed over.
        CLAIMED = "claimed", _("Claimed")
        # Being handed to the provider right now. A row left here by a dead worker is in
        # doubt and becomes UNKNOWN: it is never sent again.
        HANDING = "handing", _("Handing over")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        # On the suppression list when its turn came.
        SUPPRESSED = "suppressed", _("Suppressed")
        # The kind's builder had nobody to write to (address gone, unsubscribed).
        SKIPPED = "skipped", _("Skipped")
        CANCELLED = "cancelled", _("Cancelled")
        # Perhaps sent: the worker died while handing it over. Never sent again.
        UNKNOWN = "unknown", _("Unknown")
        # What the provider told us later (webhooks: delivery_status_record).
        DELIVERED = "delivered", _("Delivered")
        BOUNCED = "bounced", _("Bounced")
        COMPLAINED = "complained", _("Complained")

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="deliveries")
    # The owning app's reference to the person (e.g. "petitions.supporter:42"), handed to
    # the kind's builder, which reads the address at send time.
    recipient_ref = models.CharField(max_length=100)
    # trust.identity.email_digest of the address, given when planning: the suppression
    # list is checked by it at send time (the mailer never stores the address).
    address_digest = models.CharField(max_length=64)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The batch that holds the row (a random token per claim) and until when.
    claim = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Several rows may share one id (an ESP's batch call answers with one id for all).
    provider_message_id = models.CharField(max_length=200, blank=True)
    # Error class and SMTP/HTTP status only: provider messages can quote the address.
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["mailing", "recipient_ref"], name="delivery_one_per_recipient"
            ),
        ]
        indexes = [
            # Claiming: the next queued rows of a mailing, in id order; and progress
            # (one GROUP BY status over the mailing's rows).
            models.Index(fields=["mailing", "status", "id"], name="delivery_claim"),
            models.Index(
                fields=["provider_message_id"],
                name="delivery_provider_id",
                condition=~models.Q(provider_message_id=""),
            ),
            models.Index(fields=["recipient_ref"], name="delivery_recipient"),
            # The sweep: rows held past their lease.
            models.Index(
                fields=["claimed_until"],
                name="delivery_held",
                condition=models.Q(status__in=["claimed", "handing"]),
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class Suppression(models.Model):
    """An address the mailer never sends bulk mail to, by its keyed hash."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", _("Hard bounce")
        COMPLAINT = "complaint", _("Complaint")
        SOFT_BOUNCES = "soft_bounces", _("Repeated soft bounces")
        UNSUBSCRIBED_ALL = "unsubscribed_all", _("Unsubscribed from everything")
        MANUAL = "manual", _("Added by staff")

    # trust.identity.email_digest of the address.
    address_digest = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # The provider's event id that caused it, if any (de-duplicates webhook retries).
    source_event_id = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")

    def __str__(self) -> str:
        return f"suppression ({self.reason})"
