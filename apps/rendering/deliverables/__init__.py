"""The files an export delivers besides the MP4: OpenTimelineIO (and its ``.otioz`` bundle),
CMX 3600 EDL, SRT subtitles, a credits list and a provenance manifest. Each module turns a
RenderPlan (plain data) into text; none touches the database, and only the bundle reads media
files (local paths its caller gives it)."""

from __future__ import annotations

from dataclasses import dataclass

from ..plan import PlanShot, RenderPlan


@dataclass(frozen=True)
class Placed:
    """A shot where it sits in the film: ``record_in`` is its first frame on the film's
    timeline (crossfades overlap the previous shot by ``overlap`` frames). ``fade_in`` first
    frames fade up from black, ``fade_out`` last frames fade down to black (fades through
    black, as the render engine makes them: nothing overlaps, the length is unchanged)."""

    shot: PlanShot
    record_in: int
    overlap: int
    fade_in: int = 0
    fade_out: int = 0

    @property
    def record_out(self) -> int:
        return self.record_in + self.shot.frames


def _fades(shots, overlaps: list[int]) -> list[tuple[int, int]]:
    """(fade_in, fade_out) of each shot of one segment, by the engine's rule
    (``engine.segment.layout``): a fade through black of n frames into shot k fades shot k-1
    out over n//2 frames and shot k up over n - n//2 (into a segment's first shot only the
    fade-up); fades never eat into a crossfade's frames."""
    fade_in = [0] * len(shots)
    fade_out = [0] * len(shots)
    for k, shot in enumerate(shots):
        n = max(0, shot.transition_frames)
        if shot.transition_kind == "fade_black" and n > 0:
            fade_in[k] = n - n // 2
            if k > 0:
                fade_out[k - 1] = n // 2
    out = []
    for k, shot in enumerate(shots):
        tail = overlaps[k + 1] if k + 1 < len(shots) else 0
        room = max(0, shot.frames - overlaps[k] - tail)
        fin = min(fade_in[k], room)
        out.append((fin, min(fade_out[k], room - fin)))
    return out


def layout(plan: RenderPlan) -> list[Placed]:
    """Every shot of the plan in film order with its record position (frames)."""
    out: list[Placed] = []
    start = 0
    for seg in plan.segments:
        cursor = start
        overlaps = [
            min(shot.transition_frames, shot.frames) if (i > 0 and shot.transition_kind == "crossfade") else 0
            for i, shot in enumerate(seg.shots)
        ]
        for shot, overlap, (fade_in, fade_out) in zip(seg.shots, overlaps, _fades(seg.shots, overlaps), strict=True):
            cursor -= overlap
            out.append(Placed(shot=shot, record_in=cursor, overlap=overlap, fade_in=fade_in, fade_out=fade_out))
            cursor += shot.frames
        start += seg.frames
    return out
