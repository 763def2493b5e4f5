"""Writes for the media app: uploads (local and S3), handing uploads to takes, ingest, reaping.

Public API for other apps (all keyword-only):

- ``upload_create(actor, project_id, filename, size, content_type)`` → Upload (role + quotas)
- ``upload_receive(actor, upload_id, stream, content_length)`` → Upload (local storage PUT)
- ``upload_complete(actor, upload_id, parts=None)`` → Upload (with ``.media``)
- ``upload_consume(actor, upload_id, project)`` → MediaFile (a take is made from the upload)
- ``media_create_from_file(owner, project, path, filename, content_type="", ingest=True)`` → MediaFile
- ``media_enqueue_ingest(media)`` / ``media_reingest(media)``
- ``media_ingest(media_id)`` (the body of the Celery task)
- ``media_reap_stale()`` → int (called periodically by apps.core.tasks; also abandons expired
  uploads and deletes completed uploads nothing used, ``upload_reap_orphans``)
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import os
import tempfile
from datetime import timedelta
from fnmatch import fnmatch
from typing import Any, BinaryIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from apps.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    UnsupportedMedia,
    UploadIncomplete,
    ValidationError,
)
from apps.projects.access import project_access
from apps.projects.models import Project, Role

from . import storage
from .humanize import human_duration, human_size  # noqa: F401 - human_duration: re-exported
from .ingest import INTERRUPTED_THREE_TIMES, MAX_INGEST_ATTEMPTS, IngestFailed, _notify_takes, _stale_seconds, media_ingest  # noqa: F401 - re-exported: the task and tests use them here
from .models import MediaFile, MediaStatus, Upload, UploadMethod, UploadStatus
from .probe import SNIFF_BYTES, sniff
from .selectors import parse_uuid

logger = logging.getLogger(__name__)

# Pending media whose ingest task has not started for this long (and a stale period) is
# queued again by the reaper.
LOST_TASK_SECONDS = 5 * 60


# ============================================================================================
# Uploads
# ============================================================================================


def _clean_content_type(content_type: str, filename: str) -> str:
    ct = (content_type or "").split(";", 1)[0].strip().lower()
    if not ct:
        ct = (mimetypes.guess_type(filename)[0] or "application/octet-stream").lower()
    return ct


def content_type_allowed(content_type: str) -> bool:
    patterns = [p.strip().lower() for p in settings.MONTAGE_UPLOAD_CONTENT_TYPES if p.strip()]
    return any(fnmatch(content_type, p) for p in patterns)


# Who may upload into a project: everyone who may put media somewhere in it (takes: directors
# and artists; audio clips: directors and producers; reference images and generation inputs:
# directors, producers and artists). Viewers may not.
UPLOAD_ROLES = (Role.DIRECTOR, Role.PRODUCER, Role.ARTIST)


class UploadQuotaExceeded(DomainError):
    status_code = 413
    code = "upload_quota_exceeded"


class UploadTooLarge(DomainError):
    status_code = 413
    code = "upload_too_large"


def unattached_uploads():
    """Uploads whose bytes are stored (or on their way) but that no take, clip or reference
    holds yet: what the upload quotas count."""
    now = timezone.now()
    return (
        Upload.objects.filter(consumed_at__isnull=True)
        .filter(Q(status=UploadStatus.COMPLETE) | Q(status=UploadStatus.PENDING, expires_at__gt=now))
        .filter(Q(media__isnull=True) | Q(media__project__isnull=True))
    )


def _check_quotas(*, actor, project: Project, size: int) -> None:
    """Refuse an upload that would pass the user's or the project's quota of unattached bytes."""
    checks = (
        ("You have", "your", unattached_uploads().filter(owner_id=actor.pk), int(settings.MONTAGE_UPLOAD_QUOTA_BYTES)),
        ("This project has", "the project's", unattached_uploads().filter(project=project),
         int(settings.MONTAGE_PROJECT_UPLOAD_QUOTA_BYTES)),
    )  # fmt: skip
    for who, whose, qs, limit in checks:
        if limit <= 0:
            continue
        used = int(qs.aggregate(total=Sum("size"))["total"] or 0)
        if used + size > limit:
            raise UploadQuotaExceeded(
                f"{who} {human_size(used)} uploaded that no take, clip or reference uses yet; this file "
                f"({human_size(size)}) would pass {whose} limit of {human_size(limit)}. Use or finish those "
                "uploads first (unused ones are deleted after "
                f"{int(settings.MONTAGE_UPLOAD_ORPHAN_HOURS)} hours).",
                fields={"size": [f"At most {max(0, limit - used)} more bytes."]},
            )


def upload_create(*, actor, project_id: Any, filename: str, size: int, content_type: str = "") -> Upload:
    """Start an upload into a project: check the actor's role there, the declared size and type
    and the quotas, then choose how the bytes travel (a PUT to this server, a presigned S3 PUT,
    or a presigned S3 multipart upload)."""
    access = project_access(user=actor, project_id=project_id)  # not a member: 404
    access.require(*UPLOAD_ROLES, action="upload files")
    filename = (filename or "").strip().replace("\x00", "")
    if not filename:
        raise ValidationError("Give the file a name.", fields={"filename": ["This field is required."]})
    if len(filename) > 255:
        filename = filename[-255:]
    try:
        size = int(size)
    except (TypeError, ValueError):
        raise ValidationError("The size must be a whole number of bytes.", fields={"size": ["Not a number."]}) from None
    if size <= 0:
        raise ValidationError("The file is empty; choose a file with something in it.", fields={"size": ["Must be more than 0."]})
    limit = int(settings.MONTAGE_UPLOAD_MAX_BYTES)
    if size > limit:
        raise ValidationError(
            f"This file is {human_size(size)}; the limit is {human_size(limit)}.",
            fields={"size": [f"At most {limit} bytes."]},
        )
    ct = _clean_content_type(content_type, filename)
    if not content_type_allowed(ct):
        raise UnsupportedMedia(
            f"Files of type {ct} cannot be uploaded; upload a video, an audio file or an image.",
            fields={"content_type": [f"{ct} is not allowed."]},
        )

    upload = Upload(
        owner=actor,
        project=access.project,
        filename=filename,
        size=size,
        content_type=ct,
        expires_at=timezone.now() + timedelta(seconds=int(settings.MONTAGE_UPLOAD_EXPIRES_SECONDS)),
    )
    upload.storage_key = storage.upload_key(upload.pk, filename)
    with transaction.atomic():
        # One upload at a time per user and per project is checked against the quotas.
        get_user_model()._default_manager.select_for_update().filter(pk=actor.pk).first()
        Project.objects.select_for_update().filter(pk=access.project.pk).first()
        _check_quotas(actor=actor, project=access.project, size=size)
        if storage.use_s3():
            if size > int(settings.MONTAGE_UPLOAD_MULTIPART_THRESHOLD):
                upload.method = UploadMethod.S3_MULTIPART
                upload.part_size = storage.s3_part_size(size)
                upload.s3_upload_id = storage.s3_multipart_create(upload.storage_key, content_type=ct)
            else:
                upload.method = UploadMethod.S3
        else:
            upload.method = UploadMethod.LOCAL
        upload.save()
    return upload


def _own_upload(actor, upload_id: Any, *, lock: bool = False) -> Upload:
    pk = parse_uuid(upload_id, what="upload")
    qs = Upload.objects.filter(pk=pk, owner_id=getattr(actor, "pk", None))
    if lock:
        qs = qs.select_for_update()
    upload = qs.first()
    if upload is None:
        raise NotFound("No such upload.")
    return upload


def _require_open(upload: Upload) -> None:
    if upload.status == UploadStatus.COMPLETE:
        raise Conflict("This upload is already complete.")
    expired = upload.expires_at <= timezone.now()
    if upload.status == UploadStatus.FAILED and not expired:
        raise UnsupportedMedia(upload.error or "This upload was rejected; start a new one.")
    if expired:
        raise ValidationError("This upload has expired; start a new one.", code="upload_expired")


def upload_receive(*, actor, upload_id: Any, stream: BinaryIO, content_length: int | None = None) -> Upload:
    """Receive the bytes of a local upload from ``stream`` (a request body), in 1 MB chunks:
    spooled to a temporary file, never held in memory, then moved into storage. More bytes
    than were declared is refused and nothing is kept. Sending again replaces the bytes."""
    upload = _own_upload(actor, upload_id)
    if upload.method != UploadMethod.LOCAL:
        raise ValidationError("This upload goes straight to object storage; send the bytes to the presigned URL.")
    _require_open(upload)
    too_many = (
        f"This upload was declared as {human_size(upload.size)} but more bytes were sent; start a new upload with the right size."
    )
    if content_length is not None and content_length > upload.size:
        raise UploadTooLarge(too_many, fields={"size": ["More bytes than declared."]})

    fd, tmp = tempfile.mkstemp(prefix=f"{upload.pk}-", suffix=".part", dir=storage.incoming_dir())
    received = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                try:
                    chunk = stream.read(storage.CHUNK_SIZE)
                except OSError as exc:  # the client went away mid-upload
                    raise UploadIncomplete(
                        f"The connection broke after {human_size(received)} of {human_size(upload.size)}; send the file again."
                    ) from exc
                if not chunk:
                    break
                received += len(chunk)
                if received > upload.size:  # stop reading at once; the partial file is removed below
                    raise UploadTooLarge(too_many, fields={"size": ["More bytes than declared."]})
                out.write(chunk)
        os.chmod(tmp, 0o644)
        stored = storage.store_path(upload.storage_key, tmp, move=True)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    Upload.objects.filter(pk=upload.pk).update(received_bytes=received, storage_key=stored, updated_at=timezone.now())
    upload.received_bytes, upload.storage_key = received, stored
    return upload


def _etag(value: str) -> str:
    return (value or "").strip().strip('"').lower()


def _check_multipart(upload: Upload, parts: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The parts to complete with, after checking S3 has every one and they add up."""
    received = storage.s3_multipart_parts(upload.storage_key, upload_id=upload.s3_upload_id)
    by_number = {p["number"]: p for p in received}
    if parts:
        for given in parts:
            number = int(given.get("number") or 0)
            have = by_number.get(number)
            if have is None:
                raise UploadIncomplete(f"Part {number} has not been received; upload it, then complete again.")
            if given.get("etag") and _etag(given["etag"]) != _etag(have["etag"]):
                raise UploadIncomplete(f"Part {number} does not match what storage received; upload it again.")
    part_size = upload.part_size or storage.s3_part_size(upload.size)
    expected = -(-upload.size // part_size)
    missing = [n for n in range(1, expected + 1) if n not in by_number]
    total = sum(p["size"] for p in received if p["number"] <= expected)
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
        raise UploadIncomplete(
            f"{len(missing)} of {expected} parts have not been received (part {shown}); upload them, then complete again."
        )
    if total != upload.size:
        raise UploadIncomplete(
            f"Storage received {human_size(total)} of {human_size(upload.size)}; upload the parts again, then complete."
        )
    return [by_number[n] for n in range(1, expected + 1)]


def _complete_multipart(upload: Upload, parts: list[dict[str, Any]] | None) -> None:
    from botocore.exceptions import ClientError

    try:
        ordered = _check_multipart(upload, parts)
        storage.s3_multipart_complete(upload.storage_key, upload_id=upload.s3_upload_id, parts=ordered)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchUpload" and storage.size(upload.storage_key) == upload.size:
            return  # completed by an earlier attempt whose transaction did not commit
        if code in ("NoSuchUpload", "InvalidPart", "InvalidPartOrder", "EntityTooSmall"):
            raise UploadIncomplete(
                "Storage could not assemble the parts of this upload; start a new upload."
                if code == "NoSuchUpload"
                else "Storage refused the parts of this upload (each part but the last must be the given part size); upload them again."
            ) from exc
        raise


def upload_complete(*, actor, upload_id: Any, parts: list[dict[str, Any]] | None = None) -> Upload:
    """Finish an upload: check that storage holds exactly the declared bytes (completing an S3
    multipart upload first), sniff the first bytes, and create the MediaFile (pending; ingest
    starts when a take uses it). Completing again returns the same result."""
    rejection: DomainError | None = None
    with transaction.atomic():
        upload = _own_upload(actor, upload_id, lock=True)
        if upload.status == UploadStatus.COMPLETE and upload.media_id:
            return Upload.objects.select_related("media").get(pk=upload.pk)
        _require_open(upload)

        if upload.method == UploadMethod.S3_MULTIPART:
            _complete_multipart(upload, parts)

        stored = storage.size(upload.storage_key)
        if not stored:
            raise UploadIncomplete("No bytes have been received for this upload yet; send the file, then complete it.")
        if stored > upload.size:
            storage.delete_quietly(upload.storage_key)
            raise ValidationError(
                f"Storage received {human_size(stored)}, more than the {human_size(upload.size)} declared; "
                "the bytes were discarded. Send the file again.",
                fields={"size": ["More bytes than declared."]},
            )
        if stored < upload.size:
            raise UploadIncomplete(
                f"Only {human_size(stored)} of {human_size(upload.size)} have been received; "
                "send the whole file, then complete the upload."
            )

        reason = sniff(storage.read_head(upload.storage_key, SNIFF_BYTES))
        if reason:
            storage.delete_quietly(upload.storage_key)
            upload.status = UploadStatus.FAILED
            upload.error = reason
            upload.save(update_fields=["status", "error", "updated_at"])
            rejection = UnsupportedMedia(reason)
        else:
            media = MediaFile.objects.create(
                owner_id=upload.owner_id,
                storage_key=upload.storage_key,
                original_name=upload.filename,
                content_type=upload.content_type,
                size=stored,
                status=MediaStatus.PENDING,
            )
            upload.media = media
            upload.status = UploadStatus.COMPLETE
            upload.received_bytes = stored
            upload.error = ""
            upload.save(update_fields=["media", "status", "received_bytes", "error", "updated_at"])
    if rejection is not None:
        raise rejection
    return upload


def upload_consume(*, actor, upload_id: Any, project) -> MediaFile:
    """Hand a completed upload to ``project`` (a take is being made from it): the upload must be
    the actor's and complete, and not used before. Ingest is queued when the transaction
    commits. Permission to add to the project is the caller's check."""
    with transaction.atomic():
        upload = _own_upload(actor, upload_id, lock=True)
        if upload.project_id is not None and upload.project_id != project.pk:
            raise ValidationError(
                "This upload was made for another project; upload the file again here.",
                fields={"upload": ["Upload of another project."]},
            )
        if upload.status != UploadStatus.COMPLETE or upload.media_id is None:
            raise ValidationError(
                "This upload is not complete; send the file and complete the upload first.",
                fields={"upload": ["Upload not complete."]},
            )
        media = MediaFile.objects.select_for_update().get(pk=upload.media_id)
        already = upload.consumed_at is not None or (hasattr(media, "takes") and media.takes.exists())
        if already or not Upload.objects.filter(pk=upload.pk, consumed_at__isnull=True).update(consumed_at=timezone.now()):
            raise ValidationError(
                "This upload is already used by another take; upload the file again for a new take.",
                fields={"upload": ["Upload already used."]},
            )
        media.project = project
        media.save(update_fields=["project", "updated_at"])
        media_enqueue_ingest(media=media)
    return media


def media_adopt_inputs(*, media_ids: list[Any], project) -> int:
    """Give files a generation of ``project`` reads (an input image, reference images) to that
    project, so that the orphan reaper keeps them and they stop counting against the upload
    quotas: the job's provenance points at them. Files of another project are left alone.
    Returns how many were adopted."""
    ids = [m for m in media_ids if m]
    if not ids:
        return 0
    return MediaFile.objects.filter(pk__in=ids, project__isnull=True).update(project=project, updated_at=timezone.now())


def upload_abort(*, upload: Upload, reason: str = "") -> None:
    """Throw away a pending upload's bytes (and an S3 multipart upload)."""
    if upload.method == UploadMethod.S3_MULTIPART and upload.s3_upload_id:
        storage.s3_multipart_abort(upload.storage_key, upload_id=upload.s3_upload_id)
    storage.delete_quietly(upload.storage_key)
    Upload.objects.filter(pk=upload.pk, status=UploadStatus.PENDING).update(
        status=UploadStatus.FAILED, error=reason or "This upload was abandoned.", updated_at=timezone.now()
    )


def upload_reap_expired(*, limit: int = 200) -> int:
    """Abandon pending uploads past their expiry: delete their bytes, abort multipart uploads."""
    count = 0
    for upload in Upload.objects.filter(status=UploadStatus.PENDING, expires_at__lt=timezone.now())[:limit]:
        try:
            upload_abort(upload=upload, reason="This upload expired before it was completed; start a new one.")
            count += 1
        except Exception:  # storage trouble: try again next time
            logger.warning("could not abandon expired upload %s", upload.pk, exc_info=True)
    return count


def upload_reap_orphans(*, limit: int = 200) -> int:
    """Delete (file and row) completed uploads that no take, clip or reference took within
    MONTAGE_UPLOAD_ORPHAN_HOURS of their last change, and failed uploads as old. Media a row of
    any app still points at is kept. Returns how many uploads were deleted."""
    cutoff = timezone.now() - timedelta(hours=max(1, int(settings.MONTAGE_UPLOAD_ORPHAN_HOURS)))
    candidates = (
        Upload.objects.filter(updated_at__lt=cutoff, consumed_at__isnull=True)
        .filter(Q(status=UploadStatus.FAILED) | Q(status=UploadStatus.COMPLETE, media__project__isnull=True))
        .values_list("pk", flat=True)[:limit]
    )
    count = 0
    for upload_id in list(candidates):
        names: list[str] = []
        with transaction.atomic():
            upload = Upload.objects.select_for_update().filter(pk=upload_id, consumed_at__isnull=True).first()
            if upload is None:
                continue
            media = MediaFile.objects.select_for_update().filter(pk=upload.media_id).first() if upload.media_id else None
            if media is not None:
                if media.project_id is not None or _in_use(media):
                    continue  # attached meanwhile
                names = [n for n in (media.storage_key, media.thumbnail_key, media.filmstrip_key, media.proxy_key) if n]
                media.delete()
            names.append(upload.storage_key)
            upload.delete()
            transaction.on_commit(lambda names=names: [storage.delete_quietly(n) for n in dict.fromkeys(names)])
        count += 1
    return count


# ============================================================================================
# Media files
# ============================================================================================


def media_create_from_file(*, owner, project, path: str, filename: str, content_type: str = "", ingest: bool = True) -> MediaFile:
    """Store a local file (e.g. a generation backend's output) as a MediaFile of ``project``
    and, with ``ingest``, queue its ingest on commit."""
    media = MediaFile(
        owner=owner,
        project=project,
        original_name=os.path.basename(filename)[:255],
        content_type=_clean_content_type(content_type, filename),
        size=os.path.getsize(path),
        status=MediaStatus.PENDING,
    )
    media.storage_key = storage.store_path(storage.media_key(media.pk, "source/" + storage.safe_filename(filename)), path)
    media.save()
    if ingest:
        media_enqueue_ingest(media=media)
    return media


def media_enqueue_ingest(*, media: MediaFile) -> None:
    """Queue ingest of ``media`` once the current transaction commits."""
    media_id = str(media.pk)

    def _send() -> None:
        from .tasks import ingest_media

        ingest_media.delay(media_id)

    transaction.on_commit(_send)


def media_reingest(*, media: MediaFile) -> None:
    """Run ingest again from scratch (e.g. from the admin after fixing ffmpeg)."""
    MediaFile.objects.filter(pk=media.pk).update(
        status=MediaStatus.PENDING, error="", ingest_attempts=0, heartbeat_at=None, updated_at=timezone.now()
    )
    media_enqueue_ingest(media=media)


def _in_use(media: MediaFile) -> bool:
    """Whether a row of any app still points at ``media`` (a take, a timeline clip, a
    reference image…). The upload it came from does not count: that link is cleared."""
    for rel in MediaFile._meta.related_objects:
        if rel.related_model is Upload:
            continue
        if rel.related_model._default_manager.filter(**{rel.field.name: media}).exists():
            return True
    return False


def media_discard(*, media_id: Any) -> bool:
    """Forget a media file that nothing uses any more (e.g. the file of a deleted take): the
    row now, and its stored files (source, thumbnail, filmstrip, proxy) once the transaction
    commits. A file still used anywhere is kept. Returns whether it was discarded."""
    with transaction.atomic():
        media = MediaFile.objects.select_for_update().filter(pk=media_id).first()
        if media is None or _in_use(media):
            return False
        names = [n for n in (media.storage_key, media.thumbnail_key, media.filmstrip_key, media.proxy_key) if n]
        media.delete()

        def _remove_files() -> None:
            for name in names:
                storage.delete_quietly(name)

        transaction.on_commit(_remove_files)
    return True


# ============================================================================================
# Reaper
# ============================================================================================


def media_reap_stale() -> int:
    """Re-queue or fail ingest jobs whose worker died: media ``processing`` with a heartbeat
    older than MONTAGE_JOB_STALE_SECONDS is re-queued (or failed after three attempts);
    ``pending`` media that should be ingesting but has sat that long is re-queued. Expired
    uploads are abandoned on the way. Returns how many media files were re-queued or failed."""
    cutoff = timezone.now() - timedelta(seconds=_stale_seconds())
    count = 0
    stale = MediaFile.objects.filter(status=MediaStatus.PROCESSING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, updated_at__lt=cutoff)
    )
    for media_id in list(stale.values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            media = MediaFile.objects.select_for_update().filter(pk=media_id, status=MediaStatus.PROCESSING).first()
            if media is None or (media.heartbeat_at and media.heartbeat_at >= cutoff):
                continue
            if media.ingest_attempts >= MAX_INGEST_ATTEMPTS:
                media.status, media.error, media.heartbeat_at = MediaStatus.FAILED, INTERRUPTED_THREE_TIMES, None
                media.save(update_fields=["status", "error", "heartbeat_at", "updated_at"])
                transaction.on_commit(lambda m=media: _notify_takes(m))
            else:
                media.status, media.heartbeat_at = MediaStatus.PENDING, None
                media.save(update_fields=["status", "heartbeat_at", "updated_at"])
                media_enqueue_ingest(media=media)
            count += 1

    # Pending media that is meant to be ingested (not an upload nobody has used yet) and has
    # waited a whole stale period (and at least LOST_TASK_SECONDS: a task waiting in a busy
    # media queue is not lost): its task was lost. Touch updated_at so it waits again.
    cutoff = min(cutoff, timezone.now() - timedelta(seconds=LOST_TASK_SECONDS))
    lost = MediaFile.objects.filter(status=MediaStatus.PENDING, updated_at__lt=cutoff).filter(
        Q(upload__isnull=True) | Q(upload__consumed_at__isnull=False)
    )
    for media_id in list(lost.values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            touched = MediaFile.objects.filter(pk=media_id, status=MediaStatus.PENDING, updated_at__lt=cutoff).update(
                updated_at=timezone.now()
            )
            if touched:
                media_enqueue_ingest(media=MediaFile(pk=media_id))
                count += 1

    try:
        upload_reap_expired()
    except Exception:
        logger.warning("could not reap expired uploads", exc_info=True)
    try:
        upload_reap_orphans()
    except Exception:
        logger.warning("could not delete unused uploads", exc_info=True)
    return count
