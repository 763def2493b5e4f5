"""Credits: a plain-text list (director, producers, every artist with their segments and the
backends/models they used, then the music, voices and sound effects on the audio tracks:
generated ones by backend, model, voice and author, uploaded files by name and uploader;
people by display name, else username) and, on request, a rolling credits video appended to the film.

The roll is drawn with Pillow (one tall card, scrolled a few pixels per frame) and piped to
ffmpeg (through the engine's runner: timeout, heartbeat, readable errors) as raw frames; the engine then conforms it like any other take, so it joins the film
by stream copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..plan import RenderPlan

ROLE_TITLES = {"director": "Directed by", "producer": "Produced by"}
SOUND_TITLES = (("music", "Music"), ("voice", "Voices"), ("effect", "Sound effects"), ("sound", "Sound"))


def _names(backends) -> list[str]:
    """Backends as people read them: an uploaded take is the artist's own footage."""
    return [("uploaded footage" if b == "upload" else b) for b in backends or ()]


def _backends(entry: dict[str, Any]) -> str:
    parts = []
    if entry.get("backends"):
        parts.append(", ".join(_names(entry["backends"])))
    if entry.get("models"):
        parts.append("models: " + ", ".join(entry["models"]))
    return "; ".join(parts)


def _quoted(title: str, limit: int = 60) -> str:
    title = " ".join((title or "").split())
    if len(title) > limit:
        title = title[: limit - 3].rstrip() + "..."
    return f'"{title}"' if title else "untitled"


def sound_line(entry: dict[str, Any]) -> str:
    """One sound on the audio tracks, as the credits say it."""
    who = entry.get("name") or entry.get("username") or ""
    if entry.get("backend") == "upload":
        return f"{_quoted(entry.get('title') or '')}" + (f" - uploaded by {who}" if who else "")
    made = entry.get("backend") or "generated"
    if entry.get("model"):
        made += f" ({entry['model']})"
    if entry.get("voice"):
        made = f"voice {entry['voice']}, {made}"
    return f"{_quoted(entry.get('title') or '')} - {made}" + (f", by {who}" if who else "")


def credit_lines(plan: RenderPlan) -> list[str]:
    """The credits as lines of text (blank lines separate blocks)."""
    lines: list[str] = [plan.project_title, ""]
    for role in ("director", "producer"):
        people = [c for c in plan.credits if c.get("role") == role]
        if people:
            lines.append(ROLE_TITLES[role])
            lines.extend(f"  {c['name']}" for c in people)
            lines.append("")
    artists = [c for c in plan.credits if c.get("role") == "artist"]
    if artists:
        lines.append("Artists")
        for c in artists:
            segments = "; ".join(c.get("segments") or [])
            lines.append(f"  {c['name']}" + (f" - {segments}" if segments else ""))
            used = _backends(c)
            if used:
                lines.append(f"    made with {used}")
        lines.append("")
    sounds = [c for c in plan.credits if c.get("role") == "sound"]
    for kind, title in SOUND_TITLES:
        block = [c for c in sounds if c.get("kind") == kind]
        if block:
            lines.append(title)
            lines.extend(f"  {sound_line(c)}" for c in block)
            lines.append("")
    backends = {b for c in plan.credits for b in c.get("backends") or () if b != "upload"}
    backends |= {c["backend"] for c in sounds if c.get("backend") and c["backend"] != "upload"}
    models = {m for c in plan.credits for m in c.get("models") or ()} | {c["model"] for c in sounds if c.get("model")}
    backends, models = sorted(backends), sorted(models)
    if backends or models:
        lines.append("Made with")
        if backends:
            lines.append("  " + ", ".join(backends))
        if models:
            lines.append("  models: " + ", ".join(models))
        lines.append("")
    lines.append("Made with Montage")
    return lines


def write_credits(plan: RenderPlan) -> str:
    return "\n".join(credit_lines(plan)).rstrip() + "\n"


# --------------------------------------------------------------------------------------------
# The roll
# --------------------------------------------------------------------------------------------


def roll_frames(plan: RenderPlan, *, seconds_per_line: float = 0.4, minimum_seconds: float = 4.0, maximum_seconds: float = 90.0) -> int:
    """How long the roll runs, in project frames."""
    fps = plan.spec.fps_num / plan.spec.fps_den
    seconds = min(maximum_seconds, max(minimum_seconds, len(credit_lines(plan)) * seconds_per_line))
    return max(1, round(seconds * fps))


def render_roll(plan: RenderPlan, out_path: Path, *, frames: int, timeout: float = 600) -> Path:
    """Write the credits roll: white text scrolling up over black, ``frames`` frames at the
    project's size and rate, silent stereo audio. Returns ``out_path``."""
    from PIL import Image, ImageDraw, ImageFont

    spec = plan.spec
    width, height = spec.width, spec.height
    size = max(10, height // 18)
    font = ImageFont.load_default(size=size)
    small = ImageFont.load_default(size=max(8, int(size * 0.7)))
    lines = credit_lines(plan)
    line_h = int(size * 1.5)
    card_h = height * 2 + line_h * len(lines)
    card = Image.new("L", (width, card_h), 0)
    draw = ImageDraw.Draw(card)
    y = height
    for line in lines:
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        f = small if indent >= 4 else font
        if text:
            w = draw.textlength(text, font=f)
            draw.text(((width - w) / 2, y), text, fill=255, font=f)
        y += line_h
    travel = card_h - height

    def frames_out():
        for i in range(frames):
            offset = round(travel * i / max(1, frames - 1))
            yield card.crop((0, offset, width, offset + height)).tobytes()

    from apps.rendering.engine import ffmpeg as engine_ffmpeg

    rate = f"{spec.fps_num}/{spec.fps_den}"
    engine_ffmpeg.run(
        [
            "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{width}x{height}", "-r", rate, "-i", "pipe:0",
            "-f", "lavfi", "-i", f"anullsrc=channel_layout=stereo:sample_rate={spec.sample_rate}",
            "-frames:v", str(frames), "-shortest",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(out_path),
        ],  # fmt: skip
        what="The credits roll could not be rendered",
        timeout=timeout,
        stdin_chunks=frames_out(),
    )
    return out_path
