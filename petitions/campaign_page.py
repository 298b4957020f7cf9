"""The public campaign page: the campaign with its petitions, sign forms and recent signers.

It lives in petitions, not campaigns, so that campaigns never imports petitions."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from campaigns.models import Campaign
from campaigns.selectors import HERO_SIZES, campaign_get_public, campaign_hero
from petitions.forms import SignForm, source_clean
from petitions.models import Petition
from petitions.selectors import (
    petition_goal_shown,
    petition_list_public,
    petition_recent_signers,
)
from petitions.social import campaign_social_card


def campaign_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return campaign_page_render(request, campaign=campaign_get_public(slug=slug))


def _initial_source(request: HttpRequest) -> dict[str, str]:
    query = request.GET
    return {
        "utm_source": source_clean(query.get("utm_source") or query.get("ref")),
        "utm_medium": source_clean(query.get("utm_medium")),
        "utm_campaign": source_clean(query.get("utm_campaign")),
    }


def petition_panel(*, petition: Petition, form: SignForm | None, error: str = "") -> dict[str, Any]:
    count = petition.signature_count
    goal = petition_goal_shown(petition=petition)
    return {
        "petition": petition,
        "count": count,
        "goal": goal,
        "percent": min(100, count * 100 // goal),
        "recent_signers": petition_recent_signers(petition=petition),
        "form": form,
        "error": error,
    }


def campaign_page_render(
    request: HttpRequest,
    *,
    campaign: Campaign,
    bound: tuple[Petition, SignForm] | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    """The campaign page; ``bound`` re-shows a submitted form with its errors and input."""
    initial = _initial_source(request)
    panels = []
    for petition in petition_list_public(campaign=campaign):
        if bound and bound[0].pk == petition.pk:
            panels.append(petition_panel(petition=petition, form=bound[1], error=error))
        else:
            form = SignForm(initial=initial, auto_id=f"id_{petition.slug}_%s")
            panels.append(petition_panel(petition=petition, form=form))
    # The stored counts the panels already hold: the card's count costs no query.
    total = sum(panel["count"] for panel in panels) if panels else None
    context = {
        "campaign": campaign,
        "organisation": campaign.organisation,
        "panels": panels,
        "hero": campaign_hero(campaign=campaign),
        "hero_sizes": HERO_SIZES,
        "social": campaign_social_card(campaign=campaign, count=total),
    }
    return render(request, "campaigns/campaign_detail.html", context, status=status)
