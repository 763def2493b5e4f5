"""Segments: create, edit, order, delete, claim, release, assign."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.projects.access import Access
from apps.projects.events import record_event
from apps.projects.models import Membership, Role

from ..models import ReviewState, Segment, SegmentStatus, Take
from .common import (
    _bump_timeline,
    _check_revision,
    _lock_project,
    _place,
    _renumber,
    _segment_refresh_status,
    segment_data,
)


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
