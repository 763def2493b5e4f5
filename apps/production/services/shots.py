"""Shots: create, edit, delete (ordering is a timeline edit)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F

from apps.core.errors import ValidationError
from apps.projects.access import Access
from apps.projects.events import record_event

from ..models import Segment, Shot
from .common import (
    MAX_SHOT_FRAMES,
    _bump_timeline,
    _check_revision,
    _lock_project,
    _place,
    _renumber,
    _require_unlocked,
    _segment_refresh_status,
)


def shot_data(shot: Shot) -> dict[str, Any]:
    return {
        "id": str(shot.pk),
        "segment": str(shot.segment_id),
        "position": shot.position,
        "title": shot.title,
        "prompt": shot.prompt,
        "duration_frames": shot.duration_frames,
        "revision": shot.revision,
    }


def _check_duration(value: Any) -> int:
    try:
        frames = int(value)
    except (TypeError, ValueError):
        raise ValidationError("duration_frames must be a whole number of frames.", fields={"duration_frames": ["Not an integer."]})
    if not (1 <= frames <= MAX_SHOT_FRAMES):
        raise ValidationError(f"duration_frames must be between 1 and {MAX_SHOT_FRAMES}.", fields={"duration_frames": ["Out of range."]})
    return frames


def _resolve_references(access: Access, refs: list[str] | None):
    from apps.projects.models import Reference

    if not refs:
        return []
    tags = [str(r).lstrip("@").lower() for r in refs]
    found = {r.tag: r for r in Reference.objects.filter(project=access.project, tag__in=tags)}
    missing = [t for t in tags if t not in found]
    if missing:
        raise ValidationError(f"Unknown references: {', '.join('@' + t for t in missing)}.", fields={"references": ["Unknown tag."]})
    return list(found.values())


def shot_create(
    *,
    access: Access,
    segment: Segment,
    duration_frames: int,
    title: str = "",
    prompt: str = "",
    description: str = "",
    negative_prompt: str = "",
    camera_notes: str = "",
    position: int | None = None,
    references: list[str] | None = None,
) -> Shot:
    access.require_segment_editor(segment, action="add shots to this segment")
    _require_unlocked(segment)
    frames = _check_duration(duration_frames)
    refs = _resolve_references(access, references)
    with transaction.atomic():
        _lock_project(access.project)
        Segment.objects.select_for_update().filter(pk=segment.pk).first()
        shots = list(Shot.objects.filter(segment=segment).order_by("position"))
        shot = Shot.objects.create(
            segment=segment, position=len(shots), duration_frames=frames, title=title or "", prompt=prompt or "",
            description=description or "", negative_prompt=negative_prompt or "", camera_notes=camera_notes or "",
        )
        if refs:
            shot.references.set(refs)
        _renumber(Shot, _place(shots, shot, position))
        shot.refresh_from_db()
        _segment_refresh_status(segment)
        revision = _bump_timeline(access.project)
        record_event(project=access.project, actor=access.user, type="shot.created", data=shot_data(shot), revision=revision)
    return shot


_SHOT_FIELDS = {"title", "prompt", "description", "negative_prompt", "camera_notes", "duration_frames"}


def shot_update(*, access: Access, shot: Shot, revision: int | None, references: list[str] | None = None, **fields: Any) -> Shot:
    access.require_segment_editor(shot.segment, action="edit this shot")
    _require_unlocked(shot.segment)
    if revision is None:
        raise ValidationError("Send the shot's revision with every change.", fields={"revision": ["This field is required."]})
    unknown = set(fields) - _SHOT_FIELDS
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if "duration_frames" in fields:
        fields["duration_frames"] = _check_duration(fields["duration_frames"])
    refs = _resolve_references(access, references) if references is not None else None
    with transaction.atomic():
        if "duration_frames" in fields:
            _lock_project(access.project)  # it changes the timeline: same lock order as every edit
        current = Shot.objects.select_for_update().get(pk=shot.pk)
        _check_revision(current.revision, revision, what="shot", state=shot_data(current))
        for key, value in fields.items():
            setattr(current, key, value if value is not None else "")
        current.revision = F("revision") + 1
        current.save()
        current.refresh_from_db()
        if refs is not None:
            current.references.set(refs)
        tl_rev = _bump_timeline(access.project) if "duration_frames" in fields else None
        record_event(project=access.project, actor=access.user, type="shot.updated", data=shot_data(current), revision=tl_rev)
    return current


def shot_delete(*, access: Access, shot: Shot) -> None:
    access.require_segment_editor(shot.segment, action="delete this shot")
    _require_unlocked(shot.segment)
    with transaction.atomic():
        _lock_project(access.project)
        segment = Segment.objects.select_for_update().get(pk=shot.segment_id)
        data = {"id": str(shot.pk), "segment": str(segment.pk)}
        shot.delete()
        _renumber(Shot, list(Shot.objects.filter(segment=segment).order_by("position")))
        _segment_refresh_status(segment)
        revision = _bump_timeline(access.project)
        record_event(project=access.project, actor=access.user, type="shot.deleted", data=data, revision=revision)
