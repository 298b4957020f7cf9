"""Public reads: petitions on a page, goals, counts and recent signers. Nothing here counts
rows on a page view."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404
from django.utils.formats import number_format
from django.utils.translation import ngettext
from django_countries import countries

from campaigns.models import Campaign
from petitions.models import Petition, Signature

# The goal shown next to the count rises through these steps once the count reaches one.
_GOAL_STEPS = (1, 5)
_FIRST_GOAL = 100
RECENT_SIGNERS_LIMIT = 8
RECENT_SIGNERS_CACHE_SECONDS = 10


@dataclass(frozen=True)
class PublicSigner:
    display_name: str
    country_code: str
    confirmed_at: datetime

    @property
    def country_name(self) -> str:
        # Resolved when rendered, so a cached list serves every language.
        return str(countries.name(self.country_code)) if self.country_code else ""


def petition_goal(*, count: int) -> int:
    """The goal ladder: the first rung above ``count`` of 100, 500, 1 000, 5 000, 10 000,
    50 000, 100 000, … (so 0 → 100, 100 → 500, 4 999 → 5 000, 5 000 → 10 000)."""
    magnitude = _FIRST_GOAL
    while True:
        for step in _GOAL_STEPS:
            goal = step * magnitude
            if goal > count:
                return goal
        magnitude *= 10


def petition_goal_shown(*, petition: Petition) -> int:
    """The goal shown next to the petition's stored count: the organisers' fixed goal, or
    the ladder's next rung. A fixed goal stays when the count passes it (then the bar is
    full)."""
    if petition.goal_kind == Petition.GoalKind.FIXED and petition.goal_fixed:
        return petition.goal_fixed
    return petition_goal(count=petition.signature_count)


def petition_list_public(*, campaign: Campaign) -> QuerySet[Petition]:
    return campaign.petitions.exclude(status=Petition.Status.DRAFT).order_by("created_at")


def petition_get_public(*, slug: str) -> Petition:
    """A published petition of a public campaign; ``Http404`` otherwise."""
    try:
        return (
            Petition.objects.select_related("campaign__organisation")
            .exclude(status=Petition.Status.DRAFT)
            .exclude(campaign__status=Campaign.Status.DRAFT)
            .get(slug=slug)
        )
    except Petition.DoesNotExist:
        raise Http404("No such petition") from None


def display_name(*, name: str, display: str) -> str:
    """The name as its signer chose to show it: full, or first name and initial."""
    if display == Signature.Display.FULL:
        return name
    parts = name.split()
    if display == Signature.Display.SHORT and parts:
        if len(parts) == 1:
            return parts[0]
        return f"{parts[0]} {parts[-1][0]}."
    return ""


def _recent_signers_key(petition_id: int) -> str:
    return f"petition:{petition_id}:recent-signers"


def petition_recent_signers(*, petition: Petition) -> list[PublicSigner]:
    """The latest confirmed signers who chose to be shown, newest first (cached briefly)."""
    key = _recent_signers_key(petition.pk)
    cached: list[PublicSigner] | None = cache.get(key)
    if cached is not None:
        return cached
    rows = (
        Signature.objects.filter(petition=petition, status=Signature.Status.CONFIRMED)
        .exclude(display=Signature.Display.HIDDEN)
        .filter(supporter__isnull=False)  # anonymised rows have no name to show
        .order_by("-confirmed_at")[:RECENT_SIGNERS_LIMIT]
    )
    # The name and country given on this signature, as the signer chose to show it.
    signers = [
        PublicSigner(
            display_name=display_name(name=row.name, display=row.display),
            country_code=str(row.country or ""),
            confirmed_at=row.confirmed_at or row.created_at,
        )
        for row in rows
    ]
    cache.set(key, signers, RECENT_SIGNERS_CACHE_SECONDS)
    return signers


def petition_count_label(*, count: int, goal: int) -> str:
    """ "1 234 of 5 000 signatures", with the plural form the count calls for."""
    # English reads "1 of 100 signatures" for every count, but Russian declines the noun by
    # the count, so this stays an ngettext call with two identical English forms.
    return ngettext(
        "%(count)s of %(goal)s signatures",
        "%(count)s of %(goal)s signatures",
        count,
    ) % {
        "count": number_format(count, force_grouping=True),
        "goal": number_format(goal, force_grouping=True),
    }


def petition_recent_signers_forget(*, petition_ids: Iterable[int]) -> None:
    """Drop the cached recent signers, after signatures left or lost their names."""
    cache.delete_many([_recent_signers_key(petition_id) for petition_id in petition_ids])
