"""Reads for exports: one export (members of its project only), a project's exports, and the
public payload with artifact URLs."""

from __future__ import annotations

import uuid
from typing import Any

from apps.core.errors import NotFound
from apps.media.selectors import media_url
from apps.projects.access import Access, project_access

from .models import Export, ExportArtifact


def export_get(*, user, export_id: Any) -> tuple[Access, Export]:
    """The export and the caller's access to its project. Non-members get 404, as for every
    other object of a project they cannot see."""
    from apps.core.errors import PermissionDenied

    if user is None or not user.is_authenticated:
        raise PermissionDenied("Sign in first.", code="not_authenticated")
    try:
        pk = uuid.UUID(str(export_id))
    except (TypeError, ValueError):
        raise NotFound("No such export.")
    export = Export.objects.select_related("project", "segment", "created_by").filter(pk=pk).first()
    if export is None:
        raise NotFound("No such export.")
    try:
        access = project_access(user=user, project_id=export.project_id)
    except NotFound:
        raise NotFound("No such export.")
    return access, export


def export_list(*, access: Access, limit: int = 50, state: str | None = None) -> list[Export]:
    qs = Export.objects.filter(project=access.project).select_related("segment", "created_by")
    if state:
        qs = qs.filter(state__in=[s.strip() for s in state.split(",") if s.strip()])
    exports = list(qs.order_by("-created_at")[: max(1, min(limit, 200))])
    artifacts: dict = {}
    for artifact in ExportArtifact.objects.filter(export__in=exports).order_by("created_at"):
        artifacts.setdefault(artifact.export_id, []).append(artifact)
    for export in exports:
        export._artifacts = artifacts.get(export.pk, [])
    return exports


def artifact_payload(artifact: ExportArtifact, *, request=None, project_id=None) -> dict[str, Any]:
    return {
        "kind": artifact.kind,
        "url": media_url(artifact.storage_key, request=request, project_id=project_id),
        "size": artifact.size,
        "filename": artifact.filename,
        "content_type": artifact.content_type,
    }


def export_payload(export: Export, *, request=None) -> dict[str, Any]:
    artifacts = getattr(export, "_artifacts", None)
    if artifacts is None:
        artifacts = list(export.artifacts.order_by("created_at"))
    seg = export.segment
    return {
        "id": str(export.pk),
        "project": str(export.project_id),
        "kind": export.kind,
        "segment": None if seg is None else {"id": str(seg.pk), "position": seg.position, "title": seg.title},
        "state": export.state,
        "progress": export.progress,
        "error": export.error,
        "options": {
            "include_unapproved": export.include_unapproved,
            "credits_roll": export.credits_roll,
        },
        "stats": export.stats or {},
        "frames": export.frames,
        "segments_total": export.segments_total,
        "segments_done": export.segments_done,
        "attempts": export.attempts,
        "created_by": None if export.created_by_id is None else {
            "id": export.created_by_id, "username": export.created_by.get_username() if export.created_by else None,
        },
        "created_at": export.created_at,
        "started_at": export.started_at,
        "finished_at": export.finished_at,
        "artifacts": [artifact_payload(a, request=request, project_id=export.project_id) for a in artifacts],
    }
