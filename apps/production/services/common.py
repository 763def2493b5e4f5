"""What the production services share: locks, positions, revisions, segment status."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from apps.core.errors import Conflict
from apps.core.limits import MAX_SHOT_FRAMES as MAX_SHOT_FRAMES
from apps.projects.events import person, record_event

from ..models import ReviewState, Segment, SegmentStatus, Shot, Take


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


def segment_data(segment: Segment) -> dict[str, Any]:
    owner = segment.owner
    return {
        "id": str(segment.pk),
        "position": segment.position,
        "title": segment.title,
        "status": segment.status,
        "owner": person(owner),
        "revision": segment.revision,
    }


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
