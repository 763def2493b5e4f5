from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from apps.core.models import BaseModel


class JobState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)


class GenerationJob(BaseModel):
    """One call to a backend that yields one or more takes."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="generation_jobs")
    shot = models.ForeignKey("production.Shot", null=True, blank=True, on_delete=models.SET_NULL, related_name="generation_jobs")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="generation_jobs")
    backend = models.CharField(max_length=64)
    model = models.CharField(max_length=128, blank=True, default="")
    kind = models.CharField(max_length=32)
    # The request as sent, after @tag and style expansion: prompt, negative_prompt, seed,
    # duration_frames, width, height, fps, params, input media ids, references, parent take.
    request = models.JSONField(default=dict)
    variations = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    # Provider bookkeeping. ``provider_job_id`` is written in the same transaction that
    # records the submission, so a worker killed after submit resumes by polling it.
    provider_job_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    provider_state = models.CharField(max_length=64, blank=True, default="")
    provider_data = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=128, unique=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    poll_count = models.PositiveIntegerField(default=0)
    estimated_cost = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal("0"))
    actual_cost = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="genjob_state_heartbeat")]


class LedgerKind(models.TextChoices):
    RESERVE = "reserve"  # estimated cost held before anything is sent
    SETTLE = "settle"  # the hold replaced by the actual cost
    RELEASE = "release"  # the hold given back (failure the provider does not bill)


class LedgerEntry(BaseModel):
    """Budget movements. Reserved = reserves − settles − releases (per job); spent = settled."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="ledger")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    job = models.ForeignKey(GenerationJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="ledger")
    kind = models.CharField(max_length=16, choices=LedgerKind.choices)
    # reserve: +estimate held; settle: actual cost spent (the hold is cleared); release: hold cleared.
    amount = models.DecimalField(max_digits=12, decimal_places=4)
    note = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["created_at"]
        constraints = [
            # A job is settled or released at most once: retried tasks cannot double-count.
            models.UniqueConstraint(fields=["job", "kind"], name="ledger_once_per_job_kind"),
        ]


class Credential(BaseModel):
    """A provider API key for one project, encrypted at rest (write-only in the API)."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="credentials")
    backend = models.CharField(max_length=64)
    encrypted = models.TextField()
    hint = models.CharField(max_length=16, blank=True, default="")  # last 4 characters, for people
    # Non-secret settings for the backend (e.g. ComfyUI host and workflow JSON).
    config = models.JSONField(default=dict, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "backend"], name="credential_unique_backend")]


class WebhookDelivery(BaseModel):
    """Provider webhook deliveries seen, so duplicates (same delivery id) are ignored."""

    backend = models.CharField(max_length=64)
    delivery_id = models.CharField(max_length=255)
    job = models.ForeignKey(GenerationJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["backend", "delivery_id"], name="webhook_delivery_once")]
