"""Helpers for media tests."""

from __future__ import annotations

from pathlib import Path

from django.core.files.storage import default_storage

from apps.media import services
from apps.media.models import MediaFile

API = "/api/v1"


def stored_media(path: Path, *, owner=None, project=None, content_type: str = "") -> MediaFile:
    """A pending MediaFile holding the bytes of ``path`` (no ingest yet)."""
    return services.media_create_from_file(
        owner=owner, project=project, path=str(path), filename=path.name, content_type=content_type, ingest=False
    )


def ingest(path: Path, **kwargs) -> MediaFile:
    media = stored_media(path, **kwargs)
    services.media_ingest(media_id=media.pk)
    media.refresh_from_db()
    return media


def exists(key: str) -> bool:
    return bool(key) and default_storage.exists(key)


def read(key: str) -> bytes:
    with default_storage.open(key, "rb") as fh:
        return fh.read()


def error(response, status: int, code: str) -> dict:
    body = response.json()
    assert response.status_code == status, (response.status_code, body)
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"], body
    return body
