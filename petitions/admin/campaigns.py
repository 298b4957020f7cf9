"""The campaign lockdown in the admin: campaigns' own admin, plus the action and page that
purge a campaign's personal data (through ``petitions.services.retention``).

It lives here rather than in campaigns so that campaigns never imports petitions; the admin
URL names and template stay campaigns' own.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from campaigns.admin import CampaignAdmin
from campaigns.models import Campaign
from petitions.selectors import campaign_lockdown_summary
from petitions.services import retention


class LockdownForm(forms.Form):
    confirm_name = forms.CharField(
        label=_("Type the campaign's title to confirm"),
        max_length=300,
        help_text=_("Exactly as shown above. This cannot be undone."),
    )


class CampaignLockdownAdmin(CampaignAdmin):
    actions = ["lockdown"]

    def has_lockdown_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        return request.user.has_perm("campaigns.lockdown_campaign")

    @admin.action(description=_("Lock down (purge all personal data)…"), permissions=["lockdown"])
    def lockdown(
        self, request: HttpRequest, queryset: QuerySet[Campaign]
    ) -> HttpResponseRedirect | None:
        campaigns = list(queryset[:2])
        if len(campaigns) != 1:
            self.message_user(
                request, _("Choose exactly one campaign to lock down."), messages.ERROR
            )
            return None
        return HttpResponseRedirect(
            reverse("admin:campaigns_campaign_lockdown", args=[campaigns[0].pk])
        )

    def get_urls(self) -> list[URLPattern]:
        lockdown = path(
            "<int:campaign_id>/lockdown/",
            self.admin_site.admin_view(self.lockdown_view),
            name="campaigns_campaign_lockdown",
        )
        return [lockdown, *super().get_urls()]

    def lockdown_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        """Explain what a lockdown purges and keeps; run it once the title is typed."""
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None:
            raise Http404
        if not self.has_lockdown_permission(request, campaign):
            raise PermissionDenied
        form = LockdownForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                detached = retention.campaign_lockdown(
                    campaign=campaign,
                    confirm_name=form.cleaned_data["confirm_name"],
                    actor=request.user,
                )
            except retention.LockdownConfirmationError as exc:
                form.add_error("confirm_name", str(exc))
            else:
                self.message_user(
                    request,
                    ngettext(
                        "Campaign locked down: %(n)s signature no longer points to a person.",
                        "Campaign locked down: %(n)s signatures no longer point to a person.",
                        detached,
                    )
                    % {"n": detached},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:campaigns_campaign_change", args=[campaign.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Lock down a campaign"),
            "campaign": campaign,
            "summary": campaign_lockdown_summary(campaign=campaign),
            "form": form,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/lockdown.html", context)


# campaigns.admin registered the plain admin first (this module imports it).
admin.site.unregister(Campaign)
admin.site.register(Campaign, CampaignLockdownAdmin)
