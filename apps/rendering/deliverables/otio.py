"""OpenTimelineIO: the cut as an editorial timeline that NLEs (Resolve, Premiere, Avid via
EDL) can read back.

One video track: each shot a Clip whose ExternalReference points at the take's media file,
``source_range`` in project frames (rate = fps_num/fps_den as a float, e.g. 23.976…).
Slates are clips with a GeneratorReference (``generator_kind="slate"``). Crossfades are
``Transition`` objects centred on the cut, so clips plus transitions add up to exactly the
rendered film's length. Score, narration and effects are audio tracks (one per lane of
non-overlapping clips). Provenance of every shot is in ``clip.metadata["montage"]``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
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


def build_timeline(plan: RenderPlan, *, url_for: UrlFor, name: str | None = None, audio: bool = True) -> otio.schema.Timeline:
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
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(video)
    previous: otio.schema.Clip | None = None
    for placed in layout(plan):
        clip = _shot_clip(placed.shot, rate, url_for)
        n = placed.overlap
        if n and previous is not None:
            # Centre the transition on the cut: the outgoing clip ends `b` frames early, the
            # incoming one starts `a` frames late; the transition covers a before and b after.
            a, b = n // 2, n - n // 2
            prev_sr, sr = previous.source_range, clip.source_range
            if prev_sr.duration.value - b >= 1 and sr.duration.value - a >= 1:
                previous.source_range = TR(prev_sr.start_time, RT(prev_sr.duration.value - b, rate))
                clip.source_range = TR(RT(sr.start_time.value + a, rate), RT(sr.duration.value - a, rate))
                video.append(
                    otio.schema.Transition(
                        name=safe_name(f"Crossfade into {clip.name}"),
                        transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                        in_offset=RT(a, rate),
                        out_offset=RT(b, rate),
                    )
                )
            else:  # too short to centre: keep the length right with a plain cut
                clip.source_range = TR(RT(sr.start_time.value + n, rate), RT(sr.duration.value - n, rate))
        video.append(clip)
        previous = clip

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
