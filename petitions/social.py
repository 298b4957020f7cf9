"""Shared links to a campaign: its social card (Open Graph, Twitter) and its share image.

The share image (``/c/<slug>/share.png``) shows the title, the organisation, the count and
the site, drawn on our server (``petitions.share_image``). The count is the sum of the
stored counts of the campaign's public petitions (never a count of rows). It is shown
exactly below 1 000 and rounded down to three significant digits above (12 345 shows as
12 300, 1 234 567 as 1 230 000), so a popular campaign's image changes at about one step
per per cent of growth, not at every signature: the PNG is drawn once per step and kept in
the cache, and the ``?v=`` of the URL on the page changes with it, so that networks that
keep images by URL fetch the new one.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from django.core.cache import cache
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.formats import number_format
from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.utils.translation import ngettext
from django.views.decorators.http import require_safe

from campaigns.models import Campaign
from campaigns.selectors import campaign_get_public
from common.social import SITE_NAME, SocialCard, og_locale, site_url
from petitions.selectors import petition_list_public
from petitions.share_image import HEIGHT, WIDTH, ShareCardText, share_image_draw

# Drawn images are kept this long per campaign, text and count step.
SHARE_IMAGE_CACHE_SECONDS = 24 * 3600
# Browsers and networks may reuse an image this long; the page's URL changes with the step.
SHARE_IMAGE_MAX_AGE = 3600
# Changes when the drawing changes, so cached images of the old design are not served.
DESIGN_VERSION = "1"
DESCRIPTION_LENGTH = 200


def count_bucket(count: int) -> int:
    """``count`` as the image shows it: exact below 1 000, else three significant digits,
    rounded down (so the image never claims more than there is)."""
    if count < 1000:
        return count
    step = 10 ** (len(str(count)) - 3)
    return count // step * step


def campaign_signature_total(*, campaign: Campaign) -> int | None:
    """The sum of the stored counts of the campaign's public petitions; None without any."""
    totals = petition_list_public(campaign=campaign).aggregate(total=Sum("signature_count"))
    total = totals["total"]
    return None if total is None else int(total)


def _count_text(*, count: int | None, language: str) -> str:
    if count is None:
        return ""
    with translation.override(language):
        return ngettext("%(count)s signature", "%(count)s signatures", count) % {
            "count": number_format(count, force_grouping=True)
        }


def _card_text(*, campaign: Campaign, count: int | None) -> ShareCardText:
    shown = None if count is None else count_bucket(count)
    return ShareCardText(
        title=campaign.title,
        organisation=campaign.organisation.name,
        count=_count_text(count=shown, language=campaign.language),
        site=urlsplit(site_url("/")).netloc or SITE_NAME,
    )


def _version(text: ShareCardText) -> str:
    """Names one drawing: the same text draws the same image."""
    parts = (DESIGN_VERSION, text.title, text.organisation, text.count, text.site)
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def campaign_share_png(*, campaign: Campaign, count: int | None) -> bytes:
    """The campaign's share image, from the cache or drawn (and then cached)."""
    text = _card_text(campaign=campaign, count=count)
    key = f"share-image:{campaign.public_id}:{_version(text)}"
    png: bytes | None = cache.get(key)
    if png is None:
        png = share_image_draw(text)
        cache.set(key, png, SHARE_IMAGE_CACHE_SECONDS)
    return png


def _description(campaign: Campaign) -> str:
    if campaign.summary:
        return campaign.summary
    text = " ".join(strip_tags(campaign.body_html).split())
    return Truncator(text).chars(DESCRIPTION_LENGTH)


def campaign_social_card(*, campaign: Campaign, count: int | None) -> SocialCard:
    """The tags of the campaign page; ``count`` is ``campaign_signature_total``'s answer."""
    text = _card_text(campaign=campaign, count=count)
    image_path = reverse("campaign-share-image", args=[campaign.slug])
    # What the image says, for people who cannot see it (in the image's language).
    image_alt = " · ".join(filter(None, (text.title, text.count, text.organisation)))
    return SocialCard(
        title=campaign.title,
        description=_description(campaign),
        url=site_url(reverse("campaign", args=[campaign.slug])),
        locale=og_locale(campaign.language),
        type="website",
        image_url=f"{site_url(image_path)}?v={_version(text)}",
        image_width=WIDTH,
        image_height=HEIGHT,
        image_alt=image_alt,
    )


@require_safe
def campaign_share_image(request: HttpRequest, slug: str) -> HttpResponse:
    """The campaign's share image; 404 for a draft, like its page."""
    campaign = campaign_get_public(slug=slug)
    png = campaign_share_png(campaign=campaign, count=campaign_signature_total(campaign=campaign))
    response = HttpResponse(png, content_type="image/png")
    patch_cache_control(response, public=True, max_age=SHARE_IMAGE_MAX_AGE)
    return response
