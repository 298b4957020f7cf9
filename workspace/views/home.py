"""The workspace's start: the member's organisations, and one organisation's campaigns."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from campaigns.access import Action
from campaigns.models import Membership
from workspace.access import member_view, signed_in_user


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
    campaigns = request.organisation.campaigns.order_by("-updated_at")  # type: ignore[attr-defined]
    return render(
        request,
        "workspace/organisation.html",
        {
            "organisation": request.organisation,  # type: ignore[attr-defined]
            "campaigns": campaigns,
            "ws_section": "campaigns",
        },
    )
