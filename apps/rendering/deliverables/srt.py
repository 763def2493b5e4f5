"""SubRip subtitles from the text of narration/dialogue audio clips.

A clip with text is shown from its start frame for its length (the audio file's length in
project frames; clips of unknown length show for DEFAULT_SECONDS), never past the film's end.
Timecodes are exact to the millisecond at the project's rational frame rate.
"""

from __future__ import annotations

from fractions import Fraction

from ..plan import RenderPlan

DEFAULT_SECONDS = 3


def frame_to_ms(frame: int, fps_num: int, fps_den: int) -> int:
    """Milliseconds of frame ``frame`` at fps_num/fps_den, rounded half up."""
    ms = Fraction(frame * 1000 * fps_den, fps_num)
    return int(ms + Fraction(1, 2))


def timecode(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def cues(plan: RenderPlan) -> list[tuple[int, int, str]]:
    """``(start_frame, end_frame, text)`` for every clip with text, in order of time."""
    num, den = plan.spec.fps_num, plan.spec.fps_den
    film = plan.frames
    out = []
    for clip in plan.audio:
        text = (clip.text or "").strip()
        if not text or clip.start_frame >= film:
            continue
        length = clip.length_frames or round(DEFAULT_SECONDS * num / den)
        end = min(film, clip.start_frame + max(1, length))
        # A blank line ends an SRT cue: keep the text's lines, drop empty ones.
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        out.append((clip.start_frame, end, "\n".join(lines)))
    out.sort(key=lambda c: (c[0], c[1]))
    return out


def write_srt(plan: RenderPlan) -> str:
    num, den = plan.spec.fps_num, plan.spec.fps_den
    blocks = []
    for i, (start, end, text) in enumerate(cues(plan), start=1):
        blocks.append(f"{i}\n{timecode(frame_to_ms(start, num, den))} --> {timecode(frame_to_ms(end, num, den))}\n{text}\n")
    return "\n".join(blocks)
