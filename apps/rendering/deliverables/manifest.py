"""The provenance manifest: for every shot in the cut, who made it and how (artist, backend,
model, prompt, seed, cost), who approved it, which take and which exact file (sha256), and
where it sits in the film. JSON, stable keys, one entry per shot in film order."""

from __future__ import annotations

import json
from typing import Any

from ..plan import RenderPlan
from . import layout
from .srt import frame_to_ms

MANIFEST_VERSION = 1


def build_manifest(plan: RenderPlan, *, export: dict[str, Any] | None = None, result: dict[str, Any] | None = None) -> dict[str, Any]:
    spec = plan.spec
    shots = []
    for placed in layout(plan):
        shot = placed.shot
        m = shot.meta
        if m.get("credits_roll"):
            continue
        shots.append(
            {
                "segment": m.get("segment", shot.segment_position + 1),
                "segment_id": shot.segment_id,
                "segment_title": m.get("segment_title"),
                "shot": m.get("shot", shot.position + 1),
                "shot_id": shot.id,
                "shot_title": shot.title,
                "record_in_frame": placed.record_in,
                "record_out_frame": placed.record_out,
                "record_in_ms": frame_to_ms(placed.record_in, spec.fps_num, spec.fps_den),
                "frames": shot.frames,
                "source_in_frame": shot.in_frame,
                "transition": {"kind": shot.transition_kind, "frames": shot.transition_frames},
                "slate": shot.source is None,
                "slate_text": [shot.slate.line1, shot.slate.line2] if shot.slate and shot.source is None else None,
                "take_id": shot.take_id,
                "take_number": shot.take_number,
                "take_source": m.get("take_source"),
                "artist": m.get("artist"),
                "artist_name": m.get("artist_name"),
                "backend": m.get("backend"),
                "model": m.get("model"),
                "prompt": m.get("prompt"),
                "negative_prompt": m.get("negative_prompt"),
                "seed": m.get("seed"),
                "cost": m.get("cost"),
                "currency": m.get("currency"),
                "generation_job": m.get("job"),
                "approvals": {
                    "review_state": m.get("review_state"),
                    "approved_by": m.get("approved_by"),
                    "approved_at": m.get("approved_at"),
                },
                "media": None if shot.source is None else {
                    "id": m.get("media_id"),
                    "storage_key": shot.source.storage_key,
                    "sha256": shot.source.sha256,
                    "width": shot.source.width,
                    "height": shot.source.height,
                    "fps": shot.source.fps,
                    "duration_seconds": shot.source.duration_seconds,
                },
            }
        )
    audio = [
        {
            "clip_id": clip.id, "track": clip.track, "start_frame": clip.start_frame, "length_frames": clip.length_frames,
            "volume": clip.volume, "fade_in_frames": clip.fade_in_frames, "fade_out_frames": clip.fade_out_frames,
            "text": clip.text, "storage_key": clip.source.storage_key, "sha256": clip.source.sha256,
        }
        for clip in plan.audio
    ]
    return {
        "manifest_version": MANIFEST_VERSION,
        "project": {
            "id": plan.project_id, "title": plan.project_title, "fps": f"{spec.fps_num}/{spec.fps_den}",
            "width": spec.width, "height": spec.height, "loudness_target": spec.loudness_target,
        },
        "export": export or {},
        "frames": plan.frames,
        "duration_seconds": round(plan.frames * spec.fps_den / spec.fps_num, 6),
        "segments": [
            {"id": seg.id, "position": seg.position + 1, "title": seg.title, "owner": seg.owner, "frames": seg.frames}
            for seg in plan.segments
            if not any(s.meta.get("credits_roll") for s in seg.shots)
        ],
        "shots": shots,
        "audio": audio,
        "markers": [{"id": m.id, "frame": m.frame, "label": m.label, "author": m.author} for m in plan.markers],
        "credits": [dict(c) for c in plan.credits],
        "render": result or {},
    }


def write_manifest(plan: RenderPlan, **kwargs: Any) -> str:
    return json.dumps(build_manifest(plan, **kwargs), indent=2, ensure_ascii=False, default=str) + "\n"
