"""Staff tools for trust and safety in the Django admin.

Block rules are added and removed through ``trust.services`` (which validates them and
refreshes the cached rule set); an address rule is typed as the address but stored and
shown only as its keyed hash. IP-hash keys are not in the admin at all: nobody should
read, change or add a salt by hand.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from trust import services
from trust.identity import email_digest
from trust.models import BlockRule, SiteSettings
from trust.network import ip_normalise
from trust.site import site_settings_update


class BlockRuleForm(forms.ModelForm):
    class Meta:
        model = BlockRule
        fields = ["kind", "value", "note"]
        help_texts = {
            "value": _(
                "An IP address; a network such as 203.0.113.0/24; a domain such as "
                "example.com (its subdomains too); or an email address, of which only a "
                "keyed hash is stored."
            ),
        }

    raw_value = ""

    def clean_value(self) -> str:
        # Normalised here (not only in the service) so that a bad value is reported on its
        # field and a duplicate by the unique constraint, like any other form error.
        self.raw_value = self.cleaned_data["value"]
        kind = self.cleaned_data.get("kind")
        if not kind:
            return self.raw_value
        return services.block_rule_value_normalise(kind=kind, value=self.raw_value)


@admin.register(BlockRule)
class BlockRuleAdmin(admin.ModelAdmin):
    form = BlockRuleForm
    list_display = ["kind", "value_shown", "note", "created_at", "created_by"]
    list_filter = ["kind"]
    search_fields = ["value", "note"]
    ordering = ["-created_at"]

    @admin.display(description=_("value"))
    def value_shown(self, rule: BlockRule) -> str:
        if rule.kind == BlockRule.Kind.ADDRESS:
            return str(_("address (hashed)"))
        return rule.value

    def get_fields(self, request: HttpRequest, obj: BlockRule | None = None) -> Any:
        if obj is None:
            return ["kind", "value", "note"]
        return ["kind", "value_shown", "note", "created_at", "created_by"]

    def get_readonly_fields(self, request: HttpRequest, obj: BlockRule | None = None) -> Any:
        if obj is None:
            return []
        return ["kind", "value_shown", "note", "created_at", "created_by"]

    def has_change_permission(self, request: HttpRequest, obj: BlockRule | None = None) -> bool:
        # A rule is added or removed, never edited: the history stays readable.
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[BlockRule], search_term: str
    ) -> tuple[QuerySet[BlockRule], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        # Staff type an address or an IP as they know it; rules store a hash or a
        # canonical form.
        extra = Q()
        if "@" in term:
            extra |= Q(kind=BlockRule.Kind.ADDRESS, value=email_digest(term))
        if ip_normalise(term):
            extra |= Q(kind=BlockRule.Kind.IP, value=ip_normalise(term))
        if extra:
            results = results | queryset.filter(extra)
        return results, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: BlockRule, form: Any, change: bool) -> None:
        rule = services.block_rule_create(
            kind=form.cleaned_data["kind"],
            value=form.raw_value,
            note=form.cleaned_data.get("note", ""),
            created_by=request.user,
        )
        # The admin logs and redirects with the object it passed in.
        obj.pk = rule.pk
        obj.value = rule.value
        obj.created_by = rule.created_by
        obj.created_at = rule.created_at

    def delete_model(self, request: HttpRequest, obj: BlockRule) -> None:
        services.block_rule_delete(rule=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[BlockRule]) -> None:
        for rule in queryset:
            services.block_rule_delete(rule=rule)


@admin.register(SiteSettings)
class SiteSettingsAdmin(admin.ModelAdmin):
    """The one row of site switches: opened straight from the list, never added twice or
    deleted. Saving goes through ``trust.site.site_settings_update`` (which clears the cache
    every page reads the switch from)."""

    fields = ["signing_paused", "pause_message", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not SiteSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: SiteSettings | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        # One row, so no list: straight to it (made with the defaults if never saved).
        site, _created = SiteSettings.objects.get_or_create(pk=1)
        return redirect("admin:trust_sitesettings_change", site.pk)

    def save_model(self, request: HttpRequest, obj: SiteSettings, form: Any, change: bool) -> None:
        saved = site_settings_update(
            signing_paused=form.cleaned_data["signing_paused"],
            pause_message=form.cleaned_data["pause_message"],
        )
        # The admin logs and redirects with the object it passed in.
        obj.pk = saved.pk
        obj.updated_at = saved.updated_at
