"""Slates: the black card that stands in for a shot without a usable take, so a
work-in-progress cut is always watchable at its true length.

    SEGMENT 12 · SHOT 3
    NOT YET APPROVED
"""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from apps.rendering.plan import SlateInfo

_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/Library/Fonts/Arial.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "C:/Windows/Fonts/arial.ttf",
)


@functools.cache
def _font_path() -> str | None:
    for candidate in _FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return None


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = _font_path()
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, max_width: int):
    """The largest font not above ``size`` in which ``text`` fits ``max_width``."""
    while True:
        font = _font(size)
        left, _, right, _ = draw.textbbox((0, 0), text, font=font)
        if right - left <= max_width or size <= 8:
            return font
        size = max(8, int(size * 0.9))


def slate_image(info: SlateInfo, width: int, height: int, path: Path) -> Path:
    """Write the slate card as a PNG: black, line 1 large and white, line 2 smaller, grey."""
    img = Image.new("RGB", (width, height), (0, 0, 0))
    draw = ImageDraw.Draw(img)
    margin = max(4, width // 16)
    lines = [
        (info.line1 or "", max(10, height // 9), (235, 235, 235)),
        (info.line2 or "", max(8, height // 14), (170, 170, 170)),
    ]
    fonts = [(_fit(draw, text, size, width - 2 * margin), text, colour) for text, size, colour in lines if text]
    boxes = [draw.textbbox((0, 0), text, font=font) for font, text, _ in fonts]
    gap = height // 20
    total = sum(b[3] - b[1] for b in boxes) + gap * max(0, len(boxes) - 1)
    y = (height - total) / 2
    for (font, text, colour), box in zip(fonts, boxes, strict=True):
        w, h = box[2] - box[0], box[3] - box[1]
        draw.text(((width - w) / 2 - box[0], y - box[1]), text, font=font, fill=colour)
        y += h + gap
    img.save(path, format="PNG")
    return path
