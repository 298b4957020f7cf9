"""Web addresses from titles, Cyrillic included.

Django's ``slugify`` keeps only ASCII, so "Свободу политзаключённым" would give an empty
slug. Cyrillic letters are first spelled in Latin letters with the readable scheme Russian
web addresses commonly use (close to BGN/PCGN: ж zh, х kh, ц ts, ч ch, ш sh, щ shch,
ё yo, ю yu, я ya, й y; hard and soft signs dropped) rather than ICAO 9303's passport
scheme (ю iu, я ia), which reads badly in an address: "svobodu-politzaklyuchyonnym".
Ukrainian and Belarusian letters get their usual spelling too.
"""

# ruff: noqa: RUF001, RUF002 - the table maps Cyrillic letters, some of which look Latin

from __future__ import annotations

import re

from django.utils.text import slugify

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
    # Ukrainian and Belarusian
    "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u",
}  # fmt: skip
_TABLE = str.maketrans(_CYRILLIC)
_SEPARATORS = re.compile(r"[\W_]+")


def transliterate(text: str) -> str:
    """``text`` in lower case with its Cyrillic letters spelled in Latin letters."""
    return text.lower().translate(_TABLE)


def slug_from_text(text: str, *, max_length: int) -> str:
    """A slug of at most ``max_length`` characters, cut at a hyphen; "" if nothing is left.

    Letters with accents lose them (``slugify`` folds to ASCII); any run of characters that
    are not letters or digits becomes one hyphen ("1:0" is "1-0", not "10").
    """
    slug = slugify(_SEPARATORS.sub(" ", transliterate(text)))
    if len(slug) <= max_length:
        return slug
    cut = slug[: max_length + 1]
    if cut[-1] != "-" and "-" in cut:
        cut = cut[: cut.rindex("-")]
    return cut[:max_length].strip("-")
