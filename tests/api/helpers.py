"""Small factories for the API tests: ready takes without real media, URLs, error checks."""

from __future__ import annotations

from apps.media.models import MediaFile, MediaKind, MediaStatus
from apps.production.models import ReviewState, Shot, Take, TakeSource, TakeStatus
from apps.timeline.models import Timeline

API = "/api/v1"


def make_media(project, *, owner=None, duration_seconds: float = 2.0) -> MediaFile:
    """A MediaFile that ingest has 'finished' (no bytes on disk: the API tests never read them)."""
    return MediaFile.objects.create(
        project=project,
        owner=owner,
        storage_key="x",
        original_name="clip.mp4",
        content_type="video/mp4",
        kind=MediaKind.VIDEO,
        status=MediaStatus.READY,
        duration_seconds=duration_seconds,
        fps=24,
        width=320,
        height=240,
    )


def make_take(
    shot: Shot,
    *,
    author=None,
    status: str = TakeStatus.READY,
    review_state: str = ReviewState.DRAFT,
    duration_seconds: float = 2.0,
    number: int | None = None,
) -> Take:
    project = shot.segment.project
    if number is None:
        number = Take.objects.filter(shot=shot).count() + 1
    return Take.objects.create(
        shot=shot,
        number=number,
        media=make_media(project, owner=author, duration_seconds=duration_seconds),
        source=TakeSource.UPLOAD,
        author=author,
        status=status,
        review_state=review_state,
    )


def timeline_revision(project) -> int:
    return Timeline.objects.get(project=project).revision


def assert_error(response, status: int, code: str | None = None) -> dict:
    """A refusal: the expected status and the contract's error body ``{code, detail, fields?}``."""
    body = response.json()
    assert response.status_code == status, (response.status_code, body)
    assert isinstance(body, dict) and "code" in body and "detail" in body, body
    assert isinstance(body["detail"], str) and body["detail"], body
    if code is not None:
        assert body["code"] == code, body
    return body


def make_completed_upload(project, *, owner):
    """An upload whose bytes arrived and were accepted (its MediaFile already ingested), owned
    by ``owner``: what ``POST /shots/{id}/takes/ {upload}`` consumes."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.media.models import Upload, UploadMethod, UploadStatus

    media = make_media(None, owner=owner)
    return Upload.objects.create(
        owner=owner,
        filename="clip.mp4",
        size=1024,
        content_type="video/mp4",
        method=UploadMethod.LOCAL,
        storage_key="x",
        status=UploadStatus.COMPLETE,
        received_bytes=1024,
        media=media,
        expires_at=timezone.now() + timedelta(hours=1),
    )
