"""Exports: a render of the final cut (or of one segment) and the files it produced.

An export runs as a job (ARCHITECTURE §3): ``queued → running → succeeded | failed |
cancelled``. The plan (what the cut contains) is snapshotted on the row when the export is
created, so every worker of one export renders the same cut even if the edit changes
meanwhile. Segments are rendered in parallel, one task each (an ``ExportSegment`` row per
segment records its master); the task that completes the set starts the final task.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.models import BaseModel


class ExportKind(models.TextChoices):
    FINAL = "final"
    SEGMENT = "segment"


class ExportState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATES = (ExportState.QUEUED, ExportState.RUNNING)
DONE_STATES = (ExportState.SUCCEEDED, ExportState.FAILED, ExportState.CANCELLED)


class Export(BaseModel):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="exports")
    kind = models.CharField(max_length=16, choices=ExportKind.choices)
    segment = models.ForeignKey(
        "production.Segment", null=True, blank=True, on_delete=models.SET_NULL, related_name="exports"
    )
    # {include_unapproved: bool, credits_roll: bool}
    options = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=ExportState.choices, default=ExportState.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # 0–100
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # How many times a worker started this export (the reaper retries a dead worker once).
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    segments_total = models.PositiveIntegerField(default=0)
    segments_done = models.PositiveIntegerField(default=0)
    shots_total = models.PositiveIntegerField(default=0)
    shots_done = models.PositiveIntegerField(default=0)
    # Set by the one segment task that completes the set: it, and only it, starts the final.
    final_started_at = models.DateTimeField(null=True, blank=True)
    # {encoded_pieces, encoded_masters, cached_pieces, cached_masters, frames, duration_seconds}
    stats = models.JSONField(default=dict, blank=True)
    # The RenderPlan (apps.rendering.planner.plan_to_dict) as of the export's creation.
    plan = models.JSONField(default=dict, blank=True)
    frames = models.PositiveIntegerField(default=0)
    # Where the export was asked from (``https://studio.example/``): the base of the media URLs
    # in its .otio/.edl when MONTAGE_PUBLIC_URL is not set. Empty for the CLI.
    public_url = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]  # noqa: RUF012
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="export_state_heartbeat")]  # noqa: RUF012

    def __str__(self) -> str:
        return f"{self.kind} export of {self.project_id} ({self.state})"

    @property
    def include_unapproved(self) -> bool:
        return bool((self.options or {}).get("include_unapproved"))

    @property
    def credits_roll(self) -> bool:
        return bool((self.options or {}).get("credits_roll"))


class ExportSegment(BaseModel):
    """One segment of one export attempt: its master once rendered (paths in the render cache)."""

    export = models.ForeignKey(Export, on_delete=models.CASCADE, related_name="segment_renders")
    segment_id = models.CharField(max_length=64)  # the plan's segment id (the segment may be gone since)
    position = models.PositiveIntegerField()
    attempt = models.PositiveSmallIntegerField(default=1)
    done = models.BooleanField(default=False)
    video_path = models.CharField(max_length=1000, blank=True, default="")
    audio_path = models.CharField(max_length=1000, blank=True, default="")
    frames = models.PositiveIntegerField(default=0)
    encoded_pieces = models.PositiveIntegerField(default=0)
    cached_pieces = models.PositiveIntegerField(default=0)
    master_cache_hit = models.BooleanField(default=False)

    class Meta:
        ordering = ["export", "position"]  # noqa: RUF012
        constraints = [  # noqa: RUF012
            models.UniqueConstraint(fields=["export", "segment_id"], name="export_segment_unique"),
        ]


class ArtifactKind(models.TextChoices):
    MP4 = "mp4"
    OTIO = "otio"
    OTIOZ = "otioz"
    EDL = "edl"
    SRT = "srt"
    CREDITS = "credits"
    MANIFEST = "manifest"


class ExportArtifact(BaseModel):
    export = models.ForeignKey(Export, on_delete=models.CASCADE, related_name="artifacts")
    kind = models.CharField(max_length=16, choices=ArtifactKind.choices)
    storage_key = models.CharField(max_length=500)
    filename = models.CharField(max_length=255, blank=True, default="")
    content_type = models.CharField(max_length=120, blank=True, default="")
    size = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["export", "created_at"]  # noqa: RUF012
        constraints = [  # noqa: RUF012
            models.UniqueConstraint(fields=["export", "kind"], name="export_artifact_unique_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.export_id}"
