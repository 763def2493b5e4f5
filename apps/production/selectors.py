"""Reads for segments, shots, takes and comments, each in a fixed number of queries."""

from __future__ import annotations

import uuid

from django.db.models import Count, Prefetch, Q

from apps.core.errors import NotFound
from apps.projects.access import Access, project_access

from .models import Comment, Segment, Shot, Take


def _uuid(value, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"No such {what}.")


def segment_get(*, user, segment_id) -> tuple[Access, Segment]:
    segment = Segment.objects.select_related("owner").filter(pk=_uuid(segment_id, "segment")).first()
    if segment is None:
        raise NotFound("No such segment.")
    access = project_access(user=user, project_id=segment.project_id)
    segment.project = access.project
    return access, segment


def shot_get(*, user, shot_id) -> tuple[Access, Shot]:
    shot = Shot.objects.select_related("segment", "segment__owner").filter(pk=_uuid(shot_id, "shot")).first()
    if shot is None:
        raise NotFound("No such shot.")
    access = project_access(user=user, project_id=shot.segment.project_id)
    shot.segment.project = access.project
    return access, shot


def take_get(*, user, take_id) -> tuple[Access, Take]:
    take = (
        Take.objects.select_related("shot", "shot__segment", "shot__segment__owner", "media", "author", "reviewed_by")
        .annotate(comment_count=Count("comments"))
        .filter(pk=_uuid(take_id, "take"))
        .first()
    )
    if take is None:
        raise NotFound("No such take.")
    access = project_access(user=user, project_id=take.shot.segment.project_id)
    take.shot.segment.project = access.project
    return access, take


def segment_list(*, access: Access):
    return (
        Segment.objects.filter(project=access.project)
        .select_related("owner")
        .annotate(
            shot_count=Count("shots", distinct=True),
            approved_count=Count("shots__takes", filter=Q(shots__takes__review_state="approved"), distinct=True),
            submitted_count=Count("shots__takes", filter=Q(shots__takes__review_state="submitted"), distinct=True),
        )
        .order_by("position")
    )


def shot_list(*, segment: Segment):
    picks = Take.objects.filter(review_state="approved").select_related("media")
    return (
        Shot.objects.filter(segment=segment)
        .annotate(take_count=Count("takes", distinct=True))
        .prefetch_related("references", Prefetch("takes", queryset=picks, to_attr="picks"))
        .order_by("position")
    )


def take_list(*, shot: Shot):
    return (
        Take.objects.filter(shot=shot)
        .select_related("media", "author", "reviewed_by")
        .annotate(comment_count=Count("comments"))
        .order_by("-number")
    )


def comment_list(*, take: Take):
    return Comment.objects.filter(take=take).select_related("author").order_by("created_at")


def review_queue(*, access: Access):
    """Submitted takes waiting for the director, oldest first."""
    return (
        Take.objects.filter(shot__segment__project=access.project, review_state="submitted", status="ready")
        .select_related("media", "author", "shot", "shot__segment")
        .annotate(comment_count=Count("comments"))
        .order_by("updated_at")
    )
