"""OpenTimelineIO: the cut as an editorial timeline that NLEs (Resolve, Premiere, Avid via
EDL) can read back.

One video track: each shot a Clip whose ExternalReference points at the take's media file,
``source_range`` in project frames (rate = fps_num/fps_den as a float, e.g. 23.976…).
Slates are clips with a GeneratorReference (``generator_kind="slate"``). Transitions are
``Transition`` objects (SMPTE dissolves), placed as the render engine makes them:

* a crossfade of n frames is one dissolve centred on the cut (``in_offset`` n//2 before it,
  ``out_offset`` n - n//2 after it), both shots' frames under it are their own media
  (handles), so clips plus transitions add up to exactly the rendered film's length;
* a fade through black (the outgoing shot's last frames fade down, the incoming shot's first
  frames fade up, nothing overlaps) is a black clip (a ``GeneratorReference`` of kind
  ``black``, reel ``BL`` in an EDL) between the shots, a dissolve into it and one out of it:
  the way an EDL writes a fade (``BL`` with ``D`` events) and NLEs read it back.

The edit's markers are markers of the timeline's stack (``timeline.tracks.markers``) at
their frame, named by their label; in the EDL they are locators (``* LOC:``) on the clip
under them. Score, narration and effects are audio tracks (one per lane of non-overlapping
clips). Provenance of every shot is in ``clip.metadata["montage"]``.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import opentimelineio as otio

from ..plan import PlanAudioClip, PlanShot, RenderPlan
from . import layout

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

# What goes into clip.metadata["montage"] (the manifest has everything).
CLIP_META_KEYS = (
    "segment", "segment_title", "shot", "shot_title", "artist", "backend", "model", "prompt", "seed", "cost",
    "take_id", "take_number", "approved_by", "approved_at", "sha256", "storage_key",
)

UrlFor = Callable[[str], str]


def rate_of(plan: RenderPlan) -> float:
    return plan.spec.fps_num / plan.spec.fps_den


def safe_name(text: str, *, limit: int = 60) -> str:
    """A clip name every EDL reader accepts: printable ASCII on one line."""
    text = unicodedata.normalize("NFKD", text or "")
    text = text.replace("·", "-")
    text = text.encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9 _.,:;!?'()&+#/-]+", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:limit].strip() or "UNTITLED"


def reel_for(shot: PlanShot) -> str:
    """8-character reel name (CMX 3600): S<segment:3><shot:3>, or BL for a slate (black)."""
    if shot.source is None:
        return "BL"
    return f"S{(shot.segment_position + 1) % 1000:03d}{(shot.position + 1) % 1000:03d}"[:8]


def shot_name(shot: PlanShot) -> str:
    seg, num = shot.segment_position + 1, shot.position + 1
    if shot.meta.get("credits_roll"):
        return "CREDITS"
    label = f"S{seg:02d} SH{num:02d}"
    if shot.source is None:
        return safe_name(f"SLATE {label}")
    title = shot.title or ""
    return safe_name(f"{label} {title}".strip())


def _meta(shot: PlanShot) -> dict[str, Any]:
    meta = {k: shot.meta.get(k) for k in CLIP_META_KEYS if k in shot.meta}
    meta["shot_id"] = shot.id
    meta["segment_id"] = shot.segment_id
    if shot.transition_kind != "cut":
        meta["transition"] = {"kind": shot.transition_kind, "frames": shot.transition_frames}
    if shot.source is None:
        meta["slate"] = True
    return {k: v for k, v in meta.items() if v is not None}


def _shot_clip(shot: PlanShot, rate: float, url_for: UrlFor) -> otio.schema.Clip:
    if shot.source is None:
        ref: otio.core.MediaReference = otio.schema.GeneratorReference(
            name="slate",
            generator_kind="slate",
            parameters={"line1": shot.slate.line1 if shot.slate else "", "line2": shot.slate.line2 if shot.slate else ""},
            available_range=TR(RT(0, rate), RT(shot.frames, rate)),
        )
        source_range = TR(RT(0, rate), RT(shot.frames, rate))
    elif shot.meta.get("credits_roll"):
        # Rendered for this export only (it is in the MP4, not in storage): a generator, so
        # that no reference points at a file nobody can fetch.
        ref = otio.schema.GeneratorReference(
            name="credits", generator_kind="credits", available_range=TR(RT(0, rate), RT(shot.frames, rate)),
        )
        source_range = TR(RT(0, rate), RT(shot.frames, rate))
    else:
        length = None
        if shot.source.duration_seconds:
            length = max(1, round(shot.source.duration_seconds * rate))
        ref = otio.schema.ExternalReference(
            target_url=url_for(shot.source.storage_key),
            available_range=TR(RT(0, rate), RT(max(length or 0, shot.in_frame + shot.frames), rate)),
        )
        source_range = TR(RT(shot.in_frame, rate), RT(shot.frames, rate))
    clip = otio.schema.Clip(name=shot_name(shot), media_reference=ref, source_range=source_range)
    clip.metadata["montage"] = _meta(shot)
    clip.metadata["cmx_3600"] = {"reel": reel_for(shot)}
    return clip


def _audio_lanes(clips: tuple[PlanAudioClip, ...], film_frames: int) -> dict[str, list[list[tuple[int, int, PlanAudioClip]]]]:
    """Clips per track, packed into lanes of non-overlapping clips, cut at the film's end."""
    lanes: dict[str, list[list[tuple[int, int, PlanAudioClip]]]] = {}
    for clip in sorted(clips, key=lambda c: (c.track, c.start_frame)):
        start = clip.start_frame
        end = min(film_frames, start + (clip.length_frames or 0))
        if end <= start:
            continue
        track_lanes = lanes.setdefault(clip.track, [])
        for lane in track_lanes:
            if lane[-1][1] <= start:
                lane.append((start, end, clip))
                break
        else:
            track_lanes.append([(start, end, clip)])
    return lanes


def _set_range(clip: otio.schema.Clip, *, head: int = 0, tail: int = 0) -> None:
    """Drop ``head`` frames from the start and ``tail`` from the end of the clip's range."""
    sr = clip.source_range
    rate = sr.duration.rate
    clip.source_range = TR(RT(sr.start_time.value + head, rate), RT(sr.duration.value - head - tail, rate))


def _frames(clip: otio.schema.Clip) -> int:
    return round(clip.source_range.duration.value)


def _black(frames: int, rate: float) -> otio.schema.Clip:
    """Black between two shots faded through black (reel BL: what EDLs call black)."""
    ref = otio.schema.GeneratorReference(
        name="black", generator_kind="black", parameters={"color": "black"},
        available_range=TR(RT(0, rate), RT(frames, rate)),
    )
    clip = otio.schema.Clip(name="BLACK", media_reference=ref, source_range=TR(RT(0, rate), RT(frames, rate)))
    clip.metadata["cmx_3600"] = {"reel": "BL"}
    clip.metadata["montage"] = {"black": True}
    return clip


def _dissolve(name: str, *, before: int, after: int, rate: float, kind: str, frames: int) -> otio.schema.Transition:
    transition = otio.schema.Transition(
        name=safe_name(name), transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
        in_offset=RT(before, rate), out_offset=RT(after, rate),
    )
    transition.metadata["montage"] = {"kind": kind, "frames": frames}
    return transition


def _video_track(plan: RenderPlan, rate: float, url_for: UrlFor) -> otio.schema.Track:
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    previous: otio.schema.Clip | None = None
    previous_fade_out = 0
    for placed in layout(plan):
        clip = _shot_clip(placed.shot, rate, url_for)
        n = placed.overlap
        if n and previous is not None:
            # Centre the transition on the cut: the outgoing clip ends `b` frames early, the
            # incoming one starts `a` frames late; the transition covers a before and b after.
            a, b = n // 2, n - n // 2
            if _frames(previous) - b >= 1 and _frames(clip) - a >= 1:
                _set_range(previous, tail=b)
                _set_range(clip, head=a)
                video.append(_dissolve(f"Crossfade into {clip.name}", before=a, after=b, rate=rate, kind="crossfade", frames=n))
            else:  # too short to centre: keep the length right with a plain cut
                _set_range(clip, head=n)
        elif previous_fade_out or placed.fade_in:
            # Fade through black: [A less its fade-out] ⟶dissolve⟶ [black] ⟶dissolve⟶ [B less its
            # fade-up]; the dissolves use A's last and B's first frames as handles.
            down = previous_fade_out if previous is not None and _frames(previous) - previous_fade_out >= 1 else 0
            up = placed.fade_in if _frames(clip) - placed.fade_in >= 1 else 0
            if down or up:
                if down:
                    _set_range(previous, tail=down)
                    video.append(_dissolve(f"Fade to black from {previous.name}", before=0, after=down, rate=rate,
                                           kind="fade_black", frames=down))
                video.append(_black(down + up, rate))
                if up:
                    _set_range(clip, head=up)
                    video.append(_dissolve(f"Fade up from black into {clip.name}", before=up, after=0, rate=rate,
                                           kind="fade_black", frames=up))
        video.append(clip)
        previous, previous_fade_out = clip, placed.fade_out
    return video


def _stack_markers(timeline: otio.schema.Timeline, plan: RenderPlan, rate: float) -> None:
    for m in plan.markers:
        marker = otio.schema.Marker(
            name=m.label, marked_range=TR(RT(m.frame, rate), RT(0, rate)), color=otio.schema.MarkerColor.RED,
        )
        marker.metadata["montage"] = {"marker_id": m.id, "frame": m.frame, "author": m.author}
        timeline.tracks.markers.append(marker)


def _clip_markers(video: otio.schema.Track, plan: RenderPlan, rate: float) -> None:
    """Each marker on the clip under it, in that clip's media time (how EDL locators read)."""
    spans = []
    for i, item in enumerate(video):
        if isinstance(item, otio.schema.Clip):
            spans.append((video.range_of_child_at_index(i), item))
    for m in plan.markers:
        for span, clip in spans:
            start = round(span.start_time.value)
            if start <= m.frame < start + round(span.duration.value):
                at = clip.source_range.start_time.value + (m.frame - start)
                marker = otio.schema.Marker(
                    name=safe_name(m.label, limit=60), marked_range=TR(RT(at, rate), RT(0, rate)),
                    color=otio.schema.MarkerColor.RED,
                )
                marker.metadata["montage"] = {"marker_id": m.id, "frame": m.frame}
                clip.markers.append(marker)
                break


def build_timeline(
    plan: RenderPlan, *, url_for: UrlFor, name: str | None = None, audio: bool = True, markers_on_clips: bool = False
) -> otio.schema.Timeline:
    rate = rate_of(plan)
    timeline = otio.schema.Timeline(name=safe_name(name or plan.project_title, limit=120))
    timeline.global_start_time = RT(0, rate)
    timeline.metadata["montage"] = {
        "project_id": plan.project_id,
        "project_title": plan.project_title,
        "fps": f"{plan.spec.fps_num}/{plan.spec.fps_den}",
        "width": plan.spec.width,
        "height": plan.spec.height,
        "frames": plan.frames,
    }
    video = _video_track(plan, rate, url_for)
    timeline.tracks.append(video)
    if markers_on_clips:
        _clip_markers(video, plan, rate)
    else:
        _stack_markers(timeline, plan, rate)

    if audio:
        film = plan.frames
        for track_name, track_lanes in _audio_lanes(plan.audio, film).items():
            for i, lane in enumerate(track_lanes):
                track = otio.schema.Track(name=f"{track_name} {i + 1}" if i else track_name, kind=otio.schema.TrackKind.Audio)
                cursor = 0
                for start, end, clip in lane:
                    if start > cursor:
                        track.append(otio.schema.Gap(source_range=TR(RT(0, rate), RT(start - cursor, rate))))
                    item = otio.schema.Clip(
                        name=safe_name(clip.text or f"{track_name} {clip.id[:8]}"),
                        media_reference=otio.schema.ExternalReference(
                            target_url=url_for(clip.source.storage_key),
                            available_range=TR(RT(0, rate), RT(max(clip.length_frames or 0, end - start), rate)),
                        ),
                        source_range=TR(RT(0, rate), RT(end - start, rate)),
                    )
                    item.metadata["montage"] = {
                        "clip_id": clip.id, "track": clip.track, "volume": clip.volume, "text": clip.text,
                        "fade_in_frames": clip.fade_in_frames, "fade_out_frames": clip.fade_out_frames,
                        "sha256": clip.source.sha256, "storage_key": clip.source.storage_key,
                    }
                    track.append(item)
                    cursor = end
                timeline.tracks.append(track)
    return timeline


def write_otio(plan: RenderPlan, *, url_for: UrlFor, name: str | None = None) -> str:
    return otio.adapters.write_to_string(build_timeline(plan, url_for=url_for, name=name), "otio_json")


class BundleTooLarge(Exception):
    """The media of an ``.otioz`` bundle would pass the size limit (``size`` bytes)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"The media of the cut come to more than the {limit / 1e6:,.0f} MB limit of a bundle.")
        self.size = size
        self.limit = limit


def write_otioz(
    plan: RenderPlan, out_path: Path, *, local_file: Callable[[str], Path], name: str | None = None, max_bytes: int | None = None
) -> Path:
    """The cut as an ``.otioz`` bundle: the same timeline as the ``.otio``, with every media
    file it uses (the takes' own files: picture with its sound, music, voices) stored inside
    the zip under ``media/`` and referenced relatively, so an editor opens it anywhere.

    ``local_file(storage_key)`` gives a local path holding the file's bytes. Files are named
    ``<nnn>-<name>`` in order of first use (names inside a bundle must be unique). Raises
    :class:`BundleTooLarge` (before writing anything) when the media pass ``max_bytes``
    (``size`` is then what was counted until the limit was passed)."""
    staging = out_path.parent / f".{out_path.name}-media"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    staged: dict[str, Path] = {}
    total = 0

    def url_for(key: str) -> str:
        nonlocal total
        if key not in staged:
            source = Path(local_file(key))
            base = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(key)) or "media"
            target = staging / f"{len(staged) + 1:03d}-{base}"
            try:
                target.symlink_to(source.resolve())
            except OSError:  # no symlinks here: copy
                shutil.copyfile(source, target)
            staged[key] = target
            total += source.stat().st_size
            if max_bytes is not None and total > max_bytes:  # stop before fetching more
                raise BundleTooLarge(total, max_bytes)
        return otio.url_utils.url_from_filepath(str(staged[key]))

    try:
        timeline = build_timeline(plan, url_for=url_for, name=name)
        if out_path.exists():
            out_path.unlink()
        otio.adapters.write_to_file(timeline, str(out_path), adapter_name="otioz")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_path
