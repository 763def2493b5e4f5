"""Create an export (who may, what it covers, its plan), claim it for an attempt, cancel it."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.production.models import Segment
from apps.projects.access import Access
from apps.projects.events import record_event
from apps.projects.models import Role

from .. import planner
from ..models import ACTIVE_STATES, Export, ExportKind, ExportSegment, ExportState
from .state import MAX_ATTEMPTS, enqueue_start_on_commit, export_event_data, publish_started

# ============================================================================================
# Create
# ============================================================================================


def _resolve_segment(access: Access, segment):
    if segment is None or isinstance(segment, Segment):
        if segment is not None and segment.project_id != access.project.pk:
            raise ValidationError("That segment is not in this project.", fields={"segment": ["Unknown segment."]})
        return segment
    try:
        pk = uuid.UUID(str(segment))
    except (TypeError, ValueError):
        raise ValidationError("segment must be the id of a segment of this project.", fields={"segment": ["Not a valid id."]})
    found = Segment.objects.filter(pk=pk, project=access.project).first()
    if found is None:
        raise ValidationError("That segment is not in this project.", fields={"segment": ["Unknown segment."]})
    return found


def _check_export_role(access: Access, kind: str, segment) -> None:
    if access.role in (Role.DIRECTOR, Role.PRODUCER):
        return
    if access.role == Role.ARTIST:
        if kind != ExportKind.SEGMENT:
            raise PermissionDenied("Artists can export their own segment; only the director or a producer can export the film.")
        if segment is not None and not access.owns(segment):
            raise PermissionDenied("Artists can export only a segment they own.")
        return
    raise PermissionDenied("Only the director, a producer or the segment's artist can export.")


def export_create(
    *,
    access: Access,
    kind: str,
    segment: Any = None,
    include_unapproved: bool = False,
    credits_roll: bool = False,
    public_url: str = "",
) -> Export:
    """Queue an export of the final cut (``kind="final"``) or of one segment.

    Director and producers export anything; an artist exports only a segment they own;
    viewers cannot export. The plan is taken now, so the export renders the edit as it is.
    ``public_url`` is the address the export was asked from (``https://host/``): the base
    of the media URLs in its .otio and EDL unless ``MONTAGE_PUBLIC_URL`` is set."""
    if kind not in ExportKind.values:
        raise ValidationError("kind must be final or segment.", fields={"kind": ["Use final or segment."]})
    if access.role == Role.VIEWER:
        raise PermissionDenied("Viewers cannot export.")
    if kind == ExportKind.FINAL and access.role == Role.ARTIST:
        _check_export_role(access, kind, None)
    segment = _resolve_segment(access, segment)
    if kind == ExportKind.SEGMENT and segment is None:
        raise ValidationError("A segment export needs the segment.", fields={"segment": ["This field is required."]})
    if kind == ExportKind.FINAL and segment is not None:
        raise ValidationError("A final export covers the whole film; leave out segment.", fields={"segment": ["Not allowed."]})
    _check_export_role(access, kind, segment)
    return export_create_for(
        project=access.project,
        kind=kind,
        segment=segment,
        include_unapproved=include_unapproved,
        credits_roll=credits_roll,
        actor=access.user,
        public_url=public_url,
    )


def export_create_for(
    *,
    project,
    kind: str,
    segment=None,
    include_unapproved: bool = False,
    credits_roll: bool = False,
    actor=None,
    enqueue: bool = True,
    public_url: str = "",
) -> Export:
    """Create the export row with its plan (no permission check: callers have done it, or
    are the operator's CLI) and, with ``enqueue``, start it on the render queue on commit."""
    plan = planner.build_plan(project=project, include_unapproved=include_unapproved, segment=segment)
    if plan.frames <= 0:
        what = f"Segment {segment.position + 1}" if segment is not None else "The timeline"
        raise ValidationError(f"Nothing to export: {what} has no shots yet.", code="nothing_to_export")
    with transaction.atomic():
        export = Export.objects.create(
            project=project,
            kind=kind,
            segment=segment,
            options={"include_unapproved": bool(include_unapproved), "credits_roll": bool(credits_roll)},
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            plan=planner.plan_to_dict(plan),
            segments_total=len(plan.segments),
            shots_total=sum(len(s.shots) for s in plan.segments),
            frames=plan.frames,
            public_url=_clean_public_url(public_url),
        )
        record_event(project=project, actor=actor, type="export.created", data=export_event_data(export))
        if enqueue:
            enqueue_start_on_commit(export.pk)
    return export


def _clean_public_url(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) address, or "" (nothing else is kept)."""
    try:
        parts = urlsplit(str(url or "").strip())
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc or len(parts.netloc) > 255:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


# ============================================================================================
# Start: claim the export for an attempt; the caller fans out one task per segment
# ============================================================================================


def export_start(*, export_id) -> tuple[int, list[str]] | None:
    """Claim a queued export for a new attempt. Returns ``(attempt, segment ids)`` to render,
    or None when there is nothing to do (gone, cancelled, already running: a duplicate)."""
    now = timezone.now()
    with transaction.atomic():
        claimed = Export.objects.filter(pk=export_id, state=ExportState.QUEUED, attempts__lt=MAX_ATTEMPTS).update(
            state=ExportState.RUNNING,
            attempts=F("attempts") + 1,
            started_at=now,
            heartbeat_at=now,
            progress=0,
            segments_done=0,
            shots_done=0,
            final_started_at=None,
            error="",
        )
        if not claimed:
            return None
        export = Export.objects.get(pk=export_id)
        attempt = export.attempts
        plan = planner.plan_from_dict(export.plan)
        ExportSegment.objects.filter(export=export).delete()
        ExportSegment.objects.bulk_create(
            [ExportSegment(export=export, segment_id=seg.id, position=i, attempt=attempt) for i, seg in enumerate(plan.segments)]
        )
    publish_started(export)
    return attempt, [seg.id for seg in plan.segments]


# ============================================================================================
# Cancel
# ============================================================================================


def _may_cancel(access: Access, export: Export) -> bool:
    return access.is_manager or (export.created_by_id is not None and export.created_by_id == access.user.pk)


def export_cancel(*, access: Access, export: Export) -> Export:
    """Stop an export: it ends ``cancelled`` now; running tasks notice between shots and stop."""
    if not _may_cancel(access, export):
        raise PermissionDenied("Only whoever started this export, the director or a producer can cancel it.")
    with transaction.atomic():
        locked = Export.objects.select_for_update().get(pk=export.pk)
        if locked.state == ExportState.CANCELLED:
            return locked
        if locked.state not in ACTIVE_STATES:
            raise Conflict(f"This export already {'succeeded' if locked.state == ExportState.SUCCEEDED else 'failed'}.")
        locked.state = ExportState.CANCELLED
        locked.finished_at = timezone.now()
        locked.heartbeat_at = None
        locked.save(update_fields=["state", "finished_at", "heartbeat_at", "updated_at"])
        record_event(project=access.project, actor=access.user, type="export.cancelled", data=export_event_data(locked))
    return locked
