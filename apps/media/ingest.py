"""Ingest of one media file (the body of the ``ingest_media`` Celery task): checksum, probe,
limits, thumbnail, filmstrip, proxy and waveform. Bad media ends ``failed`` with a sentence
people can act on; infrastructure trouble is left for the reaper (apps.media.services)."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core import heartbeat
from apps.core.errors import NotFound

from . import ffmpeg, storage
from .humanize import human_duration
from .models import MediaFile, MediaKind, MediaStatus
from .probe import ProbeError, ProbeResult, probe_file
from .selectors import parse_uuid

logger = logging.getLogger(__name__)

MAX_INGEST_ATTEMPTS = 3
INTERRUPTED_THREE_TIMES = "Ingest was interrupted three times; upload the file again."
SERVER_ERROR = "Something went wrong on the server while processing this file; try uploading it again."
MISSING_FILE = "The stored file is missing; upload it again."


class IngestFailed(Exception):
    """The file is not usable; ``str(exc)`` is the sentence people see."""


def _stale_seconds() -> int:
    return int(settings.MONTAGE_JOB_STALE_SECONDS)


def _claim(media_id: Any) -> MediaFile | None:
    """Mark the media processing (attempt + 1), or None when there is nothing to do."""
    try:
        pk = parse_uuid(media_id, what="media file")
    except NotFound:
        return None
    now = timezone.now()
    with transaction.atomic():
        media = MediaFile.objects.select_for_update().filter(pk=pk).first()
        if media is None or media.status in (MediaStatus.READY, MediaStatus.FAILED):
            return None
        if (
            media.status == MediaStatus.PROCESSING
            and media.heartbeat_at
            and media.heartbeat_at > now - timedelta(seconds=_stale_seconds())
        ):
            return None  # another worker is on it
        if media.ingest_attempts >= MAX_INGEST_ATTEMPTS:
            media.status, media.error, media.heartbeat_at = MediaStatus.FAILED, INTERRUPTED_THREE_TIMES, None
            media.save(update_fields=["status", "error", "heartbeat_at", "updated_at"])
            transaction.on_commit(lambda: _notify_takes(media))
            return None
        media.status = MediaStatus.PROCESSING
        media.heartbeat_at = now
        media.ingest_attempts += 1
        media.error = ""
        media.save(update_fields=["status", "heartbeat_at", "ingest_attempts", "error", "updated_at"])
    return media


def _notify_takes(media: MediaFile) -> None:
    """Tell the production app (takes) and the timeline (audio clips) that this media ended
    ready or failed."""
    from apps.production.services import take_media_finished  # local: production imports media
    from apps.timeline.services import timeline_media_finished

    try:
        take_media_finished(media=media)
    except Exception:  # the media row is final; a failure here is the takes' bug
        logger.exception("take_media_finished failed for media %s", media.pk)
    try:
        timeline_media_finished(media=media)
    except Exception:
        logger.exception("timeline_media_finished failed for media %s", media.pk)


class _Heartbeat:
    """Touches ``heartbeat_at`` at most every few seconds while ingest works."""

    def __init__(self, media: MediaFile, every: float = 5.0) -> None:
        self.media_id = media.pk
        self.every = every
        self.last = 0.0

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        MediaFile.objects.filter(pk=self.media_id, status=MediaStatus.PROCESSING).update(heartbeat_at=timezone.now())


def _sha256(path: str, beat: _Heartbeat) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for i, chunk in enumerate(iter(lambda: fh.read(storage.CHUNK_SIZE), b"")):
            digest.update(chunk)
            if i % 256 == 255:
                beat()
    return digest.hexdigest()


def _check_limits(probe: ProbeResult) -> None:
    max_w, max_h = int(settings.MONTAGE_MEDIA_MAX_WIDTH), int(settings.MONTAGE_MEDIA_MAX_HEIGHT)
    noun = {"video": "video", "image": "image", "audio": "audio file"}.get(probe.kind, "file")
    if probe.width and probe.height and (probe.width > max_w or probe.height > max_h):
        raise IngestFailed(f"The {noun} is {probe.width}×{probe.height}; the limit is {max_w}×{max_h}.")
    max_d = float(settings.MONTAGE_MEDIA_MAX_DURATION_SECONDS)
    if probe.duration_seconds and probe.duration_seconds > max_d:
        raise IngestFailed(f"The {noun} is {human_duration(probe.duration_seconds)} long; the limit is {human_duration(max_d)}.")


def _timeout_message(exc: ffmpeg.FFmpegTimeout) -> str:
    return f"Processing this file took longer than {human_duration(exc.seconds)} and was stopped; try a shorter or smaller file."


def _derive(media: MediaFile, src: str, probe: ProbeResult, workdir: str, beat: _Heartbeat) -> dict[str, Any]:
    """Make thumbnail, filmstrip, proxy and waveform; store them; return the fields to save."""
    fields: dict[str, Any] = {"thumbnail_key": "", "filmstrip_key": "", "proxy_key": "", "waveform": []}
    extra: dict[str, Any] = {}
    width, height = probe.display_width or probe.width or 0, probe.height or 0

    if probe.kind in (MediaKind.VIDEO, MediaKind.IMAGE) and probe.video_stream is not None:
        out = os.path.join(workdir, "thumbnail.jpg")
        at = min(1.0, (probe.duration_seconds or 0) * 0.1) if probe.kind == MediaKind.VIDEO else None
        try:
            tw, th = ffmpeg.make_thumbnail(
                src, out, video_stream=probe.video_stream, display_width=width, height=height, at_seconds=at, heartbeat=beat
            )
            fields["thumbnail_key"] = storage.store_path(storage.media_key(media.pk, "thumbnail.jpg"), out)
            extra["thumbnail"] = {"width": tw, "height": th}
        except ffmpeg.FFmpegTimeout:
            raise
        except ffmpeg.FFmpegError as exc:
            if probe.kind == MediaKind.IMAGE:
                raise IngestFailed("This image could not be decoded (it may be damaged).") from exc
            logger.warning("media %s: no thumbnail: %s %s", media.pk, exc, exc.stderr)
        beat()

    if probe.kind == MediaKind.VIDEO and probe.video_stream is not None:
        out = os.path.join(workdir, "filmstrip.jpg")
        try:
            strip = ffmpeg.make_filmstrip(
                src, out, video_stream=probe.video_stream, display_width=width, height=height,
                duration_seconds=probe.duration_seconds, frame_count=probe.frame_count, heartbeat=beat,
            )  # fmt: skip
            fields["filmstrip_key"] = storage.store_path(storage.media_key(media.pk, "filmstrip.jpg"), out)
            extra["filmstrip"] = strip
        except ffmpeg.FFmpegTimeout:
            raise
        except ffmpeg.FFmpegError as exc:
            logger.warning("media %s: no filmstrip: %s %s", media.pk, exc, exc.stderr)
        beat()

        out = os.path.join(workdir, "proxy.mp4")
        try:
            pw, ph = ffmpeg.make_proxy(
                src, out, video_stream=probe.video_stream, audio_stream=probe.audio_stream if probe.has_audio else None,
                display_width=width, height=height, duration_seconds=probe.duration_seconds, heartbeat=beat,
            )  # fmt: skip
        except ffmpeg.FFmpegTimeout:
            raise
        except ffmpeg.FFmpegError as exc:
            logger.info("media %s: proxy failed: %s %s", media.pk, exc, exc.stderr)
            raise IngestFailed(
                "This video could not be converted for playback (ffmpeg could not decode it; it may be damaged)."
            ) from exc
        fields["proxy_key"] = storage.store_path(storage.media_key(media.pk, "proxy.mp4"), out)
        extra["proxy"] = {"width": pw, "height": ph, "video_codec": "h264", "audio_codec": "aac" if probe.has_audio else None}
        beat()

    if probe.kind == MediaKind.AUDIO and probe.audio_stream is not None:
        out = os.path.join(workdir, "proxy.m4a")
        try:
            ffmpeg.make_audio_proxy(
                src, out, audio_stream=probe.audio_stream, duration_seconds=probe.duration_seconds, heartbeat=beat
            )
        except ffmpeg.FFmpegTimeout:
            raise
        except ffmpeg.FFmpegError as exc:
            raise IngestFailed("This audio could not be decoded (it may be damaged).") from exc
        fields["proxy_key"] = storage.store_path(storage.media_key(media.pk, "proxy.m4a"), out)
        extra["proxy"] = {"audio_codec": "aac"}
        beat()

    if probe.has_audio and probe.audio_stream is not None:
        try:
            fields["waveform"] = ffmpeg.waveform_peaks(
                src, audio_stream=probe.audio_stream, duration_seconds=probe.duration_seconds, heartbeat=beat
            )
        except ffmpeg.FFmpegTimeout:
            raise
        except ffmpeg.FFmpegError as exc:
            logger.warning("media %s: no waveform: %s %s", media.pk, exc, exc.stderr)
    fields["_extra"] = extra
    return fields


def _is_missing(exc: BaseException) -> bool:
    if isinstance(exc, FileNotFoundError):
        return True
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status == 404 or code in ("404", "NoSuchKey", "NotFound")
    return False


def _is_transient(exc: BaseException) -> bool:
    """Infrastructure trouble (storage or network down, disk full): leave the job for the
    reaper to retry rather than failing the user's file."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover
        BotoCoreError = ClientError = ()  # type: ignore[assignment]
    if isinstance(exc, BotoCoreError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500 or status in (403, 429)
    return isinstance(exc, OSError)


def _finish(media: MediaFile, **fields: Any) -> MediaFile:
    fields.setdefault("heartbeat_at", None)
    fields["updated_at"] = timezone.now()
    updated = MediaFile.objects.filter(pk=media.pk).update(**fields)
    for key, value in fields.items():
        setattr(media, key, value)
    if updated:
        _notify_takes(media)
    return media


def media_ingest(*, media_id: Any) -> MediaFile | None:
    """Ingest one media file: checksum, probe, limits, thumbnail, filmstrip, proxy, waveform.
    Idempotent (returns None when the row is gone, finished, or being worked on). Bad media
    ends ``failed`` with a readable ``error``; this never raises for bad media."""
    media = _claim(media_id)
    if media is None:
        return None
    beat = _Heartbeat(media)
    try:
        with (
            heartbeat.beating(beat, name=f"ingest-beat-{media.pk}"),  # also while copying and uploading
            tempfile.TemporaryDirectory(prefix=f"ingest-{media.pk}-") as workdir,
            storage.local_copy(media.storage_key, directory=workdir) as src,
        ):
            beat()
            size = os.path.getsize(src)
            if size == 0:
                raise IngestFailed("The file is empty.")
            sha = _sha256(src, beat)
            beat()
            try:
                probe = probe_file(src)
            except ProbeError as exc:
                raise IngestFailed(str(exc)) from exc
            beat()
            _check_limits(probe)
            derived = _derive(media, src, probe, workdir, beat)
    except IngestFailed as exc:
        logger.info("media %s failed ingest: %s", media.pk, exc)
        return _finish(media, status=MediaStatus.FAILED, error=str(exc))
    except ffmpeg.FFmpegTimeout as exc:
        logger.warning("media %s: ffmpeg timed out: %s", media.pk, exc.stderr)
        return _finish(media, status=MediaStatus.FAILED, error=_timeout_message(exc))
    except Exception as exc:  # the worker never dies on one file
        if _is_missing(exc):
            logger.warning("media %s: stored file %s is missing", media.pk, media.storage_key)
            return _finish(media, status=MediaStatus.FAILED, error=MISSING_FILE)
        if _is_transient(exc) and media.ingest_attempts < MAX_INGEST_ATTEMPTS:
            # Leave it processing: the reaper re-queues it once the heartbeat is stale.
            logger.warning("media %s: ingest interrupted (will be retried): %s", media.pk, exc, exc_info=True)
            return media
        logger.exception("media %s: ingest crashed", media.pk)
        return _finish(media, status=MediaStatus.FAILED, error=SERVER_ERROR)

    extra = derived.pop("_extra")
    probe_data = probe.as_dict()
    probe_data.update(extra)
    return _finish(
        media,
        status=MediaStatus.READY,
        error="",
        kind=probe.kind,
        sha256=sha,
        size=size,
        probe=probe_data,
        duration_seconds=probe.duration_seconds,
        width=probe.width,
        height=probe.height,
        fps=probe.fps,
        has_audio=probe.has_audio,
        **derived,
    )


# ============================================================================================
