"""Organisations and campaigns in the admin. The lockdown (which purges signers' data) is
petitions' business: petitions.admin.campaigns extends this admin with it."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from campaigns.models import Campaign, Organisation
from campaigns.services import MARKDOWN_MAX_LENGTH, campaign_save, markdown_validate


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "website"]
    prepopulated_fields = {"slug": ["name"]}
    # "example.org" typed without a scheme means https (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class CampaignAdminForm(forms.ModelForm):
    # The story is bounded before anything parses it (campaigns.services.markdown).
    body = forms.CharField(
        label=Campaign._meta.get_field("body").verbose_name,
        required=False,
        strip=False,
        max_length=MARKDOWN_MAX_LENGTH,
        validators=[markdown_validate],
        widget=forms.Textarea,
    )

    class Meta:
        model = Campaign
        fields = ["organisation", "slug", "title", "summary", "body", "language", "status"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignAdminForm
    list_display = ["title", "organisation", "status", "language", "created_at", "locked_down_at"]
    list_filter = ["status", "language", "organisation"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["locked_down_at"]

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        campaign_save(campaign=obj)
