"""What a link to one of our pages shows when it is shared: Open Graph and Twitter tags.

A view puts a ``SocialCard`` in its context as ``social``; ``templates/_social_meta.html``
(included by ``base.html``'s ``meta`` block of public pages) prints the tags. Every URL in
them is absolute, on ``SITE_URL``: crawlers fetch them from elsewhere, and the host a
request came in on is not one we chose.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

SITE_NAME = "Sbor"
# Open Graph wants a territory with the language.
OG_LOCALES = {"en": "en_GB", "ru": "ru_RU"}


@dataclass(frozen=True)
class SocialCard:
    title: str
    description: str
    url: str
    locale: str = ""
    type: str = "website"
    image_url: str = ""
    image_width: int = 0
    image_height: int = 0
    image_alt: str = ""
    image_type: str = "image/png"
    site_name: str = SITE_NAME

    @property
    def twitter_card(self) -> str:
        return "summary_large_image" if self.image_url else "summary"


def site_url(path: str) -> str:
    """``path`` (from ``reverse``) as an absolute URL on the site's own address."""
    return f"{settings.SITE_URL}{path}"


def og_locale(language: str) -> str:
    return OG_LOCALES.get(language, "")
