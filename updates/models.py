"""An update: what an organiser writes to a campaign's consenting supporters.

Its life: ``draft`` → (``scheduled`` →) ``sending`` → ``sent``; a scheduled update can go
back to draft (cancelled by a member, or by the system when the member who scheduled it
may no longer send updates once its time comes), and one being sent can be ``cancelled``
(what was handed over stays sent).
Sending makes one mailer ``Mailing``; planning adds one delivery per person to it, in
chunks, and remembers how far it got (``planned_through``), so an interrupted planning
resumes without adding anyone twice (the mailer's unique constraint decides).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaigns.models import Campaign
from campaigns.services.markdown import MARKDOWN_MAX_LENGTH
from mailer.models import Mailing
from petitions.models import Petition

SUBJECT_MAX_LENGTH = 200
# What any Markdown organisers write may hold (a bound on the parser's work, see
# campaigns.services.markdown).
BODY_MAX_LENGTH = MARKDOWN_MAX_LENGTH


class UnscheduledReason(models.TextChoices):
    """Why the system took back a schedule instead of sending (shown on the update's page)."""

    SCHEDULER_NOT_ALLOWED = (
        "scheduler_not_allowed",
        _("the member who scheduled it may no longer send this organisation's updates"),
    )


class Update(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", pgettext_lazy("updates", "Cancelled")

    class Origin(models.TextChoices):
        MANUAL = "manual", _("Written by an organiser")
        WON = "won", _("Proposed: a petition was won")
        CLOSED = "closed", _("Proposed: a petition was closed")
        RESPONSE = "response", _("Proposed: the target responded")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="updates")
    subject = models.CharField(_("subject"), max_length=SUBJECT_MAX_LENGTH)
    body = models.TextField(_("message (Markdown)"), max_length=BODY_MAX_LENGTH)
    # Sanitised HTML rendered from ``body`` when it is saved (the campaign story's renderer),
    # so that sending never parses Markdown. Written only by ``updates.services``.
    body_html = models.TextField(editable=False, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.MANUAL)
    # The petition an outcome update is about (won, closed, responded to).
    petition = models.ForeignKey(
        Petition, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    # Whose right a scheduled send runs on: checked again when the time comes.
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # When the system took a schedule back (the update is a draft again), and why.
    unscheduled_at = models.DateTimeField(null=True, blank=True, editable=False)
    unscheduled_reason = models.CharField(
        max_length=32, choices=UnscheduledReason.choices, blank=True, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # When sending began (the click, or the scheduled time), and when the last delivery
    # reached its outcome.
    sending_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    mailing = models.OneToOneField(
        Mailing, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Planning: the last supporter id added to the mailing, and when the walk ended.
    planned_through = models.BigIntegerField(default=0, editable=False)
    planned_at = models.DateTimeField(null=True, blank=True, editable=False)
    # How many people the update was planned for (set when planning ends).
    audience_size = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("update")
        verbose_name_plural = _("updates")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One proposed update per outcome of a petition: "Tell supporters" twice makes
            # one draft.
            models.UniqueConstraint(
                fields=["petition", "origin"],
                condition=~models.Q(origin="manual"),
                name="update_one_per_outcome",
            ),
        ]
        indexes = [
            # The periodic task finds the few updates that are due, or still going out.
            models.Index(
                fields=["scheduled_at"],
                name="update_scheduled",
                condition=models.Q(status="scheduled"),
            ),
            models.Index(
                fields=["sending_at"],
                name="update_sending",
                condition=models.Q(status="sending"),
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.SCHEDULED)
