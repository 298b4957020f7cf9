"""A petition: what is asked, of whom, in which campaign; its lifecycle; its stored counts.

Lifecycle: draft → open → closed, or won (closed with a victory). Signing stops for both
closed and won (``CLOSED_STATUSES``); ``closed_at`` is stamped when either begins, and
retention counts from it. An open petition past its deadline (``closes_at``) takes no
signatures and is closed by the periodic ``petitions.tasks.petitions_close_due``.

The goal shown next to the count is either fixed by the organisers (``goal_fixed``) or
the next rung of the ladder above the stored count (``petitions.selectors.petition_goal``).
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign


class Petition(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        WON = "won", _("Won")

    # Statuses in which the petition takes no signatures any more and retention runs.
    CLOSED_STATUSES: ClassVar[tuple[str, ...]] = (Status.CLOSED, Status.WON)

    class GoalKind(models.TextChoices):
        LADDER = "ladder", _("Next step up as signatures grow")
        FIXED = "fixed", _("A fixed number")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="petitions")
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    title = models.CharField(_("title"), max_length=200)
    ask = models.TextField(_("what the petition asks for"))
    # The decision maker the petition is addressed to.
    target_name = models.CharField(_("addressed to"), max_length=200)
    target_position = models.CharField(_("their position"), max_length=200, blank=True)
    target_organisation = models.CharField(_("their organisation"), max_length=200, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    goal_kind = models.CharField(
        _("goal"), max_length=16, choices=GoalKind.choices, default=GoalKind.LADDER
    )
    goal_fixed = models.PositiveIntegerField(_("fixed goal"), null=True, blank=True)
    # The deadline: after it the petition takes no signatures, and a periodic task closes it.
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)
    # When the status became "closed" or "won"; retention counts from here (or closes_at).
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The target's answer, shown on the public page with its date.
    response_text = models.TextField(_("the target's response"), blank=True)
    response_date = models.DateField(_("date of the response"), null=True, blank=True)
    response_recorded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Proof of work on the sign form and API for everyone, not only past the rate threshold.
    challenge_required = models.BooleanField(
        _("always ask for a proof-of-work challenge"), default=False
    )
    # The total of the petition's paper batches (``PaperBatch``), kept by
    # ``petitions.services.paper_batch_add`` in the batch's own transaction.
    paper_count = models.PositiveIntegerField(
        _("signatures collected on paper"),
        default=0,
        editable=False,
        help_text=_("Shown on its own line; never added to the online count."),
    )
    # Kept by the periodic count task (petitions.services.signature_counts_refresh); a page
    # view reads this instead of counting rows.
    signature_count = models.PositiveBigIntegerField(default=0, editable=False)
    count_refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The integrity line (pending, invalidated by reason category, withdrawn), kept by a
    # periodic task like the count: {"pending": n, "withdrawn": n, "invalidated": {cat: n}}.
    integrity = models.JSONField(default=dict, editable=False)
    integrity_refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set once retention or a lockdown removed every signer's personal data.
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("petition")
        verbose_name_plural = _("petitions")
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(goal_kind="ladder")
                | models.Q(goal_kind="fixed", goal_fixed__gt=0),
                name="petition_fixed_goal_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        if self.status != self.Status.OPEN:
            return False
        return self.closes_at is None or self.closes_at > timezone.now()

    @property
    def is_won(self) -> bool:
        return self.status == self.Status.WON

    @property
    def target_label(self) -> str:
        """The decision maker as one line: "name, position, organisation" (those given)."""
        parts = (self.target_name, self.target_position, self.target_organisation)
        return ", ".join(part.strip() for part in parts if part.strip())
