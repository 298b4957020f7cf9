from __future__ import annotations

from django import template

from petitions.models import Petition
from petitions.selectors import petition_count_label
from trust.challenge import ChallengeWidget, challenge_widget_get

register = template.Library()


@register.simple_tag
def count_label(count: int, goal: int) -> str:
    return petition_count_label(count=count, goal=goal)


@register.simple_tag
def petition_challenge(petition: Petition) -> ChallengeWidget | None:
    """A fresh challenge for this petition's sign form, or None when none is required."""
    return challenge_widget_get(
        petition_id=petition.pk, always_required=petition.challenge_required
    )
