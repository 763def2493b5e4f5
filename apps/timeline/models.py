from __future__ import annotations

from django.db import models

from apps.core.models import BaseModel


class Timeline(BaseModel):
    """The edit of a project. Segment order and per-shot trims/transitions live on the
    Segment and Shot rows; this row carries the revision that every edit checks."""

    project = models.OneToOneField("projects.Project", on_delete=models.CASCADE, related_name="timeline")
    revision = models.PositiveIntegerField(default=1)


class AudioTrack(models.TextChoices):
    MUSIC = "music"
    NARRATION = "narration"
    EFFECTS = "effects"


class AudioClip(BaseModel):
    timeline = models.ForeignKey(Timeline, on_delete=models.CASCADE, related_name="audio_clips")
    track = models.CharField(max_length=16, choices=AudioTrack.choices)
    media = models.ForeignKey("media.MediaFile", on_delete=models.PROTECT, related_name="audio_clips")
    start_frame = models.PositiveIntegerField()
    volume = models.FloatField(default=1.0)
    fade_in_frames = models.PositiveIntegerField(default=0)
    fade_out_frames = models.PositiveIntegerField(default=0)
    text = models.TextField(blank=True, default="")  # narration/dialogue text, for subtitles

    class Meta:
        ordering = ["track", "start_frame"]


class Marker(BaseModel):
    timeline = models.ForeignKey(Timeline, on_delete=models.CASCADE, related_name="markers")
    frame = models.PositiveIntegerField()
    label = models.CharField(max_length=200)
    author = models.ForeignKey("auth.User", null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["frame"]
