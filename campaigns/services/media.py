"""Campaigns' hero images: an upload checked, decoded, re-encoded and stored; or removed.

An upload is never stored as sent. Its declared size is checked before anything reads it;
Pillow then opens it as one of four formats, recognised by content (never by name), and
the pixel count its header claims is checked before a single pixel is decoded, so that a
small file claiming a huge picture (an "image bomb") costs nothing. The first frame is
decoded, turned upright by its EXIF orientation, converted to sRGB without transparency, and
written again as JPEG and WebP at a few widths (never wider than the upload). The files
hold pixels only: no EXIF (camera, GPS position, time), no XMP, no comments, no ICC profile
(browsers read untagged images as sRGB, which the pixels now are). They get random names,
so neither the campaign nor the upload's name can be read from them, and replacing or
removing an image deletes its files once the change is committed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from campaigns.access import Action, access_check
from campaigns.models import AuditEntry, Campaign
from campaigns.services.audit import audit_record

logger = logging.getLogger(__name__)

# Recognised by their content; every other format Pillow knows is refused unread.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
ACCEPTED_TYPES = "image/jpeg,image/png,image/webp,image/gif"
# Widths of the stored copies: a phone, a laptop, a high-density laptop screen.
RENDITION_WIDTHS = (480, 960, 1600)
# Narrower than a phone's screen would show blurred on every device.
MIN_WIDTH = 320
# Modes Image.reduce handles (a palette image is converted later, at its size).
_REDUCIBLE_MODES = frozenset({"L", "LA", "RGB", "RGBA"})
# The longer side may be at most this many times the shorter one: a strip or a tower would
# not work as a page's picture, and JPEG and WebP cap each side (65 535 and 16 383 pixels).
MAX_ASPECT = 4
JPEG_QUALITY = 82
WEBP_QUALITY = 80
FOLDER = "heroes"
ALT_MAX_LENGTH = 300


@dataclass(frozen=True)
class HeroSource:
    """An upload that passed every check: upright, RGB, no metadata, ready to encode."""

    image: Image.Image


def _refusal(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def _too_large() -> ValidationError:
    limit = filesizeformat(settings.HERO_MAX_BYTES)
    return _refusal(
        _("This file is too large. Upload an image of at most %(limit)s.") % {"limit": limit},
        "too_large",
    )


def _too_many_pixels() -> ValidationError:
    megapixels = settings.HERO_MAX_PIXELS // 1_000_000
    return _refusal(
        _(
            "This image has too many pixels: at most %(megapixels)s megapixels are accepted. "
            "Save a smaller copy and upload that."
        )
        % {"megapixels": megapixels},
        "too_many_pixels",
    )


def _not_an_image() -> ValidationError:
    return _refusal(
        _("This file is not an image we can use. Upload a JPEG, PNG, WebP or GIF image."),
        "not_an_image",
    )


def _broken() -> ValidationError:
    return _refusal(
        _(
            "This image could not be read: the file may be damaged or incomplete. "
            "Save it again or choose another one."
        ),
        "broken",
    )


def hero_image_read(*, upload: File[Any]) -> HeroSource:
    """Check and decode an upload; ``ValidationError`` (with a code) says why it is refused.

    The size is the one Django measured while receiving the file, checked before Pillow
    reads a byte. Nothing is stored. Codes: ``empty``, ``too_large``, ``not_an_image``,
    ``too_many_pixels``, ``broken``, ``too_small``, ``bad_shape``.
    """
    size = upload.size
    if not size:
        raise _refusal(_("This file is empty."), "empty")
    if size > settings.HERO_MAX_BYTES:
        raise _too_large()
    upload.seek(0)
    image = _decode(upload)
    width, height = image.size
    if width < MIN_WIDTH:
        raise _refusal(
            _(
                "This image is too small: it is %(width)s pixels wide. Upload one at least "
                "%(minimum)s pixels wide."
            )
            % {"width": width, "minimum": MIN_WIDTH},
            "too_small",
        )
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise _refusal(
            _(
                "This image is too narrow or too wide for a campaign page: its longer side "
                "may be at most four times its shorter side."
            ),
            "bad_shape",
        )
    return HeroSource(image=image)


def _decode(upload: File[Any]) -> Image.Image:
    try:
        opened = Image.open(upload, formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit (a warning, or an error at twice it) on what the header
        # claims; under `-W error` the warning is raised too. Ours below is lower anyway.
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _not_an_image() from None
    with opened:
        if opened.width * opened.height > settings.HERO_MAX_PIXELS:
            raise _too_many_pixels()
        try:
            return _normalise(opened)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        except Exception as exc:
            # Decoders meet hostile input with many kinds of errors (OSError for a truncated
            # file, SyntaxError, ValueError, EOFError, struct and zlib errors, MemoryError
            # for a frame larger than its header said): each means "broken file" here.
            logger.info("hero image refused, it could not be decoded: %s", type(exc).__name__)
            raise _broken() from None


def _normalise(opened: Image.Image) -> Image.Image:
    """The first frame, decoded, upright, in sRGB, flattened on white, without metadata."""
    if opened.format == "JPEG":
        # Decode at the smallest power-of-two scale still wider than the largest copy: a
        # 24-megapixel photo then needs a quarter of the memory and time.
        largest = RENDITION_WIDTHS[-1]
        opened.draft("RGB", (largest, largest))
    opened.load()
    # Every later step (turning upright, flattening, colour conversion) makes a copy: a
    # larger image is reduced first, by a whole factor that keeps both sides at least as
    # long as the largest copy's width (either may become the width once upright).
    factor = min(opened.width, opened.height) // RENDITION_WIDTHS[-1]
    if factor >= 2 and opened.mode in _REDUCIBLE_MODES:
        reduced = opened.reduce(factor)
        reduced.info = opened.info  # the EXIF orientation and ICC profile still apply
        opened = reduced
    upright = ImageOps.exif_transpose(opened)
    image = _srgb(_flatten(upright), upright.info.get("icc_profile"))
    # Every later copy starts from this one: what Pillow read from the file (EXIF, XMP,
    # comments, the ICC profile, DPI) stays behind. Savers fall back on .info for some
    # of it (a JPEG's comment), so it must be empty, not merely left out of save().
    image.info = {}
    return image


def _flatten(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if not has_alpha:
        return image
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    background.alpha_composite(rgba)
    return background.convert("RGB")


def _srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    if icc_profile:
        try:
            converted = ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(BytesIO(icc_profile)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGB",
            )
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None  # a profile we cannot use: its numbers are taken as sRGB
        if converted is not None:
            return converted
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit greyscale: Pillow's conversion to RGB clips above 255 instead of scaling.
        image = image.point(lambda value: value / 256).convert("L")
    return image.convert("RGB")


def _renditions_store(source: HeroSource) -> dict[str, Any]:
    """Write the copies; the record the campaign keeps (see ``Campaign.hero_image``)."""
    image = source.image
    largest = min(image.width, RENDITION_WIDTHS[-1])
    widths = sorted({w for w in RENDITION_WIDTHS if w < largest} | {largest})
    token = uuid.uuid4().hex
    renditions: list[dict[str, Any]] = []
    record: dict[str, Any] = {"renditions": renditions}
    try:
        for width in widths:
            height = max(1, round(image.height * width / image.width))
            copy = image if width == image.width else _resized(image, width, height)
            renditions.append(
                {
                    "width": width,
                    "height": height,
                    "jpeg": _save(copy, f"{token}-{width}.jpg", "JPEG"),
                    "webp": _save(copy, f"{token}-{width}.webp", "WEBP"),
                }
            )
    except BaseException:
        hero_files_delete(record=record)
        raise
    record["width"], record["height"] = renditions[-1]["width"], renditions[-1]["height"]
    return record


def _resized(image: Image.Image, width: int, height: int) -> Image.Image:
    resized = image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    resized.info = {}
    return resized


def _save(image: Image.Image, name: str, image_format: str) -> str:
    buffer = BytesIO()
    if image_format == "JPEG":
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    else:
        image.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)
    return default_storage.save(f"{FOLDER}/{name}", ContentFile(buffer.getvalue()))


def hero_files_delete(*, record: dict[str, Any]) -> None:
    """Delete a hero image's files (a record as ``Campaign.hero_image`` holds it)."""
    for rendition in record.get("renditions", []):
        for key in ("jpeg", "webp"):
            path = rendition.get(key)
            if not path:
                continue
            try:
                default_storage.delete(path)
            except OSError:
                # A file left behind is harmless (nothing links to it); the change stands.
                logger.warning("could not delete a replaced hero image file", exc_info=True)


def hero_alt_clean(*, alt: str) -> str:
    """The description as stored: required with an image, one line, at most 300 characters."""
    alt = " ".join(alt.split())
    if not alt:
        raise _refusal(
            _(
                "Describe the image for people who cannot see it, for example “Protesters "
                "holding portraits outside the court”."
            ),
            "alt_required",
        )
    if len(alt) > ALT_MAX_LENGTH:
        raise _refusal(
            _("The description may be at most %(limit)s characters long.")
            % {"limit": ALT_MAX_LENGTH},
            "alt_too_long",
        )
    return alt


def hero_image_set(
    *, actor: Any, campaign: Campaign, upload: File[Any] | HeroSource, alt: str
) -> Campaign:
    """Make ``upload`` the campaign's hero image, described by ``alt``; the old one goes.

    ``upload`` is a file (checked here with ``hero_image_read``) or what that function
    returned (a form that already checked it). Raises ``ValidationError`` for a refused
    upload or description, and the access errors of ``access_check``; nothing changes then.
    The previous image's files are deleted once the change is committed.
    """
    access_check(user=actor, organisation=campaign.organisation, action=Action.CAMPAIGN_EDIT)
    alt = hero_alt_clean(alt=alt)
    source = upload if isinstance(upload, HeroSource) else hero_image_read(upload=upload)
    record = _renditions_store(source)
    try:
        _record_save(actor=actor, campaign=campaign, record=record, alt=alt, change="set")
    except BaseException:
        hero_files_delete(record=record)
        raise
    return campaign


def hero_alt_set(*, actor: Any, campaign: Campaign, alt: str) -> Campaign:
    """Change the description of the campaign's current hero image."""
    access_check(user=actor, organisation=campaign.organisation, action=Action.CAMPAIGN_EDIT)
    alt = hero_alt_clean(alt=alt)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if not locked.hero_image:
            raise _refusal(_("This campaign has no image to describe."), "no_image")
        if locked.hero_alt == alt:
            campaign.hero_alt = alt
            return campaign
        locked.hero_alt = alt
        locked.save(update_fields=["hero_alt", "updated_at"])
        _audit(actor=actor, campaign=locked, change="description")
    campaign.hero_alt, campaign.updated_at = alt, locked.updated_at
    return campaign


def hero_image_clear(*, actor: Any, campaign: Campaign) -> Campaign:
    """Remove the campaign's hero image (and, once committed, its files). Safe to repeat."""
    access_check(user=actor, organisation=campaign.organisation, action=Action.CAMPAIGN_EDIT)
    return _record_save(actor=actor, campaign=campaign, record={}, alt="", change="removed")


def _record_save(
    *, actor: Any, campaign: Campaign, record: dict[str, Any], alt: str, change: str
) -> Campaign:
    with transaction.atomic():
        # Locked, so that of two replacements at once each deletes exactly the files it
        # replaced, and none deletes the other's.
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        old = locked.hero_image
        if not old and not record:
            return campaign
        locked.hero_image, locked.hero_alt = record, alt
        locked.save(update_fields=["hero_image", "hero_alt", "updated_at"])
        _audit(actor=actor, campaign=locked, change=change)
        if old:
            transaction.on_commit(lambda: hero_files_delete(record=old))
    campaign.hero_image, campaign.hero_alt = record, alt
    campaign.updated_at = locked.updated_at
    return campaign


def _audit(*, actor: Any, campaign: Campaign, change: str) -> None:
    audit_record(
        organisation=campaign.organisation,
        actor=actor,
        action=AuditEntry.Action.CAMPAIGN_HERO,
        target=campaign.title,
        details={"campaign": str(campaign.public_id), "change": change},
    )
