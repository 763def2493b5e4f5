"""Reads for the media app: uploads and media files, and their API payloads."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import reverse

from apps.core.errors import NotFound

from . import signing, storage
from .models import MediaFile, Upload, UploadMethod, UploadStatus


def parse_uuid(value: Any, *, what: str = "item") -> uuid.UUID:
    """A UUID from a string (or UUID); NotFound for anything else."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise NotFound(f"No such {what}.") from None


# --------------------------------------------------------------------------------------------
# Uploads
# --------------------------------------------------------------------------------------------


def upload_get(*, actor, upload_id: Any) -> Upload:
    """The actor's own upload. Anyone else's (or none) is a 404: uploads are private."""
    pk = parse_uuid(upload_id, what="upload")
    upload = Upload.objects.select_related("media").filter(pk=pk, owner_id=getattr(actor, "pk", None)).first()
    if upload is None:
        raise NotFound("No such upload.")
    return upload


def upload_instructions(upload: Upload) -> dict[str, Any]:
    """How to send the bytes: ``{method, url, headers, parts?, part_size?}``. S3 URLs are
    presigned here (locally, no network call), valid until the upload expires."""
    from django.utils import timezone

    expires = max(60, int((upload.expires_at - timezone.now()).total_seconds()))
    expires = min(expires, int(settings.MONTAGE_UPLOAD_EXPIRES_SECONDS), 7 * 24 * 3600)
    if upload.method == UploadMethod.LOCAL:
        return {
            "method": "PUT",
            "url": reverse("media-upload-data", args=[upload.pk]),
            "headers": {"Content-Type": upload.content_type},
        }
    if upload.method == UploadMethod.S3:
        return {
            "method": "PUT",
            "url": storage.s3_presign_put(upload.storage_key, content_type=upload.content_type, expires=expires),
            "headers": {"Content-Type": upload.content_type},
        }
    part_size = upload.part_size or storage.s3_part_size(upload.size)
    count = -(-upload.size // part_size)
    return {
        "method": "PUT",
        "url": None,
        "headers": {},
        "part_size": part_size,
        "parts": [
            {
                "number": n,
                "url": storage.s3_presign_part(upload.storage_key, upload_id=upload.s3_upload_id, number=n, expires=expires),
                "size": min(part_size, upload.size - (n - 1) * part_size),
            }
            for n in range(1, count + 1)
        ],
    }


def upload_payload(upload: Upload, *, request=None, instructions: bool = False) -> dict[str, Any]:
    """``{id, project, status, filename, size, content_type, mode, expires_at, error, media}`` plus, with
    ``instructions`` and while the upload is pending, how to send the bytes."""
    data: dict[str, Any] = {
        "id": str(upload.pk),
        "project": str(upload.project_id) if upload.project_id else None,
        "status": upload.status,
        "filename": upload.filename,
        "size": upload.size,
        "content_type": upload.content_type,
        "mode": upload.method,  # local | s3 | s3_multipart
        "received_bytes": upload.received_bytes,
        "expires_at": upload.expires_at,
        "error": upload.error,
        "consumed": upload.consumed_at is not None,
        "media": media_payload(upload.media, request=request) if upload.media_id else None,
    }
    if instructions and upload.status == UploadStatus.PENDING:
        data.update(upload_instructions(upload))
    return data


# --------------------------------------------------------------------------------------------
# Media files
# --------------------------------------------------------------------------------------------


def media_get(*, media_id: Any) -> MediaFile:
    pk = parse_uuid(media_id, what="media file")
    media = MediaFile.objects.filter(pk=pk).first()
    if media is None:
        raise NotFound("No such media file.")
    return media


def media_get_for_actor(*, actor, media_id: Any) -> MediaFile:
    """A media file the actor may see: their own, or one of a project they are a member of."""
    from apps.projects.models import Membership

    media = media_get(media_id=media_id)
    user_id = getattr(actor, "pk", None)
    if user_id is None:
        raise NotFound("No such media file.")
    if media.owner_id == user_id:
        return media
    if media.project_id and Membership.objects.filter(project_id=media.project_id, user_id=user_id).exists():
        return media
    raise NotFound("No such media file.")


def media_url(key: str, *, request=None, project_id: Any = None, user_id: Any = None, ttl: int | None = None) -> str | None:
    """URL of a stored file (local: a signed, expiring ``/media/<key>?…``; S3: a presigned GET).
    No database access.

    A local URL names the project the file is read through (``project_id``): whoever opens it
    must be a member then. Without a project it is a link for ``user_id`` (or the requester),
    e.g. the owner's own upload no project holds yet. See apps.media.signing.

    Local URLs stay relative to this server on purpose: behind a TLS-terminating proxy an
    absolute URL built from the request can come out as ``http://`` and be blocked as mixed
    content."""
    if not key:
        return None
    if storage.use_s3():
        if getattr(settings, "AWS_S3_PUBLIC_ENDPOINT_URL", None):
            return storage.s3_presign_get(key)
        return default_storage.url(key)
    if not project_id and user_id is None and request is not None:
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
    return signing.media_url_path(key, project_id=project_id, user_id=user_id, ttl=ttl)


def media_payload(media: MediaFile | None, *, request=None, detail: bool = False) -> dict[str, Any] | None:
    """The public shape of a media file. Makes no database queries (it is called once per take
    in lists); ``detail`` adds the probe and the waveform peaks. File URLs are read through
    the media's project (or, before a project holds it, are the owner's)."""
    if media is None:
        return None
    scope = {"project_id": media.project_id} if media.project_id else {"user_id": media.owner_id}
    probe = media.probe or {}
    filmstrip = probe.get("filmstrip") or {}
    data: dict[str, Any] = {
        "id": str(media.pk),
        "status": media.status,
        "error": media.error,
        "kind": media.kind,
        "url": media_url(media.storage_key, request=request, **scope),
        "proxy_url": media_url(media.proxy_key, request=request, **scope),
        "thumbnail_url": media_url(media.thumbnail_key, request=request, **scope),
        "filmstrip_url": media_url(media.filmstrip_key, request=request, **scope),
        "filmstrip_frames": filmstrip.get("frames") if media.filmstrip_key else None,
        "duration_seconds": media.duration_seconds,
        "fps": media.fps,
        "fps_num": probe.get("fps_num"),
        "fps_den": probe.get("fps_den"),
        "frame_count": probe.get("frame_count"),
        "width": media.width,
        "height": media.height,
        "has_audio": media.has_audio,
        "size": media.size,
        "original_name": media.original_name,
        "content_type": media.content_type,
    }
    if detail:
        data["sha256"] = media.sha256
        data["waveform"] = list(media.waveform or [])
        data["probe"] = {k: v for k, v in probe.items() if k != "streams"}
        data["created_at"] = media.created_at
    return data
