"""Petition addresses (/p/<slug>/...) made from titles, Russian ones included (common.slugs)."""

from __future__ import annotations

from common.slugs import slug_from_text
from petitions.models import Petition

SLUG_MAX = 80  # Petition.slug's max_length


def slug_from_title(title: str) -> str:
    """ "Освободите Ивана!" → "osvobodite-ivana"; "petition" when nothing is left."""
    return slug_from_text(title, max_length=SLUG_MAX) or "petition"


def slug_free(*, base: str) -> str:
    """``base``, or ``base-2``, ``base-3``, …: the first address no petition has."""
    candidate, n = base, 1
    while Petition.objects.filter(slug=candidate).exists():
        n += 1
        suffix = f"-{n}"
        candidate = base[: SLUG_MAX - len(suffix)].rstrip("-") + suffix
    return candidate
