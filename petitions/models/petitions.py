"""A petition: what is asked, of whom, in which campaign; open or closed; its stored count."""

from __future__ import annotations

import uuid

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

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="petitions")
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    title = models.CharField(_("title"), max_length=200)
    ask = models.TextField(_("what the petition asks for"))
    target = models.CharField(_("addressed to"), max_length=200)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)
    # When the status became "closed"; retention counts from here (or from closes_at).
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Proof of work on the sign form and API for everyone, not only past the rate threshold.
    challenge_required = models.BooleanField(
        _("always ask for a proof-of-work challenge"), default=False
    )
    paper_count = models.PositiveIntegerField(
        _("signatures collected on paper"),
        default=0,
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

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        if self.status != self.Status.OPEN:
            return False
        return self.closes_at is None or self.closes_at > timezone.now()
