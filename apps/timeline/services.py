"""Edits of the timeline. One PATCH = a list of ops applied all together or not at all,
guarded by the timeline revision (a stale revision gets 409 with the current timeline)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F, Q

from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.core.limits import MAX_FRAMES, MAX_POSITION, MAX_TRANSITION_FRAMES, MAX_VOLUME
from apps.projects.access import Access
from apps.projects.events import record_event
from apps.projects.models import Role

from .models import AudioClip, AudioTrack, Marker, Timeline


def timeline_touch(*, project) -> int:
    """Bump the revision of a project's timeline (inside the caller's transaction)."""
    timeline, _ = Timeline.objects.get_or_create(project=project)
    Timeline.objects.filter(pk=timeline.pk).update(revision=F("revision") + 1)
    return Timeline.objects.values_list("revision", flat=True).get(pk=timeline.pk)


def _int(op: dict, key: str, *, minimum: int = 0, maximum: int = MAX_FRAMES, required: bool = True) -> int | None:
    """A whole number in ``[minimum, maximum]`` (frames by default); a refusal names the key."""
    value = op.get(key)
    if value is None:
        if required:
            raise ValidationError(f"Op {op.get('op')!r} needs {key}.", fields={"ops": [f"{key} is required."]})
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{key} must be a whole number of frames.", fields={"ops": [f"{key} must be an integer."]})
    if value < minimum:
        raise ValidationError(f"{key} must be {minimum} or more.", fields={"ops": [f"{key} must be {minimum} or more."]})
    if value > maximum:
        raise ValidationError(f"{key} must be {maximum} or less.", fields={"ops": [f"{key} must be {maximum} or less."]})
    return value


def _float(op: dict, key: str, default: float, lo: float, hi: float) -> float:
    value = op.get(key, default)
    try:
        if isinstance(value, bool):
            raise TypeError(key)
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError(f"{key} must be a number.", fields={"ops": [f"{key} must be a number."]})
    if not (lo <= value <= hi):
        raise ValidationError(f"{key} must be between {lo} and {hi}.", fields={"ops": [f"{key} must be between {lo} and {hi}."]})
    return value


class _Editor:
    def __init__(self, access: Access, timeline: Timeline):
        from apps.production.models import Segment

        self.access = access
        self.timeline = timeline
        self.project = access.project
        self.segments = list(Segment.objects.filter(project=self.project).order_by("position"))
        self.by_id = {str(s.pk): s for s in self.segments}
        self.touched_segments: set = set()

    def segment(self, ident) -> Any:
        seg = self.by_id.get(str(ident))
        if seg is None:
            raise ValidationError("That segment is not in this project.", fields={"ops": ["Unknown segment."]})
        return seg

    def shot(self, ident):
        from apps.production.models import Shot

        shot = Shot.objects.select_related("segment").filter(pk=ident, segment__project=self.project).first() if _is_uuid(ident) else None
        if shot is None:
            raise ValidationError("That shot is not in this project.", fields={"ops": ["Unknown shot."]})
        return shot

    def can_edit_shots_of(self, segment, action: str) -> None:
        self.access.require_segment_editor(segment, action=action)
        from apps.production.models import SegmentStatus

        if segment.status == SegmentStatus.LOCKED:
            raise Conflict("This segment is locked by the director.", code="segment_locked")

    # ops ------------------------------------------------------------------------------
    def move_segment(self, op):
        from apps.production.models import Segment
        from apps.production.services import _place, _renumber

        self.access.require(Role.DIRECTOR, action="reorder segments")
        seg = self.segment(op.get("segment"))
        position = _int(op, "position", maximum=MAX_POSITION)
        self.segments = _place(self.segments, seg, position)
        _renumber(Segment, self.segments)

    def move_shot(self, op):
        from apps.production.models import Shot
        from apps.production.services import _place, _renumber

        shot = self.shot(op.get("shot"))
        self.can_edit_shots_of(shot.segment, "reorder its shots")
        position = _int(op, "position", maximum=MAX_POSITION)
        target = shot.segment
        if op.get("segment") not in (None, str(shot.segment_id)):
            target = self.segment(op["segment"])
            self.can_edit_shots_of(target, "move shots into it")
            Shot.objects.filter(pk=shot.pk).update(segment=target)
            _renumber(Shot, list(Shot.objects.filter(segment=shot.segment).exclude(pk=shot.pk).order_by("position")))
            shot.segment = target
        siblings = list(Shot.objects.filter(segment=target).order_by("position"))
        _renumber(Shot, _place(siblings, shot, position))

    def trim(self, op):
        from apps.production.models import Shot, Take

        shot = self.shot(op.get("shot"))
        self.can_edit_shots_of(shot.segment, "trim its shots")
        in_frame = _int(op, "in_frame")
        out_frame = _int(op, "out_frame", minimum=1)
        if out_frame <= in_frame:
            raise ValidationError("out_frame must be after in_frame.", fields={"ops": ["Empty trim."]})
        pick = Take.objects.select_related("media").filter(shot=shot, review_state="approved").first()
        length = pick_length_frames(pick, self.project) if pick else shot.duration_frames
        if length is not None and out_frame > length:
            raise ValidationError(
                f"out_frame {out_frame} is past the end of the {'pick' if pick else 'shot'} ({length} frames).",
                fields={"ops": ["Trim outside the take."]},
            )
        Shot.objects.filter(pk=shot.pk).update(in_frame=in_frame, out_frame=out_frame, revision=F("revision") + 1)

    def transition(self, op):
        from apps.production.models import Shot, TransitionKind

        shot = self.shot(op.get("shot"))
        self.can_edit_shots_of(shot.segment, "change its transitions")
        kind = op.get("kind")
        if kind not in TransitionKind.values:
            raise ValidationError("kind must be cut, crossfade or fade_black.", fields={"ops": ["Unknown transition."]})
        frames = 0 if kind == TransitionKind.CUT else _int(op, "frames", minimum=1, maximum=MAX_TRANSITION_FRAMES)
        Shot.objects.filter(pk=shot.pk).update(transition_kind=kind, transition_frames=frames, revision=F("revision") + 1)

    def _audio_fields(self, op, clip: AudioClip | None):
        from apps.media.models import MediaFile
        from apps.production.models import Take

        fields: dict[str, Any] = {}
        if clip is None or "track" in op:
            if op.get("track") not in AudioTrack.values:
                raise ValidationError("track must be music, narration or effects.", fields={"ops": ["Unknown track."]})
            fields["track"] = op["track"]
        if clip is None or "media" in op:
            ident = op.get("media")
            media = None
            if _is_uuid(ident):
                take = Take.objects.select_related("media").filter(pk=ident, shot__segment__project=self.project).first()
                if take is not None:
                    media = take.media
                else:
                    media = MediaFile.objects.filter(pk=ident, project=self.project).first()
                    if media is None:
                        media = (
                            MediaFile.objects.filter(upload__pk=ident, upload__owner=self.access.user)
                            .filter(Q(upload__project__isnull=True) | Q(upload__project=self.project))
                            .first()
                        )
                        if media is not None and media.project_id is None:
                            MediaFile.objects.filter(pk=media.pk).update(project=self.project)
            if media is None:
                raise ValidationError("media must be an upload or take of this project.", fields={"ops": ["Unknown media."]})
            if media.status == "pending":
                # A file uploaded for the audio tracks is ingested (probe, waveform) once placed;
                # ``timeline_media_finished`` tells the editors when it is ready.
                from apps.media.services import media_enqueue_ingest

                media_enqueue_ingest(media=media)
            fields["media"] = media
        if clip is None or "start_frame" in op:
            fields["start_frame"] = _int(op, "start_frame")
        if clip is None or "volume" in op:
            fields["volume"] = _float(op, "volume", 1.0, 0.0, MAX_VOLUME)
        for key in ("fade_in_frames", "fade_out_frames"):
            if clip is None or key in op:
                fields[key] = _int(op, key, required=False) or 0
        if "text" in op:
            fields["text"] = str(op.get("text") or "")[:20000]
        return fields

    def _audio_editor(self):
        # Score, narration and effects are the film's: the director (and producers) place them.
        self.access.require(Role.DIRECTOR, Role.PRODUCER, action="edit audio tracks")

    def add_audio(self, op):
        self._audio_editor()
        AudioClip.objects.create(timeline=self.timeline, **self._audio_fields(op, None))

    def update_audio(self, op):
        self._audio_editor()
        clip = AudioClip.objects.filter(pk=op.get("clip"), timeline=self.timeline).first() if _is_uuid(op.get("clip")) else None
        if clip is None:
            raise ValidationError("That audio clip is not on this timeline.", fields={"ops": ["Unknown clip."]})
        for key, value in self._audio_fields(op, clip).items():
            setattr(clip, key, value)
        clip.save()

    def remove_audio(self, op):
        self._audio_editor()
        deleted, _ = AudioClip.objects.filter(pk=op.get("clip"), timeline=self.timeline).delete() if _is_uuid(op.get("clip")) else (0, None)
        if not deleted:
            raise ValidationError("That audio clip is not on this timeline.", fields={"ops": ["Unknown clip."]})

    def add_marker(self, op):
        self.access.require(Role.DIRECTOR, Role.PRODUCER, Role.ARTIST, action="add markers")
        label = str(op.get("label") or "").strip()
        if not label:
            raise ValidationError("A marker needs a label.", fields={"ops": ["label is required."]})
        Marker.objects.create(timeline=self.timeline, frame=_int(op, "frame"), label=label[:200], author=self.access.user)

    def remove_marker(self, op):
        marker = Marker.objects.filter(pk=op.get("marker"), timeline=self.timeline).first() if _is_uuid(op.get("marker")) else None
        if marker is None:
            raise ValidationError("That marker is not on this timeline.", fields={"ops": ["Unknown marker."]})
        if not (self.access.is_director or marker.author_id == self.access.user.pk):
            raise PermissionDenied("Only the director or the marker's author can remove it.")
        marker.delete()


OPS = ("move_segment", "move_shot", "trim", "transition", "add_audio", "update_audio", "remove_audio", "add_marker", "remove_marker")


def _is_uuid(value) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
        return True
    except (ValueError, TypeError):
        return False


def pick_length_frames(take, project) -> int | None:
    """Length of a take in project frames (None while unknown)."""
    from apps.timeline.selectors import length_in_frames

    media = take.media if take else None
    return length_in_frames(media.duration_seconds if media else None, project.fps)


def timeline_apply(*, access: Access, revision: Any, ops: list[dict]) -> int:
    if access.role == Role.VIEWER:
        raise PermissionDenied("Viewers cannot edit the timeline.")
    if isinstance(revision, bool) or not isinstance(revision, int):
        raise ValidationError("Send the timeline's revision with every edit.", fields={"revision": ["This field is required."]})
    if not isinstance(ops, list) or not ops:
        raise ValidationError("Send at least one op.", fields={"ops": ["Must be a non-empty list."]})
    if len(ops) > 500:
        raise ValidationError("At most 500 ops in one edit.", fields={"ops": ["Too many ops."]})
    for op in ops:
        if not isinstance(op, dict) or op.get("op") not in OPS:
            raise ValidationError(f"Unknown op; use one of {', '.join(OPS)}.", fields={"ops": ["Unknown op."]})
    from apps.production.services import _lock_project
    from apps.timeline.selectors import timeline_get

    with transaction.atomic():
        _lock_project(access.project)  # same lock order as segment/shot writes
        timeline, _ = Timeline.objects.get_or_create(project=access.project)
        timeline = Timeline.objects.select_for_update().get(pk=timeline.pk)
        if timeline.revision != revision:
            raise Conflict(
                f"The timeline changed (now revision {timeline.revision}, you sent {revision}); reload and re-apply your edit.",
                data={"current": timeline_get(project=access.project)},
            )
        editor = _Editor(access, timeline)
        for op in ops:
            getattr(editor, op["op"])(op)
        Timeline.objects.filter(pk=timeline.pk).update(revision=F("revision") + 1)
        new_revision = timeline.revision + 1
        record_event(
            project=access.project, actor=access.user, type="timeline.changed",
            data={"revision": new_revision, "ops": [o["op"] for o in ops]}, revision=new_revision,
        )
    return new_revision


def timeline_media_finished(*, media) -> None:
    """Called by ingest when a media file ends ready or failed: if clips on a timeline use it,
    tell that project's editors (``timeline.changed``; the revision is unchanged, nobody edited)
    so their pages show its length and waveform, or its error."""
    rows = (
        AudioClip.objects.filter(media=media)
        .values_list("timeline__project_id", "timeline__revision")
        .distinct()
    )
    from apps.core.events import publish_on_commit

    for project_id, revision in rows:
        publish_on_commit(
            project_id, "timeline.changed", {"revision": revision, "media": str(media.pk), "media_status": media.status},
            revision=revision,
        )
