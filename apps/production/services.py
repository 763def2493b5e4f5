"""Writes for segments, shots, takes and comments.

Every function takes a checked ``Access`` (user + membership of the project) and
keyword-only arguments, enforces the roles table, and publishes its event after commit.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.projects.access import Access
from apps.projects.events import record_event
from apps.projects.models import Membership, Role

from .models import (
    Comment,
    ReviewState,
    Segment,
    SegmentStatus,
    Shot,
    Take,
    TakeSource,
    TakeStatus,
    TransitionKind,
)

MAX_SHOT_FRAMES = 24 * 60 * 60  # an hour at 24 fps is far beyond any shot


def _bump_timeline(project) -> int:
    from apps.timeline.services import timeline_touch

    return timeline_touch(project=project)


def _check_revision(current: int, given: int | None, *, what: str, state: dict | None = None) -> None:
    if given is not None and int(given) != current:
        raise Conflict(
            f"This {what} was changed by someone else (revision {current}, you sent {given}); reload and try again.",
            data={"current": state} if state is not None else None,
        )


def _place(items: list, item, position: int | None) -> list:
    """Insert ``item`` at ``position`` (clamped) in ``items`` (without it)."""
    items = [i for i in items if i.pk != item.pk]
    position = len(items) if position is None else max(0, min(int(position), len(items)))
    items.insert(position, item)
    return items


def _renumber(model, items: list) -> None:
    """Write positions 0..n-1. Positions are not unique in the database, so this is one
    bulk update inside the caller's transaction, with the parent row locked."""
    changed = []
    for index, obj in enumerate(items):
        if obj.position != index:
            obj.position = index
            changed.append(obj)
    if changed:
        model.objects.bulk_update(changed, ["position"])


def _lock_project(project) -> None:
    """Writes that change positions or the edit take this lock first, then the timeline,
    segment and shot rows: one order everywhere, so they queue instead of deadlocking."""
    from apps.projects.models import Project

    Project.objects.select_for_update().filter(pk=project.pk).first()


# --- segments ------------------------------------------------------------------------------


def segment_data(segment: Segment) -> dict[str, Any]:
    owner = segment.owner
    return {
        "id": str(segment.pk),
        "position": segment.position,
        "title": segment.title,
        "status": segment.status,
        "owner": {"id": owner.pk, "username": owner.username} if owner else None,
        "revision": segment.revision,
    }


def segment_create(
    *, access: Access, title: str, synopsis: str = "", target_frames: int | None = None, position: int | None = None
) -> Segment:
    access.require(Role.DIRECTOR, action="create segments")
    title = (title or "").strip()
    if not title:
        raise ValidationError("A segment needs a title.", fields={"title": ["This field is required."]})
    with transaction.atomic():
        _lock_project(access.project)
        segments = list(Segment.objects.filter(project=access.project).order_by("position"))
        segment = Segment(project=access.project, title=title, synopsis=synopsis or "", target_frames=target_frames, position=len(segments))
        segment.save()
        _renumber(Segment, _place(segments, segment, position))
        revision = _bump_timeline(access.project)
        record_event(project=access.project, actor=access.user, type="segment.created", data=segment_data(segment), revision=revision)
    return segment


def segment_update(*, access: Access, segment: Segment, revision: int | None = None, **fields: Any) -> Segment:
    director_only = {"status", "target_frames", "position"}
    if access.is_director:
        pass
    elif access.role == Role.ARTIST and access.owns(segment) and not (set(fields) & director_only):
        pass
    else:
        raise PermissionDenied("Only the director (or the segment's artist, for its title and synopsis) can change a segment.")
    with transaction.atomic():
        _lock_project(access.project)
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        _check_revision(segment.revision, revision, what="segment", state=segment_data(segment))
        if "title" in fields and not (fields["title"] or "").strip():
            raise ValidationError("A segment needs a title.", fields={"title": ["This field may not be blank."]})
        if "status" in fields:
            status = fields.pop("status")
            if status == SegmentStatus.LOCKED:
                segment.status = SegmentStatus.LOCKED
            elif segment.status == SegmentStatus.LOCKED:
                segment.status = SegmentStatus.OPEN if segment.owner_id is None else SegmentStatus.CLAIMED
                _segment_refresh_status(segment, save=False)
            elif status != segment.status:
                raise ValidationError(
                    "Status follows the work (claims, submissions, approvals); the director can only lock or unlock a segment.",
                    fields={"status": ["Only 'locked' can be set, or a locked segment unlocked."]},
                )
        position = fields.pop("position", None)
        for key, value in fields.items():
            setattr(segment, key, value)
        segment.revision = F("revision") + 1
        segment.save()
        segment.refresh_from_db()
        timeline_revision = None
        if position is not None:
            segments = list(Segment.objects.filter(project=access.project).order_by("position"))
            _renumber(Segment, _place(segments, segment, position))
            segment.refresh_from_db()
            timeline_revision = _bump_timeline(access.project)
        record_event(project=access.project, actor=access.user, type="segment.updated", data=segment_data(segment), revision=timeline_revision)
    return segment


def segment_delete(*, access: Access, segment: Segment) -> None:
    access.require(Role.DIRECTOR, action="delete segments")
    with transaction.atomic():
        _lock_project(access.project)
        if Take.objects.filter(shot__segment=segment, review_state=ReviewState.APPROVED).exists():
            raise Conflict("This segment has approved takes; lock it or move its shots instead of deleting it.", code="segment_has_picks")
        data = {"id": str(segment.pk), "title": segment.title}
        segment.delete()
        _renumber(Segment, list(Segment.objects.filter(project=access.project).order_by("position")))
        revision = _bump_timeline(access.project)
        record_event(project=access.project, actor=access.user, type="segment.deleted", data=data, revision=revision)


def segment_claim(*, access: Access, segment: Segment) -> Segment:
    access.require(Role.ARTIST, action="claim segments")
    now = timezone.now()
    with transaction.atomic():
        # One conditional UPDATE decides the race: of two artists claiming at once, the
        # database lets exactly one row match "owner is null and status is open".
        won = Segment.objects.filter(pk=segment.pk, owner__isnull=True, status=SegmentStatus.OPEN).update(
            owner=access.user, claimed_at=now, status=SegmentStatus.CLAIMED, revision=F("revision") + 1
        )
        segment = Segment.objects.select_related("owner").get(pk=segment.pk)
        if not won:
            if segment.status == SegmentStatus.LOCKED:
                raise Conflict("This segment is locked by the director.", code="segment_locked")
            if segment.owner_id == access.user.pk:
                return segment  # already yours: claiming twice is harmless
            who = segment.owner.username if segment.owner else "someone"
            raise Conflict(f"This segment is already claimed by {who}.", code="segment_already_claimed", data={"current": segment_data(segment)})
        record_event(project=access.project, actor=access.user, type="segment.claimed", data=segment_data(segment))
    return segment


def segment_release(*, access: Access, segment: Segment) -> Segment:
    if not (access.is_director or (access.role == Role.ARTIST and access.owns(segment))):
        raise PermissionDenied("Only the artist who owns this segment or the director can release it.")
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        if segment.owner_id is None:
            return segment
        if segment.status == SegmentStatus.LOCKED:
            raise Conflict("This segment is locked by the director.", code="segment_locked")
        segment.owner = None
        segment.claimed_at = None
        segment.status = SegmentStatus.OPEN
        segment.revision = F("revision") + 1
        segment.save()
        segment.refresh_from_db()
        record_event(project=access.project, actor=access.user, type="segment.released", data=segment_data(segment))
    return segment


def segment_assign(*, access: Access, segment: Segment, username: str) -> Segment:
    access.require(Role.DIRECTOR, action="assign segments")
    membership = (
        Membership.objects.select_related("user").filter(project=access.project, user__username__iexact=(username or "").strip()).first()
    )
    if membership is None:
        raise ValidationError(f"{username!r} is not a member of this project.", fields={"username": ["Not a member."]})
    if membership.role not in (Role.ARTIST, Role.DIRECTOR):
        raise ValidationError(f"{membership.user.username} is a {membership.role}; only artists and directors can own segments.", fields={"username": ["Cannot own segments."]})
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        if segment.status == SegmentStatus.LOCKED:
            raise Conflict("This segment is locked; unlock it before assigning it.", code="segment_locked")
        segment.owner = membership.user
        segment.claimed_at = timezone.now()
        if segment.status == SegmentStatus.OPEN:
            segment.status = SegmentStatus.CLAIMED
        segment.revision = F("revision") + 1
        segment.save()
        segment.refresh_from_db()
        record_event(project=access.project, actor=access.user, type="segment.assigned", data=segment_data(segment))
    return segment


def _segment_refresh_status(segment: Segment, *, save: bool = True) -> None:
    """Status follows the work: approved when every shot has a pick, in review while a take
    waits for the director, claimed otherwise. Open and locked are left alone."""
    if segment.status in (SegmentStatus.OPEN, SegmentStatus.LOCKED) or segment.owner_id is None:
        return
    shots = Shot.objects.filter(segment=segment)
    total = shots.count()
    picked = Take.objects.filter(shot__segment=segment, review_state=ReviewState.APPROVED).values("shot").distinct().count()
    waiting = Take.objects.filter(shot__segment=segment, review_state=ReviewState.SUBMITTED).exists()
    if total and picked == total:
        status = SegmentStatus.APPROVED
    elif waiting:
        status = SegmentStatus.IN_REVIEW
    else:
        status = SegmentStatus.CLAIMED
    if status != segment.status:
        segment.status = status
        if save:
            Segment.objects.filter(pk=segment.pk).update(status=status, revision=F("revision") + 1)
            segment.refresh_from_db()
            record_event(project=segment.project, actor=None, type="segment.updated", data=segment_data(segment))


def _require_unlocked(segment: Segment) -> None:
    if segment.status == SegmentStatus.LOCKED:
        raise Conflict("This segment is locked by the director.", code="segment_locked")


# --- shots ---------------------------------------------------------------------------------


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


# --- takes ---------------------------------------------------------------------------------


def take_data(take: Take) -> dict[str, Any]:
    return {
        "id": str(take.pk),
        "shot": str(take.shot_id),
        "number": take.number,
        "status": take.status,
        "review_state": take.review_state,
        "error": take.error,
    }


def _next_take_number(shot: Shot) -> int:
    # Lock the shot so two uploads at once do not take the same number.
    Shot.objects.select_for_update().filter(pk=shot.pk).first()
    return (Take.objects.filter(shot=shot).aggregate(n=Max("number"))["n"] or 0) + 1


def take_create_from_upload(*, access: Access, shot: Shot, upload_id: str) -> Take:
    from apps.media.services import upload_consume

    access.require_segment_editor(shot.segment, action="add takes to this shot")
    _require_unlocked(shot.segment)
    with transaction.atomic():
        media = upload_consume(actor=access.user, upload_id=upload_id, project=access.project)
        take = Take.objects.create(
            shot=shot,
            number=_next_take_number(shot),
            media=media,
            source=TakeSource.UPLOAD,
            author=access.user,
            status=TakeStatus.PROCESSING,
            provenance={"source": "upload", "filename": media.original_name, "uploaded_by": access.user.get_username()},
        )
        record_event(project=access.project, actor=access.user, type="take.created", data=take_data(take))
    # A media file ingested before this take existed (or instantly, in eager mode) still
    # settles the take.
    take.refresh_from_db()
    if take.status == TakeStatus.PROCESSING:
        media.refresh_from_db()
        if media.status in ("ready", "failed"):
            take_media_finished(media=media)
            take.refresh_from_db()
    return take


def take_media_finished(*, media) -> None:
    """Called by ingest when a media file ends ready or failed: settle the takes that use it."""
    takes = list(Take.objects.filter(media=media, status=TakeStatus.PROCESSING).select_related("shot__segment__project"))
    for take in takes:
        # A take is normally a video clip; generated narration, sound and music takes are
        # audio, and text-to-image takes are stills (used as input images).
        kind = (take.provenance or {}).get("kind", "")
        expected = "audio" if kind in ("speech", "sound_effect", "music") else "image" if kind == "text_to_image" else "video"
        if media.status == "ready" and media.kind == expected:
            status, error = TakeStatus.READY, ""
        elif media.status == "ready":
            status = TakeStatus.FAILED
            found = {"image": "an image", "audio": "audio only", "video": "a video"}.get(media.kind, "not playable media")
            error = f"This file is {found}; this take needs {'a video clip' if expected == 'video' else 'an ' + expected if expected == 'image' else 'audio'}."
        else:
            status, error = TakeStatus.FAILED, media.error or "The file could not be processed."
        with transaction.atomic():
            updated = Take.objects.filter(pk=take.pk, status=TakeStatus.PROCESSING).update(status=status, error=error)
            if updated:
                take.status, take.error = status, error
                event = "take.ready" if status == TakeStatus.READY else "take.failed"
                record_event(project=take.shot.segment.project, actor=None, type=event, data=take_data(take))


def _editable_take(access: Access, take: Take, *, action: str) -> None:
    access.require_segment_editor(take.shot.segment, action=action)


def take_submit(*, access: Access, take: Take) -> Take:
    _editable_take(access, take, action="submit takes for review")
    _require_unlocked(take.shot.segment)
    with transaction.atomic():
        take = Take.objects.select_for_update().select_related("shot__segment").get(pk=take.pk)
        if take.status != TakeStatus.READY:
            raise Conflict("Only a ready take can be submitted (this one is still processing or failed).", code="take_not_ready")
        if take.review_state == ReviewState.APPROVED:
            raise Conflict("This take is already approved.", code="already_approved")
        if take.review_state != ReviewState.SUBMITTED:
            take.review_state = ReviewState.SUBMITTED
            take.save(update_fields=["review_state", "updated_at"])
            record_event(project=access.project, actor=access.user, type="take.submitted", data=take_data(take))
            _segment_refresh_status(take.shot.segment)
    return take


def take_approve(*, access: Access, take: Take) -> Take:
    access.require(Role.DIRECTOR, action="approve takes")
    try:
        with transaction.atomic():
            # Lock order for every write that changes the edit: project, timeline, segment,
            # shot. Approvals of one shot queue on the shot row; the partial unique index
            # take_one_pick_per_shot is the last line if anything slips past.
            _lock_project(access.project)
            shot = Shot.objects.select_for_update().select_related("segment").get(pk=take.shot_id)
            take = Take.objects.select_for_update().get(pk=take.pk)
            if take.status != TakeStatus.READY:
                raise Conflict("Only a ready take can be approved.", code="take_not_ready")
            if take.review_state == ReviewState.APPROVED:
                return take
            previous = list(Take.objects.filter(shot=shot, review_state=ReviewState.APPROVED).exclude(pk=take.pk))
            for old in previous:
                old.review_state = ReviewState.SUBMITTED
                old.save(update_fields=["review_state", "updated_at"])
            take.review_state = ReviewState.APPROVED
            take.reviewed_by = access.user
            take.reviewed_at = timezone.now()
            take.save(update_fields=["review_state", "reviewed_by", "reviewed_at", "updated_at"])
            data = take_data(take) | {"replaced": [str(t.pk) for t in previous]}
            revision = _bump_timeline(access.project)
            record_event(project=access.project, actor=access.user, type="take.approved", data=data, revision=revision)
            _segment_refresh_status(shot.segment)
    except IntegrityError:
        raise Conflict("Another take of this shot was approved at the same moment; reload to see the pick.")
    return take


def take_request_changes(*, access: Access, take: Take, comment: str, frame: int | None = None) -> Take:
    access.require(Role.DIRECTOR, action="request changes")
    if not (comment or "").strip():
        raise ValidationError("Say what should change.", fields={"comment": ["This field is required."]})
    with transaction.atomic():
        _lock_project(access.project)
        take = Take.objects.select_for_update().select_related("shot__segment").get(pk=take.pk)
        was_pick = take.review_state == ReviewState.APPROVED
        take.review_state = ReviewState.CHANGES_REQUESTED
        take.reviewed_by = access.user
        take.reviewed_at = timezone.now()
        take.save(update_fields=["review_state", "reviewed_by", "reviewed_at", "updated_at"])
        note = comment_create(access=access, take=take, body=comment, frame=frame)
        revision = _bump_timeline(access.project) if was_pick else None
        record_event(
            project=access.project, actor=access.user, type="take.changes_requested",
            data=take_data(take) | {"comment": str(note.pk), "body": note.body}, revision=revision,
        )
        _segment_refresh_status(take.shot.segment)
    return take


# --- comments ------------------------------------------------------------------------------


def comment_create(*, access: Access, take: Take, body: str, frame: int | None = None, parent: str | None = None) -> Comment:
    body = (body or "").strip()
    if not body:
        raise ValidationError("A comment needs some text.", fields={"body": ["This field is required."]})
    if len(body) > 10_000:
        raise ValidationError("A comment is at most 10,000 characters.", fields={"body": ["Too long."]})
    if frame is not None and frame < 0:
        raise ValidationError("frame must be 0 or more.", fields={"frame": ["Must be ≥ 0."]})
    parent_obj = None
    if parent:
        parent_obj = Comment.objects.filter(pk=parent, take=take).first()
        if parent_obj is None:
            raise ValidationError("The comment you reply to is not on this take.", fields={"parent": ["Unknown comment."]})
    with transaction.atomic():
        comment = Comment.objects.create(take=take, author=access.user, body=body, frame=frame, parent=parent_obj)
        record_event(
            project=access.project, actor=access.user, type="comment.created",
            data={"id": str(comment.pk), "take": str(take.pk), "frame": frame, "body": body[:200],
                  "parent": str(parent_obj.pk) if parent_obj else None},
        )
    return comment


__all__ = [
    "segment_create", "segment_update", "segment_delete", "segment_claim", "segment_release", "segment_assign",
    "shot_create", "shot_update", "shot_delete", "take_create_from_upload", "take_media_finished", "take_submit",
    "take_approve", "take_request_changes", "comment_create", "TransitionKind",
]
