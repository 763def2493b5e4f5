from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import BaseModel


class SegmentStatus(models.TextChoices):
    OPEN = "open"
    CLAIMED = "claimed"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    LOCKED = "locked"


class Segment(BaseModel):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="segments")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    synopsis = models.TextField(blank=True, default="")
    target_frames = models.PositiveIntegerField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_segments"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=SegmentStatus.choices, default=SegmentStatus.OPEN)
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["project", "position"]
        indexes = [models.Index(fields=["project", "position"], name="segment_project_position")]

    def __str__(self) -> str:
        return f"{self.position + 1}. {self.title}"


class TransitionKind(models.TextChoices):
    CUT = "cut"
    CROSSFADE = "crossfade"
    FADE_BLACK = "fade_black"


class Shot(BaseModel):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="shots")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200, blank=True, default="")
    description = models.TextField(blank=True, default="")
    prompt = models.TextField(blank=True, default="")
    negative_prompt = models.TextField(blank=True, default="")
    camera_notes = models.TextField(blank=True, default="")
    duration_frames = models.PositiveIntegerField()
    references = models.ManyToManyField("projects.Reference", blank=True, related_name="shots")
    # The edit of this shot on the timeline: frames within the pick, and the transition into it.
    in_frame = models.PositiveIntegerField(null=True, blank=True)
    out_frame = models.PositiveIntegerField(null=True, blank=True)
    transition_kind = models.CharField(max_length=16, choices=TransitionKind.choices, default=TransitionKind.CUT)
    transition_frames = models.PositiveIntegerField(default=0)
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["segment", "position"]
        indexes = [models.Index(fields=["segment", "position"], name="shot_segment_position")]


class TakeSource(models.TextChoices):
    UPLOAD = "upload"
    GENERATION = "generation"


class TakeStatus(models.TextChoices):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class ReviewState(models.TextChoices):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"


class Take(BaseModel):
    shot = models.ForeignKey(Shot, on_delete=models.CASCADE, related_name="takes")
    number = models.PositiveIntegerField()
    media = models.ForeignKey("media.MediaFile", null=True, blank=True, on_delete=models.PROTECT, related_name="takes")
    source = models.CharField(max_length=16, choices=TakeSource.choices)
    provenance = models.JSONField(default=dict, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal("0"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="takes")
    status = models.CharField(max_length=16, choices=TakeStatus.choices, default=TakeStatus.PROCESSING)
    error = models.TextField(blank=True, default="")
    review_state = models.CharField(max_length=20, choices=ReviewState.choices, default=ReviewState.DRAFT)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")

    class Meta:
        ordering = ["shot", "number"]
        constraints = [
            # The pick: at most one approved take per shot, enforced by the database so that
            # two directors approving different takes at the same moment still leave one.
            models.UniqueConstraint(fields=["shot"], condition=Q(review_state="approved"), name="take_one_pick_per_shot"),
            models.UniqueConstraint(fields=["shot", "number"], name="take_unique_number"),
        ]


class Comment(BaseModel):
    take = models.ForeignKey(Take, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    frame = models.PositiveIntegerField(null=True, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")

    class Meta:
        ordering = ["created_at"]
