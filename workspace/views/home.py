"""The workspace's start: the member's organisations, and one organisation's campaigns."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from campaigns.access import Action
from campaigns.models import Membership
from petitions.selectors import campaign_list_with_totals
from workspace.access import member_view, signed_in_user
from workspace.views.campaigns import member_rights


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = list(
        Membership.objects.filter(user=signed_in_user(request)).select_related("organisation")
    )
    if len(memberships) == 1:
        slug = memberships[0].organisation.slug
        return HttpResponseRedirect(reverse("workspace:organisation", kwargs={"org": slug}))
    return render(request, "workspace/home.html", {"memberships": memberships})


@member_view(Action.VIEW)
def organisation(request: HttpRequest) -> HttpResponse:
    """The organisation's campaigns with their status and totals (stored counts only)."""
    organisation = request.organisation  # type: ignore[attr-defined]
    return render(
        request,
        "workspace/organisation.html",
        {
            "organisation": organisation,
            "campaigns": campaign_list_with_totals(organisation=organisation),
            "ws_section": "campaigns",
            **member_rights(request),
        },
    )
