"""The whole edit as the API shows it.

A 90-minute film has ~1,350 shots, so this reads plain rows (``values()``) in a fixed
number of queries and builds the response without model instances.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from apps.media.selectors import media_payload, media_url

from .models import AudioClip, Marker, Timeline

_PICK_FIELDS = (
    "id", "shot_id", "number", "author__username", "media_id", "media__status", "media__proxy_key",
    "media__thumbnail_key", "media__filmstrip_key", "media__duration_seconds", "media__fps", "media__width",
    "media__height", "media__has_audio",
)


def length_in_frames(duration_seconds: float | None, fps: Fraction) -> int | None:
    """A clip's length in project frames (rounded to the nearest frame)."""
    if not duration_seconds:
        return None
    # Float arithmetic is exact enough here: the result is rounded to whole frames, and a
    # probe's duration is itself a float.
    return max(1, round(duration_seconds * fps.numerator / fps.denominator))


def shot_extent(*, in_frame: int | None, out_frame: int | None, planned_frames: int, length: int | None) -> tuple[int, int, int]:
    """(in, out, frames) of a shot on the timeline: trims clamped to the take's length
    (when known), at least one frame. The export planner uses the same rule, so an export
    is exactly as long as the timeline."""
    start = in_frame or 0
    end = out_frame if out_frame is not None else (length if length is not None else planned_frames)
    if length is not None:
        end = min(end, length)
        start = min(start, max(end - 1, 0))
    return start, end, max(end - start, 1)


def _pick_out(row: dict, fps: Fraction, request, project_id=None) -> dict:
    return {
        "id": str(row["id"]),
        "number": row["number"],
        "author": row["author__username"],
        "length_frames": length_in_frames(row["media__duration_seconds"], fps),
        "media": None if row["media_id"] is None else {
            "id": str(row["media_id"]),
            "status": row["media__status"],
            "proxy_url": media_url(row["media__proxy_key"], request=request, project_id=project_id),
            "thumbnail_url": media_url(row["media__thumbnail_key"], request=request, project_id=project_id),
            "filmstrip_url": media_url(row["media__filmstrip_key"], request=request, project_id=project_id),
            "duration_seconds": row["media__duration_seconds"],
            "fps": row["media__fps"],
            "width": row["media__width"],
            "height": row["media__height"],
            "has_audio": row["media__has_audio"],
        },
    }


def timeline_get(*, project, request=None) -> dict[str, Any]:
    """The timeline as of one revision. Its parts come from separate queries: under READ
    COMMITTED (PostgreSQL) an edit committing between them would pair the revision read first
    with rows of the next one, so the read is made again until the revision held still."""
    for _ in range(5):
        data = _timeline_read(project=project, request=request)
        if Timeline.objects.filter(project=project).values_list("revision", flat=True).first() == data["revision"]:
            break
    return data


def _timeline_read(*, project, request=None) -> dict[str, Any]:
    from apps.production.models import Segment, Shot, Take

    fps = project.fps
    timeline, _ = Timeline.objects.get_or_create(project=project)
    segments = list(
        Segment.objects.filter(project=project)
        .order_by("position")
        .values("id", "position", "title", "status", "target_frames", "owner_id", "owner__username")
    )
    shots_by_segment: dict = {}
    for shot in (
        Shot.objects.filter(segment__project=project)
        .order_by("segment_id", "position")
        .values("id", "segment_id", "position", "title", "duration_frames", "in_frame", "out_frame",
                "transition_kind", "transition_frames", "revision")
    ):
        shots_by_segment.setdefault(shot["segment_id"], []).append(shot)
    picks = {
        row["shot_id"]: row
        for row in Take.objects.filter(shot__segment__project=project, review_state="approved").values(*_PICK_FIELDS)
    }

    out_segments = []
    total = 0
    for seg in segments:
        shots_out = []
        seg_frames = 0
        for shot in shots_by_segment.get(seg["id"], ()):
            pick = picks.get(shot["id"])
            pick_out = _pick_out(pick, fps, request, project.pk) if pick else None
            length = pick_out["length_frames"] if pick_out else None
            in_frame, out_frame, duration = shot_extent(
                in_frame=shot["in_frame"], out_frame=shot["out_frame"], planned_frames=shot["duration_frames"], length=length
            )
            # Crossfades overlap within a segment; segment masters join by a plain cut.
            overlap = shot["transition_frames"] if (shot["transition_kind"] == "crossfade" and shots_out) else 0
            overlap = min(overlap, duration)
            seg_frames += duration - overlap
            shots_out.append(
                {
                    "id": str(shot["id"]),
                    "position": shot["position"],
                    "title": shot["title"],
                    "take": pick_out,
                    "in_frame": in_frame,
                    "out_frame": out_frame,
                    "duration_frames": duration,
                    "planned_frames": shot["duration_frames"],
                    "transition": {"kind": shot["transition_kind"], "frames": shot["transition_frames"]},
                    "revision": shot["revision"],
                }
            )
        out_segments.append(
            {
                "id": str(seg["id"]),
                "position": seg["position"],
                "title": seg["title"],
                "owner": {"id": seg["owner_id"], "username": seg["owner__username"]} if seg["owner_id"] else None,
                "status": seg["status"],
                "start_frame": total,
                "duration_frames": seg_frames,
                "target_frames": seg["target_frames"],
                "shots": shots_out,
            }
        )
        total += seg_frames

    tracks: dict[str, list] = {"music": [], "narration": [], "effects": []}
    for clip in AudioClip.objects.filter(timeline=timeline).select_related("media").order_by("start_frame"):
        tracks[clip.track].append(
            {
                "id": str(clip.pk),
                "track": clip.track,
                "media": media_payload(clip.media, request=request),
                "start_frame": clip.start_frame,
                "length_frames": length_in_frames(clip.media.duration_seconds, fps),
                "volume": clip.volume,
                "fade_in_frames": clip.fade_in_frames,
                "fade_out_frames": clip.fade_out_frames,
                "text": clip.text,
            }
        )
    markers = [
        {"id": str(m["id"]), "frame": m["frame"], "label": m["label"], "author": m["author__username"]}
        for m in Marker.objects.filter(timeline=timeline).order_by("frame").values("id", "frame", "label", "author__username")
    ]
    return {
        "revision": timeline.revision,
        "fps": project.fps_display,
        "fps_rational": f"{project.fps_num}/{project.fps_den}",
        "width": project.width,
        "height": project.height,
        "duration_frames": total,
        "segments": out_segments,
        "audio_tracks": [{"track": name, "clips": items} for name, items in tracks.items()],
        "markers": markers,
    }


def timeline_comments(*, project, limit: int = 2000) -> list[dict[str, Any]]:
    """Time-coded comments on the picks (the approved takes), for pins on the timeline.

    A comment's ``frame`` counts frames of its take; ``pick_frame`` is the same instant in
    project frames (takes are conformed to the project rate), so the browser places the pin
    at the shot's start + ``pick_frame`` − the shot's in point. One query, no model instances.
    """
    from apps.production.models import Comment

    fps = project.fps
    rows = (
        Comment.objects.filter(take__shot__segment__project=project, take__review_state="approved", frame__isnull=False)
        .order_by("created_at")
        .values(
            "id", "take_id", "take__shot_id", "take__shot__segment_id", "frame", "body", "parent_id",
            "author_id", "author__username", "created_at", "take__media__fps",
        )[:limit]
    )
    out = []
    for row in rows:
        take_fps = row["take__media__fps"]
        frame = row["frame"]
        if take_fps:
            pick_frame = int(round(frame * fps.numerator / (fps.denominator * take_fps)))
        else:
            pick_frame = frame
        out.append(
            {
                "id": str(row["id"]),
                "take": str(row["take_id"]),
                "shot": str(row["take__shot_id"]),
                "segment": str(row["take__shot__segment_id"]),
                "frame": frame,
                "pick_frame": pick_frame,
                "body": row["body"],
                "parent": str(row["parent_id"]) if row["parent_id"] else None,
                "author": {"id": row["author_id"], "username": row["author__username"]} if row["author_id"] else None,
                "created_at": row["created_at"],
            }
        )
    return out


# What a sound take is, from the generation kind in its provenance (uploads: "upload"), and
# the track it goes on by default.
SOUND_KINDS = {"speech": "narration", "music": "music", "sound_effect": "effects", "upload": "music"}


def timeline_audio_sources(*, project, limit: int = 500) -> list[dict[str, Any]]:
    """Ready takes that are sound only (speech, music, sound effects generated or uploaded as
    takes), newest first: what the timeline offers to place on its audio tracks, each with
    its ``kind`` (speech | music | sound_effect | upload) and the ``track`` it suits. One query."""
    from apps.production.models import Take

    rows = (
        Take.objects.filter(shot__segment__project=project, status="ready", media__kind="audio")
        .order_by("-created_at")
        .values(
            "id", "number", "provenance", "shot_id", "shot__title", "shot__position", "shot__segment_id",
            "shot__segment__title", "shot__segment__position", "media_id", "media__duration_seconds",
            "author__username", "created_at",
        )[:limit]
    )  # fmt: skip
    out = []
    for row in rows:
        prov = row["provenance"] if isinstance(row["provenance"], dict) else {}
        seconds = row["media__duration_seconds"]
        kind = prov.get("kind") if prov.get("kind") in SOUND_KINDS else "upload"
        if kind == "upload" and "speech" in str(prov.get("backend") or ""):
            kind = "speech"  # a take from before kinds were recorded
        params = prov.get("params") if isinstance(prov.get("params"), dict) else {}
        out.append(
            {
                "take": str(row["id"]),
                "kind": kind,
                "track": SOUND_KINDS[kind],
                "voice": str(params.get("voice") or params.get("voice_id") or ""),
                "number": row["number"],
                "media": str(row["media_id"]),
                "shot": {"id": str(row["shot_id"]), "title": row["shot__title"], "position": row["shot__position"]},
                "segment": {
                    "id": str(row["shot__segment_id"]),
                    "title": row["shot__segment__title"],
                    "position": row["shot__segment__position"],
                },
                "backend": prov.get("backend") or "",
                "model": prov.get("model") or "",
                "text": prov.get("prompt") or "",
                "duration_seconds": seconds,
                "duration_frames": length_in_frames(seconds, project.fps),
                "author": row["author__username"],
                "created_at": row["created_at"],
            }
        )
    return out
