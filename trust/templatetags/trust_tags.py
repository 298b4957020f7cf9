"""Template access to the site-wide signing pause.

A petition's challenge widget is petitions' tag (``petition_tags.petition_challenge``): only
petitions know whether a petition always asks for one.
"""

from __future__ import annotations

from django import template

from trust.selectors import signing_pause_message

register = template.Library()


@register.simple_tag
def signing_paused_message() -> str:
    """The pause message while all signing is paused, else ""."""
    return signing_pause_message()
