from __future__ import annotations

from django import template

from petitions.selectors import petition_count_label

register = template.Library()


@register.simple_tag
def count_label(count: int, goal: int) -> str:
    return petition_count_label(count=count, goal=goal)
