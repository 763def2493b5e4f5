from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.models import BaseModel


class MediaStatus(models.TextChoices):
    PENDING = "pending"  # stored, waiting for ingest
    PROCESSING = "processing"  # ingest running
    READY = "ready"
    FAILED = "failed"


class MediaKind(models.TextChoices):
    VIDEO = "video"
    AUDIO = "audio"
    IMAGE = "image"
    UNKNOWN = "unknown"


class MediaFile(BaseModel):
    """A stored file and everything ingest learned about it."""

    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="media_files"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    storage_key = models.CharField(max_length=500)
    original_name = models.CharField(max_length=255, blank=True, default="")
    content_type = models.CharField(max_length=120, blank=True, default="")
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="", db_index=True)
    kind = models.CharField(max_length=16, choices=MediaKind.choices, default=MediaKind.UNKNOWN)
    status = models.CharField(max_length=16, choices=MediaStatus.choices, default=MediaStatus.PENDING)
    error = models.TextField(blank=True, default="")
    # Probe: {duration_seconds, fps, fps_num, fps_den, width, height, video_codec, audio_codec,
    #         has_audio, sample_rate, channels, frame_count, pix_fmt, container}
    probe = models.JSONField(default=dict, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    has_audio = models.BooleanField(default=False)
    thumbnail_key = models.CharField(max_length=500, blank=True, default="")
    filmstrip_key = models.CharField(max_length=500, blank=True, default="")
    proxy_key = models.CharField(max_length=500, blank=True, default="")
    waveform = models.JSONField(default=list, blank=True)  # audio peaks, 0..1
    ingest_attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]  # noqa: RUF012
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="media_status_heartbeat")]  # noqa: RUF012

    def __str__(self) -> str:
        return f"{self.original_name or self.storage_key} ({self.status})"


class UploadStatus(models.TextChoices):
    PENDING = "pending"
    COMPLETE = "complete"
    FAILED = "failed"


class UploadMethod(models.TextChoices):
    LOCAL = "local"  # PUT to this server, streamed to disk
    S3 = "s3"  # presigned PUT
    S3_MULTIPART = "s3_multipart"


class Upload(BaseModel):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads")
    # The project the file is for (required for new uploads; empty on uploads made before).
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="uploads"
    )
    filename = models.CharField(max_length=255)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=120)
    method = models.CharField(max_length=16, choices=UploadMethod.choices)
    storage_key = models.CharField(max_length=500)
    s3_upload_id = models.CharField(max_length=255, blank=True, default="")
    part_size = models.BigIntegerField(default=0)  # multipart: bytes per part (the last may be shorter)
    received_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=UploadStatus.choices, default=UploadStatus.PENDING)
    error = models.TextField(blank=True, default="")
    media = models.OneToOneField(MediaFile, null=True, blank=True, on_delete=models.SET_NULL, related_name="upload")
    expires_at = models.DateTimeField()
    # Set once, when a take (or another owner of the media) takes this upload: an upload
    # becomes exactly one take.
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]  # noqa: RUF012
        indexes = [models.Index(fields=["status", "consumed_at"], name="upload_status_consumed")]  # noqa: RUF012

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"
