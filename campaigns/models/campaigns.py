"""Organisations and their campaigns: the cause and its story.

Public objects carry a stable slug and an opaque ``public_id``; sequential primary keys
never leave the server.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Organisation(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    name = models.CharField(_("organisation name"), max_length=200)
    website = models.URLField(_("website"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def retention_days_default() -> int:
    return int(settings.SBOR_RETENTION_DAYS)


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        CLOSED = "closed", _("Closed")
        WON = "won", _("Won")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="campaigns"
    )
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body = models.TextField(_("story (Markdown)"), blank=True)
    # Sanitised HTML rendered from ``body`` when it is saved, so a page view never parses
    # Markdown. Written only by ``campaigns.services.campaign_body_render``.
    body_html = models.TextField(editable=False, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    # Personal data of a petition's signers is anonymised this many days after it closed.
    retention_days = models.PositiveIntegerField(
        _("keep signers' personal data for (days after a petition closes)"),
        default=retention_days_default,
    )
    # The hero image, re-encoded at several widths (campaigns.services.media): {"width": w,
    # "height": h, "renditions": [{"width": 480, "jpeg": path, "webp": path}, ...]}, paths
    # in the default storage; {} without one. Written only by that service.
    hero_image = models.JSONField(default=dict, blank=True, editable=False)
    # What the image shows, for people who cannot see it; required with an image. Written
    # with it by the same service, so no model form (the admin's) can empty it alone.
    hero_alt = models.CharField(_("image description"), max_length=300, blank=True, editable=False)
    # Set by a lockdown: every signer's personal data was purged at once (counts kept).
    locked_down_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]
        # Purging every signer's personal data is irreversible: a right of its own, not
        # something every editor of campaign texts can do.
        permissions = [
            ("lockdown_campaign", _("Can lock down a campaign (purge its signers' data)")),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return self.status != self.Status.DRAFT
