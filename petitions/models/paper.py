"""Signatures collected on paper, added by organisers one batch at a time.

A batch says how many, who collected them (a group, an event: never a signer's personal
data) and on which day, and which organiser added it. ``Petition.paper_count`` holds the
total of a petition's batches, kept by ``petitions.services.paper_batch_add`` in the same
transaction as the batch, so a page view never sums rows.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from petitions.models.petitions import Petition


class PaperBatch(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    petition = models.ForeignKey(Petition, on_delete=models.CASCADE, related_name="paper_batches")
    count = models.PositiveIntegerField(_("number of signatures"))
    # Who collected them, e.g. "Volunteers in Perm". Empty only for the total recorded
    # before batches existed (migration 0012), which has no organiser either.
    collected_by = models.CharField(_("collected by"), max_length=200, blank=True)
    collected_on = models.DateField(_("collected on"))
    # The organiser who added the batch; kept (as empty) when their account goes.
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("paper batch")
        verbose_name_plural = _("paper batches")
        ordering = ["-collected_on", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(count__gt=0), name="paper_batch_count_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.count} on paper, {self.collected_on}"
