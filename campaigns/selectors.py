"""Reads for organisations and campaigns."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.http import Http404

from campaigns.models import Campaign


def campaign_list_public() -> QuerySet[Campaign]:
    return (
        Campaign.objects.exclude(status=Campaign.Status.DRAFT)
        .select_related("organisation")
        .order_by("-created_at")
    )


def campaign_get_public(*, slug: str) -> Campaign:
    """The published (or closed/won) campaign with this slug; ``Http404`` otherwise."""
    try:
        return campaign_list_public().get(slug=slug)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign") from None


@dataclass(frozen=True)
class HeroImage:
    """A campaign's hero image as a page shows it: ``<img>`` attributes, ready to print."""

    src: str  # a middle-sized JPEG, for browsers that read no srcset
    srcset_jpeg: str
    srcset_webp: str
    width: int  # of the largest copy; with height, the box the browser keeps for it
    height: int
    alt: str
    largest_url: str  # the largest JPEG


# The campaign column: 44rem (.wrap in sbor.css) less 1rem of padding on each side.
HERO_SIZES = "(min-width: 44rem) 42rem, calc(100vw - 2rem)"


def campaign_hero(*, campaign: Campaign) -> HeroImage | None:
    """The campaign's hero image with its URLs, or None without one."""
    renditions = (campaign.hero_image or {}).get("renditions") or []
    if not renditions:
        return None

    def srcset(key: str) -> str:
        return ", ".join(f"{default_storage.url(r[key])} {r['width']}w" for r in renditions)

    # Copies are stored narrowest first; old browsers get one that fits a laptop's column.
    fallback = next((r for r in reversed(renditions) if r["width"] <= 960), renditions[0])
    return HeroImage(
        src=default_storage.url(fallback["jpeg"]),
        srcset_jpeg=srcset("jpeg"),
        srcset_webp=srcset("webp"),
        width=int(campaign.hero_image["width"]),
        height=int(campaign.hero_image["height"]),
        alt=campaign.hero_alt,
        largest_url=default_storage.url(renditions[-1]["jpeg"]),
    )
