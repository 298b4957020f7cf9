"""Drawing the share image: a 1200 x 630 PNG with a campaign's title and count.

Everything is drawn here with Pillow and fonts installed on the server (Debian's
fonts-dejavu-core, which covers Latin and Cyrillic; ``SHARE_FONT``, ``SHARE_FONT_BOLD``):
no web font, no third-party service. Should a font be missing, Pillow's own font is used
(Latin only) and a warning is logged once per process.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from io import BytesIO

from django.conf import settings
from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 1200, 630
MARGIN = 80
PAPER = (251, 250, 246)
INK = (29, 29, 27)
MUTED = (91, 90, 85)
ACCENT = (138, 28, 28)
# The title shrinks through these sizes until it fits between TITLE_TOP and TITLE_BOTTOM.
TITLE_SIZES = (68, 60, 52, 46)
TITLE_TOP, TITLE_BOTTOM = 128, HEIGHT - 190
ELLIPSIS = "…"

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class ShareCardText:
    """What the image says, already translated."""

    title: str
    organisation: str
    count: str  # "12 300 signatures", or "" to leave the line out
    site: str


@functools.cache
def _font(path: str, size: int) -> Font:
    try:
        return ImageFont.truetype(path, size)
    except OSError:
        _warn_missing(path)
        return ImageFont.load_default(size)


@functools.cache
def _warn_missing(path: str) -> None:
    # Cached: once per font and process, not once per image drawn.
    logger.warning(
        "share image font %s cannot be read; drawing with Pillow's built-in font, which has "
        "no Cyrillic (install fonts-dejavu-core or set SBOR_SHARE_FONT)",
        path,
    )


def _regular(size: int) -> Font:
    return _font(settings.SHARE_FONT, size)


def _bold(size: int) -> Font:
    return _font(settings.SHARE_FONT_BOLD, size)


def _width(font: Font, text: str) -> float:
    return font.getlength(text)


def _split_long_word(word: str, font: Font, width: float) -> list[str]:
    pieces, current = [], ""
    for char in word:
        if current and _width(font, current + char) > width:
            pieces.append(current)
            current = char
        else:
            current += char
    return [*pieces, current] if current else pieces


def text_wrap(text: str, font: Font, width: float) -> list[str]:
    """``text`` in lines no wider than ``width``; a word longer than a line is cut."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if _width(font, candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        pieces = _split_long_word(word, font, width)
        lines.extend(pieces[:-1])
        current = pieces[-1] if pieces else ""
    if current:
        lines.append(current)
    return lines


def _shorten(line: str, font: Font, width: float) -> str:
    """The line with an ellipsis at its end, cut until both fit."""
    while line and _width(font, line + ELLIPSIS) > width:
        line = line[:-1]
    return line.rstrip() + ELLIPSIS


def _line_height(font: Font) -> int:
    top, bottom = font.getbbox("ÉЙgjy")[1::2]
    return int((bottom - top) * 1.2)


def _title_layout(title: str, width: float, height: int) -> tuple[Font, list[str]]:
    """The largest of TITLE_SIZES at which the title fits the box; else cut, with "…"."""
    for size in TITLE_SIZES:
        font = _bold(size)
        lines = text_wrap(title, font, width)
        if len(lines) * _line_height(font) <= height:
            return font, lines
    fitting = max(1, height // _line_height(font))
    return font, [*lines[: fitting - 1], _shorten(lines[fitting - 1], font, width)]


def share_image_draw(text: ShareCardText) -> bytes:
    """The PNG's bytes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 16, HEIGHT), fill=ACCENT)
    inner = WIDTH - 2 * MARGIN

    small = _regular(30)
    organisation = text_wrap(text.organisation, small, inner)[:1]
    if organisation:
        line = organisation[0]
        if len(text_wrap(text.organisation, small, inner)) > 1:
            line = _shorten(line, small, inner)
        draw.text((MARGIN, 64), line, font=small, fill=MUTED)

    font, lines = _title_layout(text.title, inner, TITLE_BOTTOM - TITLE_TOP)
    y = TITLE_TOP
    step = _line_height(font)
    for line in lines:
        draw.text((MARGIN, y), line, font=font, fill=INK)
        y += step

    if text.count:
        count_font = _bold(48)
        count = text.count
        if _width(count_font, count) > inner:
            count = _shorten(count, count_font, inner)
        draw.text((MARGIN, HEIGHT - 170), count, font=count_font, fill=ACCENT)
    draw.line((MARGIN, HEIGHT - 90, WIDTH - MARGIN, HEIGHT - 90), fill=(216, 212, 200), width=2)
    draw.text((MARGIN, HEIGHT - 72), text.site, font=small, fill=MUTED)

    buffer = BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
