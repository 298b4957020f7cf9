"""Petitions in the admin: saving one goes through ``petition_save`` (closing, retention)."""

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
            "campaign", "slug", "title", "ask", "target", "language", "status", "closes_at",
            "challenge_required", "paper_count",
        ]  # fmt: skip

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        campaign = cleaned.get("campaign")
        locked = campaign is not None and campaign.locked_down_at is not None
        if locked and cleaned.get("status") != Petition.Status.CLOSED:
            self.add_error("status", _("This campaign was locked down: its petitions stay closed."))
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
        "closed_at",
        "anonymised_at",
    ]

    def save_model(self, request: HttpRequest, obj: Petition, form: Any, change: bool) -> None:
        retention.petition_save(petition=obj)
