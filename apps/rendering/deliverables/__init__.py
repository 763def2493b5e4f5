"""The files an export delivers besides the MP4: OpenTimelineIO, CMX 3600 EDL, SRT subtitles,
a credits list and a provenance manifest. Each module turns a RenderPlan (plain data) into
text; none touches the database or the media files."""

from __future__ import annotations

from dataclasses import dataclass

from ..plan import PlanShot, RenderPlan


@dataclass(frozen=True)
class Placed:
    """A shot where it sits in the film: ``record_in`` is its first frame on the film's
    timeline (crossfades overlap the previous shot by ``overlap`` frames)."""

    shot: PlanShot
    record_in: int
    overlap: int

    @property
    def record_out(self) -> int:
        return self.record_in + self.shot.frames


def layout(plan: RenderPlan) -> list[Placed]:
    """Every shot of the plan in film order with its record position (frames)."""
    out: list[Placed] = []
    start = 0
    for seg in plan.segments:
        cursor = start
        for i, shot in enumerate(seg.shots):
            overlap = shot.transition_frames if (i > 0 and shot.transition_kind == "crossfade") else 0
            overlap = min(overlap, shot.frames)
            cursor -= overlap
            out.append(Placed(shot=shot, record_in=cursor, overlap=overlap))
            cursor += shot.frames
        start += seg.frames
    return out
