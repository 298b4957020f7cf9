"""Template access to the signing switches: the site-wide pause and the proof-of-work challenge."""

from __future__ import annotations

from django import template

from petitions.models import Petition
from trust.challenge import ChallengeWidget, challenge_widget_get
from trust.selectors import signing_pause_message

register = template.Library()


@register.simple_tag
def signing_paused_message() -> str:
    """The pause message while all signing is paused, else ""."""
    return signing_pause_message()


@register.simple_tag
def petition_challenge(petition: Petition) -> ChallengeWidget | None:
    """A fresh challenge for this petition's sign form, or None when none is required."""
    return challenge_widget_get(petition=petition)
