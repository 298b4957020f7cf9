from __future__ import annotations

from django import template

from petitions.models import Petition
from petitions.selectors import PetitionIntegrity, petition_integrity

register = template.Library()


@register.simple_tag
def integrity_of(petition: Petition) -> PetitionIntegrity:
    return petition_integrity(petition=petition)
