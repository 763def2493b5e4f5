"""The one error the render engine raises: a sentence for people, plus detail for logs."""

from __future__ import annotations

from apps.rendering.plan import PlanShot


class RenderError(Exception):
    """A render step failed. ``str(error)`` is a sentence for people that names the shot
    ("Segment 3 · shot 2: the source file could not be decoded (…)"); ``detail`` holds the
    tail of ffmpeg's log for the logs (never shown to users)."""

    def __init__(self, message: str, *, detail: str = "", shot_id: str | None = None, segment_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.shot_id = shot_id
        self.segment_id = segment_id


def shot_label(shot: PlanShot) -> str:
    """The shot as people name it: "Segment 3 · shot 2" (1-based)."""
    return f"Segment {shot.segment_position + 1} · shot {shot.position + 1}"


def segment_label(position: int) -> str:
    return f"Segment {position + 1}"
