from __future__ import annotations

from typing import Any

from django.db.models import Prefetch

from apps.media.selectors import media_payload

from .models import AudioClip, Marker, Timeline


def timeline_get(*, project, request=None) -> dict[str, Any]:
    """The whole edit in a fixed number of queries, whatever the size of the film."""
    from apps.production.models import Segment, Shot, Take
    from apps.timeline.services import pick_length_frames

    timeline, _ = Timeline.objects.get_or_create(project=project)
    picks = Take.objects.filter(review_state="approved").select_related("media", "author")
    segments = (
        Segment.objects.filter(project=project)
        .select_related("owner")
        .prefetch_related(Prefetch("shots", queryset=Shot.objects.order_by("position").prefetch_related(Prefetch("takes", queryset=picks, to_attr="picks"))))
        .order_by("position")
    )
    out_segments = []
    total = 0
    for seg in segments:
        shots = []
        seg_frames = 0
        for shot in seg.shots.all():
            pick = shot.picks[0] if shot.picks else None
            length = pick_length_frames(pick, project) if pick else None
            in_frame = shot.in_frame or 0
            out_frame = shot.out_frame if shot.out_frame is not None else (length if length is not None else shot.duration_frames)
            if length is not None:
                out_frame = min(out_frame, length)
                in_frame = min(in_frame, max(out_frame - 1, 0))
            duration = max(out_frame - in_frame, 1)
            # Crossfades overlap within a segment; segment masters join by a plain cut.
            overlap = shot.transition_frames if (shot.transition_kind == "crossfade" and shots) else 0
            overlap = min(overlap, duration)
            seg_frames += duration - overlap
            shots.append(
                {
                    "id": str(shot.pk),
                    "position": shot.position,
                    "title": shot.title,
                    "take": None if pick is None else {
                        "id": str(pick.pk),
                        "number": pick.number,
                        "author": pick.author.username if pick.author else None,
                        "length_frames": length,
                        "media": media_payload(pick.media, request=request) if pick.media else None,
                    },
                    "in_frame": in_frame,
                    "out_frame": out_frame,
                    "duration_frames": duration,
                    "planned_frames": shot.duration_frames,
                    "transition": {"kind": shot.transition_kind, "frames": shot.transition_frames},
                    "revision": shot.revision,
                }
            )
        out_segments.append(
            {
                "id": str(seg.pk),
                "position": seg.position,
                "title": seg.title,
                "owner": {"id": seg.owner.pk, "username": seg.owner.username} if seg.owner else None,
                "status": seg.status,
                "start_frame": total,
                "duration_frames": seg_frames,
                "target_frames": seg.target_frames,
                "shots": shots,
            }
        )
        total += seg_frames
    clips = AudioClip.objects.filter(timeline=timeline).select_related("media")
    tracks: dict[str, list] = {"music": [], "narration": [], "effects": []}
    for clip in clips:
        tracks[clip.track].append(
            {
                "id": str(clip.pk),
                "track": clip.track,
                "media": media_payload(clip.media, request=request),
                "start_frame": clip.start_frame,
                "volume": clip.volume,
                "fade_in_frames": clip.fade_in_frames,
                "fade_out_frames": clip.fade_out_frames,
                "text": clip.text,
            }
        )
    markers = [
        {"id": str(m.pk), "frame": m.frame, "label": m.label} for m in Marker.objects.filter(timeline=timeline).order_by("frame")
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
