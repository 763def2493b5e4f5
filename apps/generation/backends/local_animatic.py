"""Local animatic: placeholder clips and stills made on this machine, no AI and no account.

Three models, each for text to video, image to video and text to image:

- ``title-card``: an intertitle — the prompt word-wrapped on a background whose colours come
  from the seed (over the input image, blurred and darkened, when there is one), with a thin
  rule, vignette, film grain and a fade of the text in and out.
- ``ken-burns``: a slow pan and zoom over the input image, or over a picture drawn from the
  seed (sky gradient, sun, hills, shapes) with the prompt as a caption along the bottom. It
  also extends a take (``video_extend`` with a parent take): the move starts on the whole of
  the parent's last frame, so the new clip continues where the parent ends.
- ``infinite-zoom``: a never-ending zoom into the picture, which holds a framed copy of itself
  (a Droste picture); the zoom loops seamlessly every ``1 / speed`` seconds.

Clips are exactly ``duration_frames`` frames at ``fps`` (an exact fraction), H.264 yuv420p
MP4. The same seed makes the same frames; each variation uses ``seed + i``.
"""

from __future__ import annotations

import colorsys
import math
import random
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..registry import register
from . import _local
from .base import (
    VIDEO_KINDS,
    Backend,
    BackendContext,
    BackendValidationError,
    GenerationRequest,
    ModelSpec,
    Output,
    PollResult,
    ProviderError,
    SubmitResult,
)

KINDS = ("text_to_video", "image_to_video", "text_to_image")
# Ken Burns also extends a take: the move starts on the parent take's last frame.
KEN_BURNS_KINDS = (*KINDS, "video_extend")
ZOOM_RATIO = 2.0  # infinite-zoom: each framed copy is half the size of the one around it
KEN_BURNS_MAX_ZOOM = 1.35
MAX_SOURCE_PIXELS = 24_000_000  # the largest picture drawn to pan/zoom over


def _spec(name: str, title: str, kinds: tuple[str, ...] = KINDS) -> ModelSpec:
    return ModelSpec(name=name, kinds=kinds, title=title, min_seconds=0.5, max_seconds=60.0, max_variations=8)


# ============================================================================================
# Pictures
# ============================================================================================


def _rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, max(0.0, min(1.0, s)), max(0.0, min(1.0, v)))
    return round(r * 255), round(g * 255), round(b * 255)


def _mix(a: tuple[int, ...], b: tuple[int, ...], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=False))[:3]  # type: ignore[return-value]


def _rng(seed: int, salt: int = 0):
    import numpy as np

    return np.random.default_rng([seed % 2**63, salt])


def _ridge(rnd: random.Random, points: int, roughness: float) -> list[float]:
    """A 1-D midpoint-displacement line (values around 0), ``points`` = 2**n + 1."""
    line = [0.0] * points
    line[0], line[-1] = rnd.uniform(-1, 1), rnd.uniform(-1, 1)
    step, scale = points - 1, 1.0
    while step > 1:
        half = step // 2
        for i in range(half, points - 1, step):
            line[i] = (line[i - half] + line[i + half]) / 2 + rnd.uniform(-scale, scale)
        step, scale = half, scale * roughness
    return line


def generated_picture(seed: int, width: int, height: int):
    """A picture drawn from ``seed`` (the same for the same seed, at any size): a sky
    gradient, a sun or moon with a glow, layers of hills fading into the haze, and a few
    soft shapes. Everything is placed in fractions of the size."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    rnd = random.Random(f"picture:{seed}")
    # Draw at twice the size when that is cheap, for smooth edges.
    ss = 2 if width * height <= 2_500_000 else 1
    w, h = width * ss, height * ss

    hue = rnd.random()
    night = rnd.random() < 0.3
    top = _rgb(hue + rnd.uniform(-0.05, 0.05), rnd.uniform(0.45, 0.85), rnd.uniform(0.08, 0.2) if night else rnd.uniform(0.3, 0.6))
    horizon = _rgb(hue + rnd.uniform(0.06, 0.22), rnd.uniform(0.25, 0.6), rnd.uniform(0.3, 0.5) if night else rnd.uniform(0.8, 1.0))
    horizon_y = rnd.uniform(0.45, 0.7)

    t = (np.linspace(0.0, 1.0, h, dtype=np.float32) / horizon_y).clip(0, 1) ** 1.4
    sky = np.asarray(top, np.float32) + (np.asarray(horizon, np.float32) - np.asarray(top, np.float32)) * t[:, None]
    img = Image.fromarray(np.broadcast_to(sky[:, None, :], (h, w, 3)).round().astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img, "RGBA")
    unit = min(w, h)

    if night:  # a few stars
        for _ in range(rnd.randint(20, 60)):
            x, y, r = rnd.uniform(0, w), rnd.uniform(0, h * horizon_y * 0.9), unit * rnd.uniform(0.001, 0.004)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 240, rnd.randint(120, 255)))

    # Sun or moon with a glow.
    cx, cy = rnd.uniform(0.15, 0.85) * w, rnd.uniform(0.12, horizon_y * 0.8) * h
    radius = unit * rnd.uniform(0.05, 0.11)
    sun = _rgb(hue + 0.5, 0.08, 1.0) if night else _rgb(rnd.uniform(0.08, 0.15), rnd.uniform(0.2, 0.55), 1.0)
    for i in range(8, 0, -1):
        r = radius * (1 + i * 0.35)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*sun, 10))
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(*sun, 255))

    # Soft clouds or floating shapes.
    for _ in range(rnd.randint(2, 6)):
        x, y = rnd.uniform(-0.1, 1.1) * w, rnd.uniform(0.05, horizon_y * 0.85) * h
        rw, rh = unit * rnd.uniform(0.08, 0.25), unit * rnd.uniform(0.02, 0.06)
        colour = _mix(horizon, (255, 255, 255), 0.6)
        for j in range(3):
            dx = (j - 1) * rw * 0.6
            draw.ellipse((x + dx - rw * 0.6, y - rh * (1.2 if j == 1 else 0.8), x + dx + rw * 0.6, y + rh), fill=(*colour, 70))

    # Layers of hills, from far (pale, mixed with the haze) to near (dark).
    layers = rnd.randint(3, 5)
    ground = _rgb(hue + rnd.uniform(0.25, 0.45), rnd.uniform(0.35, 0.7), rnd.uniform(0.12, 0.3))
    for layer in range(layers):
        depth = layer / max(1, layers - 1)  # 0 far … 1 near
        base = horizon_y + depth * (1 - horizon_y) * 0.55
        amp = rnd.uniform(0.04, 0.12) * (0.6 + depth)
        line = _ridge(rnd, 65, rnd.uniform(0.45, 0.6))
        colour = _mix(horizon, ground, 0.35 + 0.65 * depth)
        pts = [(i / 64 * w, (base - amp * (0.5 + 0.5 * v)) * h) for i, v in enumerate(line)]
        draw.polygon([(0, h), *pts, (w, h)], fill=(*colour, 255))

    # A couple of geometric accents (a tower, a kite, a monolith…).
    for _ in range(rnd.randint(1, 3)):
        x, y = rnd.uniform(0.1, 0.9) * w, rnd.uniform(horizon_y * 0.5, horizon_y) * h
        s = unit * rnd.uniform(0.02, 0.06)
        colour = _mix(ground, (0, 0, 0), 0.4)
        if rnd.random() < 0.5:
            draw.polygon([(x, y - s * 2), (x - s, y + s), (x + s, y + s)], fill=(*colour, 230))
        else:
            draw.rectangle((x - s * 0.3, y - s * 2.5, x + s * 0.3, y + s), fill=(*colour, 230))

    if ss > 1:
        img = img.resize((width, height), Image.Resampling.LANCZOS)
    return img.filter(ImageFilter.GaussianBlur(radius=max(0.3, min(width, height) / 1200)))


def open_picture(path: Path):
    """The input image as RGB, turned upright (EXIF), transparency over black."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                im = im.convert("RGBA")
                back = Image.new("RGBA", im.size, (0, 0, 0, 255))
                return Image.alpha_composite(back, im).convert("RGB")
            return im.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ProviderError("The input image could not be read as a picture.") from exc


def last_frame(video: Path, dest: Path) -> Path:
    """The last frame of ``video`` as a PNG at ``dest`` (to continue a take from)."""
    try:
        _local.run_ffmpeg(["-sseof", "-0.5", "-i", str(video), "-frames:v", "1", "-update", "1", str(dest)], timeout=120, what="Reading the last frame")
    except ProviderError:
        _local.run_ffmpeg(["-i", str(video), "-frames:v", "1", str(dest)], timeout=120, what="Reading the last frame")
    if not dest.exists() or dest.stat().st_size == 0:
        raise ProviderError("The last frame of the parent take could not be read.")
    return dest


def cover(img, width: int, height: int):
    """Scale and centre-crop ``img`` to exactly ``width×height``."""
    from PIL import Image, ImageOps

    return ImageOps.fit(img, (width, height), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


# ============================================================================================
# Text
# ============================================================================================


def _text_width(font, text: str) -> float:
    try:
        return float(font.getlength(text))
    except AttributeError:  # pragma: no cover - very old bitmap fonts
        box = font.getbbox(text)
        return float(box[2] - box[0])


def wrap_text(text: str, font, max_width: float) -> list[str]:
    """Word-wrap ``text`` (keeping its own line breaks); words longer than a line are split."""
    lines: list[str] = []
    for paragraph in text.replace("\r\n", "\n").split("\n"):
        current = ""
        for word in paragraph.split():
            trial = f"{current} {word}" if current else word
            if _text_width(font, trial) <= max_width:
                current = trial
                continue
            if current:
                lines.append(current)
            while len(word) > 1 and _text_width(font, word) > max_width:
                n = len(word) - 1
                while n > 1 and _text_width(font, word[:n]) > max_width:
                    n -= 1
                lines.append(word[:n])
                word = word[n:]
            current = word
        if current:
            lines.append(current)
    return lines


def _line_height(font, size: int) -> int:
    top, bottom = font.getbbox("Ágjy")[1::2]
    return max(1, round(max(size, bottom - top) * 1.22))


def fit_text(text: str, *, max_width: float, max_height: float, start: int, smallest: int, style: str, max_lines: int = 0):
    """The largest font (from ``start`` down to ``smallest`` px) at which ``text`` wraps into
    the box; at the smallest size, lines that do not fit are dropped and the last one ends with
    an ellipsis. Returns (font, lines, line_height)."""
    size = max(smallest, start)
    while True:
        font = _local.load_font(size, style)
        lines = wrap_text(text, font, max_width)
        line_h = _line_height(font, size)
        fits = len(lines) * line_h <= max_height and (not max_lines or len(lines) <= max_lines)
        if fits or size <= smallest:
            break
        size = max(smallest, int(size * 0.88))
    keep = max(1, int(max_height // line_h))
    if max_lines:
        keep = min(keep, max_lines)
    if len(lines) > keep:
        lines = lines[:keep]
        last = lines[-1]
        while last and _text_width(font, last + "…") > max_width:
            last = last[:-1].rstrip()
        lines[-1] = last + "…"
    return font, lines, line_h


def draw_lines(draw, lines: list[str], font, line_h: int, *, center_x: float, top: float, fill, shadow=None) -> None:
    for i, line in enumerate(lines):
        x = center_x - _text_width(font, line) / 2
        y = top + i * line_h
        if shadow is not None:
            off = max(1, line_h // 18)
            draw.text((x + off, y + off), line, font=font, fill=shadow)
        draw.text((x, y), line, font=font, fill=fill)


def caption_layer(text: str, width: int, height: int):
    """The prompt as a caption along the bottom: (top row, RGB float array, alpha float array)
    for the band it covers, or None when there is no text."""
    import numpy as np
    from PIL import Image, ImageDraw

    text = " ".join(text.split())
    if not text:
        return None
    size = max(9, round(height * 0.05))
    font, lines, line_h = fit_text(
        text, max_width=width * 0.9, max_height=height * 0.2, start=size, smallest=max(8, round(height * 0.035)),
        style="sans", max_lines=2,
    )  # fmt: skip
    pad = max(2, line_h // 2)
    band_h = min(height, len(lines) * line_h + 2 * pad + line_h)
    layer = Image.new("RGBA", (width, band_h), (0, 0, 0, 0))
    # A dark gradient behind the text so it reads over any picture.
    ramp = np.linspace(0.0, 0.62, band_h, dtype=np.float32) ** 0.7
    shade = np.zeros((band_h, width, 4), np.uint8)
    shade[..., 3] = (ramp[:, None] * 255).round().astype(np.uint8)
    layer = Image.alpha_composite(layer, Image.fromarray(shade, "RGBA"))
    draw = ImageDraw.Draw(layer)
    top = band_h - pad - len(lines) * line_h
    draw_lines(draw, lines, font, line_h, center_x=width / 2, top=top, fill=(255, 255, 255, 255), shadow=(0, 0, 0, 200))
    arr = np.asarray(layer, dtype=np.float32)
    alpha = arr[..., 3:4] / 255.0
    return height - band_h, arr[..., :3] * alpha, alpha


def apply_caption(frame, caption):
    """``frame`` (H×W×3 uint8, or a PIL image) with ``caption`` blended in; a new array."""
    import numpy as np

    out = np.array(frame, dtype=np.uint8)
    if caption is None:
        return out
    top, premultiplied, alpha = caption
    region = out[top:].astype(np.float32)
    out[top:] = (region * (1.0 - alpha) + premultiplied).round().clip(0, 255).astype(np.uint8)
    return out


# ============================================================================================
# Models
# ============================================================================================


def _fade_frames(frames: int, fps: Fraction) -> int:
    return max(0, min(round(float(fps) * 0.5), frames // 4))


def _smooth(t: float) -> float:
    t = max(0.0, min(1.0, t))
    return t * t * (3 - 2 * t)


class TitleCard:
    """Static layers of a title card; ``frame(i)`` adds the fade, grain and flicker."""

    GRAIN_TILES = 6

    def __init__(self, *, text: str, width: int, height: int, seed: int, picture=None, frames: int = 1, fps: Fraction = Fraction(24)) -> None:
        import numpy as np
        from PIL import Image, ImageDraw, ImageFilter

        self.frames, self.fade = frames, _fade_frames(frames, fps)
        rnd = random.Random(f"title:{seed}")
        hue = rnd.random()
        centre = _rgb(hue, rnd.uniform(0.35, 0.75), rnd.uniform(0.22, 0.38))
        edge = _rgb(hue + rnd.uniform(-0.08, 0.08), rnd.uniform(0.5, 0.9), rnd.uniform(0.03, 0.1))
        ink = _rgb(hue + rnd.uniform(0.05, 0.12), rnd.uniform(0.04, 0.16), rnd.uniform(0.9, 0.98))
        accent = _rgb(hue + 0.5 + rnd.uniform(-0.1, 0.1), rnd.uniform(0.3, 0.6), rnd.uniform(0.7, 0.9))

        ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
        xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
        ox, oy = rnd.uniform(-0.25, 0.25), rnd.uniform(-0.25, 0.25)
        r2 = ((xs - ox) ** 2 + (ys - oy) ** 2) / 2.0
        if picture is None:
            t = np.clip(r2 * 1.6, 0, 1)[..., None]
            bg = np.asarray(centre, np.float32) + (np.asarray(edge, np.float32) - np.asarray(centre, np.float32)) * t
        else:
            blurred = cover(picture, width, height).filter(ImageFilter.GaussianBlur(radius=max(1.0, max(width, height) / 120)))
            tint = np.asarray(edge, np.float32)
            bg = np.asarray(blurred, np.float32) * 0.42 + tint * 0.25
        vignette = 1.0 - rnd.uniform(0.35, 0.55) * np.clip(xs**2 + ys**2, 0, 2) / 2.0
        bg = bg * vignette[..., None]

        # A thin double rule around the card (an intertitle's frame), part of the background.
        rule = Image.fromarray(bg.round().clip(0, 255).astype(np.uint8), "RGB")
        draw = ImageDraw.Draw(rule, "RGBA")
        unit = min(width, height)
        inset, thick = unit * 0.06, max(1, round(unit / 240))
        for k, alpha in ((0, 150), (thick * 3, 90)):
            draw.rectangle(
                (inset + k, inset + k, width - 1 - inset - k, height - 1 - inset - k), outline=(*accent, alpha), width=thick
            )
        self.bg = np.asarray(rule, dtype=np.int16)

        # The text, centred in the frame's inner box.
        box_w, box_h = width - 2 * inset - 6 * thick, height - 2 * inset - 6 * thick
        layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        if text.strip():
            font, lines, line_h = fit_text(
                text.strip(), max_width=box_w * 0.9, max_height=box_h * 0.86, start=max(8, round(height * 0.1)),
                smallest=max(7, round(height * 0.03)), style="serif",
            )  # fmt: skip
            top = (height - len(lines) * line_h) / 2
            draw_lines(ImageDraw.Draw(layer), lines, font, line_h, center_x=width / 2, top=top, fill=(*ink, 255), shadow=(0, 0, 0, 150))
        text_arr = np.asarray(layer, dtype=np.float32)
        alpha = text_arr[..., 3:4] / 255.0
        self.full = (self.bg * (1 - alpha) + text_arr[..., :3] * alpha).round().astype(np.int16)
        rows = np.nonzero(alpha[..., 0].max(axis=1) > 0)[0]
        self.rows = (int(rows[0]), int(rows[-1]) + 1) if len(rows) else (0, 0)

        rng = _rng(seed, 1)
        tiles = min(self.GRAIN_TILES, max(1, frames))
        # Grain in 2×2 clumps (finer grain costs the encoder far more bits for no more look).
        sigma = rnd.uniform(1.3, 2.0)
        gh, gw = -(-height // 2), -(-width // 2)
        self.grain = [
            rng.normal(0.0, sigma, (gh, gw, 1)).round().astype(np.int16).repeat(2, axis=0).repeat(2, axis=1)[:height, :width]
            for _ in range(tiles)
        ]
        self.flicker = rng.normal(0.0, 1.2, frames).round().astype(np.int16)

    def frame(self, i: int):
        import numpy as np

        a = 1.0
        if self.fade:
            a = min(_smooth((i + 1) / (self.fade + 1)), _smooth((self.frames - i) / (self.fade + 1)))
        if a >= 1.0:
            base = self.full
        else:
            base = self.bg.copy()
            y0, y1 = self.rows
            if a > 0 and y1 > y0:
                base[y0:y1] = (self.bg[y0:y1] + a * (self.full[y0:y1] - self.bg[y0:y1])).round().astype(np.int16)
        out = base + self.grain[i % len(self.grain)] + self.flicker[i % len(self.flicker)]
        return out.clip(0, 255).astype(np.uint8)

    def still(self):
        import numpy as np

        return (self.full + self.grain[0]).clip(0, 255).astype(np.uint8)


def _clamp_box(box: tuple[float, float, float, float], width: int, height: int) -> tuple[float, float, float, float]:
    """``box`` inside ``width×height`` (rounding can push an edge a hair outside)."""
    x0, y0, x1, y1 = box
    return max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1)


def _source_size(width: int, height: int, factor: float) -> tuple[int, int]:
    factor = max(1.0, min(factor, math.sqrt(MAX_SOURCE_PIXELS / (width * height))))
    return max(width, round(width * factor)), max(height, round(height * factor))


class KenBurns:
    """A pan and zoom over a picture: a window moving from one place and size to another."""

    def __init__(self, *, picture, width: int, height: int, seed: int, frames: int, caption=None, from_whole: bool = False) -> None:
        rnd = random.Random(f"kenburns:{seed}")
        self.width, self.height, self.frames, self.caption = width, height, frames, caption
        sw, sh = _source_size(width, height, KEN_BURNS_MAX_ZOOM)
        self.source = cover(picture, sw, sh) if picture.size != (sw, sh) else picture
        self.sw, self.sh = sw, sh
        deep = rnd.uniform(1.18, sw / width * 0.98) if sw > width else 1.0
        self.z0, self.z1 = (1.0, deep) if rnd.random() < 0.6 or from_whole else (deep, 1.0)
        self.c0 = self._centre(rnd, self.z0)
        self.c1 = self._centre(rnd, self.z1)
        if from_whole:
            # Extending a take: the first frame is the whole picture (the parent's last frame).
            self.c0 = (sw / 2, sh / 2)

    def _centre(self, rnd: random.Random, z: float) -> tuple[float, float]:
        ww, wh = self.sw / z, self.sh / z
        return rnd.uniform(ww / 2, self.sw - ww / 2), rnd.uniform(wh / 2, self.sh - wh / 2)

    def window(self, p: float) -> tuple[float, float, float, float]:
        z = self.z0 * (self.z1 / self.z0) ** p  # geometric: the zoom looks steady
        ww, wh = self.sw / z, self.sh / z
        cx = self.c0[0] + (self.c1[0] - self.c0[0]) * p
        cy = self.c0[1] + (self.c1[1] - self.c0[1]) * p
        cx = min(max(cx, ww / 2), self.sw - ww / 2)
        cy = min(max(cy, wh / 2), self.sh - wh / 2)
        return _clamp_box((cx - ww / 2, cy - wh / 2, cx + ww / 2, cy + wh / 2), self.sw, self.sh)

    def frame(self, i: int):
        from PIL import Image

        t = i / (self.frames - 1) if self.frames > 1 else 0.0
        p = 0.5 * t + 0.5 * _smooth(t)  # a gentle start and stop, steady in between
        view = self.source.resize((self.width, self.height), Image.Resampling.BICUBIC, box=self.window(p))
        return apply_caption(view, self.caption)

    def still(self):
        from PIL import Image

        view = self.source.resize((self.width, self.height), Image.Resampling.LANCZOS)
        return apply_caption(view, self.caption)


class InfiniteZoom:
    """A Droste picture (the picture holds a framed copy of itself, ``ZOOM_RATIO`` times
    smaller, around a fixed point chosen by the seed) zoomed into without end."""

    def __init__(self, *, picture, width: int, height: int, seed: int, fps: Fraction, speed: float, zoom_out: bool, caption=None) -> None:
        from PIL import Image, ImageDraw

        rnd = random.Random(f"zoom:{seed}")
        self.width, self.height, self.fps, self.speed, self.zoom_out, self.caption = width, height, fps, speed, zoom_out, caption
        dw, dh = _source_size(width, height, ZOOM_RATIO)
        base = cover(picture, dw, dh) if picture.size != (dw, dh) else picture.copy()
        # A frame line around the picture makes each copy read as a picture in the picture.
        draw = ImageDraw.Draw(base, "RGBA")
        line = max(2, round(min(dw, dh) * 0.008))
        draw.rectangle((0, 0, dw - 1, dh - 1), outline=(245, 240, 228, 255), width=line)
        draw.rectangle((line, line, dw - 1 - line, dh - 1 - line), outline=(0, 0, 0, 110), width=max(1, line // 2))
        self.fx, self.fy = rnd.uniform(0.3, 0.7) * dw, rnd.uniform(0.3, 0.7) * dh
        droste = base.copy()
        level = 1
        while True:
            s = ZOOM_RATIO**-level
            w, h = round(dw * s), round(dh * s)
            if min(w, h) < 2:
                break
            x, y = self.fx - self.fx * s, self.fy - self.fy * s
            droste.paste(base.resize((w, h), Image.Resampling.LANCZOS), (round(x), round(y)))
            level += 1
        self.droste, self.dw, self.dh = droste, dw, dh

    def view(self, z: float):
        from PIL import Image

        box = (self.fx - self.fx / z, self.fy - self.fy / z, self.fx + (self.dw - self.fx) / z, self.fy + (self.dh - self.fy) / z)
        box = _clamp_box(box, self.dw, self.dh)
        return self.droste.resize((self.width, self.height), Image.Resampling.BICUBIC, box=box)

    def frame(self, i: int):
        phase = (float(Fraction(i) / self.fps) * self.speed) % 1.0
        if self.zoom_out:
            phase = (1.0 - phase) % 1.0
        return apply_caption(self.view(ZOOM_RATIO**phase), self.caption)

    def still(self):
        return apply_caption(self.view(1.0), self.caption)


# ============================================================================================
# The backend
# ============================================================================================


@register
class LocalAnimaticBackend(Backend):
    name = "local-animatic"
    title = "Local animatic"
    needs_credentials = False
    is_local = True
    seeds_per_output = True  # variation i uses seed + i (_local.variation_seeds)
    default_concurrency = 2
    models = (
        _spec("title-card", "Title card"),
        _spec("ken-burns", "Ken Burns pan and zoom", KEN_BURNS_KINDS),
        _spec("infinite-zoom", "Infinite zoom"),
    )

    def available(self) -> tuple[bool, str]:
        return _local.ffmpeg_available()

    # -- checks -------------------------------------------------------------------------
    def validate(self, req: GenerationRequest) -> None:
        super().validate(req)
        spec = self.model_spec(req.model)
        if req.kind in VIDEO_KINDS:
            _local.check_output_size(req.width, req.height)
            _local.parse_rate(req.fps)
            if (req.duration_frames or 0) < 1:
                raise BackendValidationError("The clip needs at least one frame.", field="duration_frames")
        else:
            reason = _local.size_error(req.width, req.height)
            if reason:
                raise BackendValidationError(reason, field="size")
        if req.input_image is not None:
            if _local.check_input_file(req.input_image, field="input_image", what="input image"):
                self._check_image(Path(req.input_image.path))
        if req.kind == "video_extend" and _local.check_input_file(req.input_video, field="parent_take", what="input video"):
            _local.probe_video(Path(req.input_video.path))
        if spec.name == "infinite-zoom":
            _local.param_number(req.params, "speed", 0.5, low=0.05, high=4.0)
            direction = str(req.params.get("direction", "in") or "in").lower()
            if direction not in ("in", "out"):
                raise BackendValidationError("direction is 'in' or 'out'.", field="direction")

    @staticmethod
    def _check_image(path: Path) -> None:
        from PIL import Image

        try:
            with Image.open(path) as im:
                im.verify()
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            raise BackendValidationError("The input image could not be read as a picture.", field="input_image") from None

    def estimate_cost(self, req: GenerationRequest) -> Decimal:
        return Decimal(0)

    # -- work ---------------------------------------------------------------------------
    def submit(self, req: GenerationRequest, ctx: BackendContext) -> SubmitResult:
        spec = self.model_spec(req.model)
        folder = _local.workdir(ctx)
        count = _local.variation_count(req, spec.max_variations)
        job_id = _local.new_job_id()
        if req.kind == "video_extend":
            picture = open_picture(last_frame(Path(req.input_video.path), folder / f"{job_id}-parent-last.png"))
        else:
            picture = open_picture(Path(req.input_image.path)) if req.input_image is not None else None
        outputs = []
        for i, seed in enumerate(_local.variation_seeds(req, count)):
            stem = f"{spec.name}-{seed}"
            meta: dict[str, Any] = {"ai": False, "model": spec.name, "seed": seed}
            if req.kind == "text_to_image":
                path = folder / f"{job_id}-{i}.png"
                self._render_still(spec.name, req, seed, picture).save(path, format="PNG")
                meta.update(width=req.width, height=req.height)
                outputs.append(Output(path=path, content_type="image/png", filename=f"{stem}.png", meta=meta))
            else:
                path = folder / f"{job_id}-{i}.mp4"

                def progress(fraction: float, i: int = i) -> None:
                    ctx.report_progress((i + fraction) / count)

                self._render_clip(spec.name, req, seed, picture, path, progress=progress)
                fps = Fraction(req.fps)
                meta.update(
                    width=req.width, height=req.height, frames=req.duration_frames,
                    fps=f"{fps.numerator}/{fps.denominator}", seconds=float(Fraction(req.duration_frames) / fps),
                )  # fmt: skip
                outputs.append(Output(path=path, content_type="video/mp4", filename=f"{stem}.mp4", meta=meta))
        return SubmitResult(provider_job_id=job_id, state="succeeded", outputs=outputs)

    def poll(self, provider_job_id: str, ctx: BackendContext) -> PollResult:
        return PollResult(state="succeeded")

    # -- rendering ----------------------------------------------------------------------
    def _caption(self, req: GenerationRequest, picture):
        if not _local.param_bool(req.params, "caption", picture is None):
            return None
        return caption_layer(req.prompt, req.width, req.height)

    def _renderer(self, model: str, req: GenerationRequest, seed: int, picture, frames: int):
        w, h, fps = req.width, req.height, Fraction(req.fps)
        if model == "title-card":
            return TitleCard(text=req.prompt, width=w, height=h, seed=seed, picture=picture, frames=frames, fps=fps)
        source = picture
        if source is None:
            factor = ZOOM_RATIO if model == "infinite-zoom" else KEN_BURNS_MAX_ZOOM
            source = generated_picture(seed, *_source_size(w, h, factor))
        caption = self._caption(req, picture)
        if model == "ken-burns":
            extend = req.kind == "video_extend"
            return KenBurns(picture=source, width=w, height=h, seed=seed, frames=frames, caption=caption, from_whole=extend)
        speed = _local.param_number(req.params, "speed", 0.5, low=0.05, high=4.0)
        zoom_out = str(req.params.get("direction", "in") or "in").lower() == "out"
        return InfiniteZoom(picture=source, width=w, height=h, seed=seed, fps=fps, speed=speed, zoom_out=zoom_out, caption=caption)

    def _render_still(self, model: str, req: GenerationRequest, seed: int, picture):
        from PIL import Image

        still = self._renderer(model, req, seed, picture, frames=1).still()
        return Image.fromarray(still, "RGB") if not isinstance(still, Image.Image) else still

    def _render_clip(self, model: str, req: GenerationRequest, seed: int, picture, path: Path, progress=None) -> None:
        frames = int(req.duration_frames or 0)
        fps = Fraction(req.fps)
        renderer = self._renderer(model, req, seed, picture, frames=frames)
        timeout = _local.timeout_for(frames / float(fps), pixels=req.width * req.height)
        with _local.VideoWriter(
            path, width=req.width, height=req.height, fps=fps, frames=frames, timeout=timeout, progress=progress
        ) as out:
            for i in range(frames):
                out.write(renderer.frame(i))
