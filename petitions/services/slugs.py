"""Petition addresses (/p/<slug>/) made from titles, Russian ones included."""

# Russian letters are the point of the table below.
# ruff: noqa: RUF001

from __future__ import annotations

from django.utils.text import slugify

from petitions.models import Petition

SLUG_MAX = 80

# Russian letters → Latin (simple passport-style transliteration).
_TRANSLITERATION = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
        "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "iu",
        "я": "ia",
    }
)  # fmt: skip


def slug_from_title(title: str) -> str:
    """ "Освободите Ивана!" → "osvobodite-ivana"; "petition" when nothing is left."""
    slug = slugify(title.lower().translate(_TRANSLITERATION))[:SLUG_MAX].strip("-")
    return slug or "petition"


def slug_free(*, base: str, exclude_pk: int | None = None) -> str:
    """``base``, or ``base-2``, ``base-3``, …: the first address no other petition has."""
    taken = Petition.objects.all()
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    candidate, n = base, 1
    while taken.filter(slug=candidate).exists():
        n += 1
        suffix = f"-{n}"
        candidate = base[: SLUG_MAX - len(suffix)].rstrip("-") + suffix
    return candidate
