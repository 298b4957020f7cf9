"""Petitions in the admin: saving one goes through ``petition_save`` (closing, retention).

Paper signatures are added by organisers in the workspace, batch by batch
(``petitions.services.paper_batch_add``), which keeps ``paper_count`` as their total: here
both are read-only, so the total always matches its batches.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from petitions.models import Petition
from petitions.services import retention


class PetitionAdminForm(forms.ModelForm):
    class Meta:
        model = Petition
        fields = [
            "campaign", "slug", "title", "ask", "target_name", "target_position",
            "target_organisation", "language", "status", "goal_kind", "goal_fixed", "closes_at",
            "challenge_required",
        ]  # fmt: skip

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        campaign = cleaned.get("campaign")
        locked = campaign is not None and campaign.locked_down_at is not None
        if locked and cleaned.get("status") not in Petition.CLOSED_STATUSES:
            self.add_error("status", _("This campaign was locked down: its petitions stay closed."))
        if cleaned.get("goal_kind") == Petition.GoalKind.FIXED and not cleaned.get("goal_fixed"):
            self.add_error("goal_fixed", _("Give the number of signatures the petition aims for."))
        return cleaned


@admin.register(Petition)
class PetitionAdmin(admin.ModelAdmin):
    form = PetitionAdminForm
    list_display = ["title", "campaign", "status", "signature_count", "paper_count", "closes_at"]
    list_filter = ["status", "campaign"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = [
        "signature_count",
        "count_refreshed_at",
        "integrity",
        "integrity_refreshed_at",
        "paper_count",
        "paper_batches",
        "closed_at",
        "response_text",
        "response_date",
        "response_recorded_at",
        "anonymised_at",
    ]

    @admin.display(description=_("paper batches"))
    def paper_batches(self, petition: Petition) -> str:
        # Shown read-only (no inline form: a change form stays one form, as it always was).
        lines = [
            f"{batch.collected_on:%Y-%m-%d}: {batch.count} ({batch.collected_by or '-'})"
            for batch in petition.paper_batches.all()
        ]
        return "; ".join(lines) or "-"

    def save_model(self, request: HttpRequest, obj: Petition, form: Any, change: bool) -> None:
        retention.petition_save(petition=obj)
