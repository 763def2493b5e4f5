from __future__ import annotations

import secrets
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.db import models

from apps.core.models import BaseModel


class Role(models.TextChoices):
    DIRECTOR = "director", "Director"
    PRODUCER = "producer", "Producer"
    ARTIST = "artist", "Artist"
    VIEWER = "viewer", "Viewer"


class Project(BaseModel):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    # Frame rate as an exact rational: 24000/1001 for 23.976, never a float.
    fps_num = models.PositiveIntegerField(default=24)
    fps_den = models.PositiveIntegerField(default=1)
    width = models.PositiveIntegerField(default=1920)
    height = models.PositiveIntegerField(default=1080)
    target_runtime_seconds = models.PositiveIntegerField(null=True, blank=True)
    loudness_target = models.FloatField(default=-16.0)
    budget_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    budget_currency = models.CharField(max_length=3, default="USD")
    artist_budget_cap = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    style_prompt = models.TextField(blank=True, default="")
    description = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="projects")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)

    @property
    def fps_display(self) -> float:
        return round(self.fps_num / self.fps_den, 3)

    @property
    def aspect(self) -> str:
        from math import gcd

        g = gcd(self.width, self.height) or 1
        return f"{self.width // g}:{self.height // g}"


class Membership(BaseModel):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user")]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.user} · {self.role} · {self.project}"


class ReferenceKind(models.TextChoices):
    CHARACTER = "character"
    LOCATION = "location"
    STYLE = "style"
    PROP = "prop"


class Reference(BaseModel):
    """A style-bible entry, used in prompts as ``@tag``."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="references")
    tag = models.SlugField(max_length=64)
    kind = models.CharField(max_length=16, choices=ReferenceKind.choices, default=ReferenceKind.CHARACTER)
    name = models.CharField(max_length=200, blank=True, default="")
    text = models.TextField(blank=True, default="")
    images = models.ManyToManyField("media.MediaFile", blank=True, related_name="references")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "tag"], name="reference_unique_tag")]
        ordering = ["tag"]


def _invite_token() -> str:
    return secrets.token_urlsafe(24)


class Invite(BaseModel):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invites")
    token = models.CharField(max_length=64, unique=True, default=_invite_token)
    role = models.CharField(max_length=16, choices=Role.choices)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]


class ActivityEvent(BaseModel):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="activity")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    type = models.CharField(max_length=64)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "-created_at"], name="activity_project_recent")]


class InvitationState(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class Invitation(BaseModel):
    """A director or producer asked someone, by username, to join the project.

    ``username`` is what was typed; ``invitee`` the user of that name when the invitation
    was made (None when there was none: such an invitation looks the same to the project
    and can never be accepted, so the project learns nothing about which names exist, and
    someone who signs up under that name later does not inherit it)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    username = models.CharField(max_length=150)
    invitee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=16, choices=Role.choices)
    state = models.CharField(max_length=16, choices=InvitationState.choices, default=InvitationState.PENDING)
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["invitee", "state"], name="invitation_invitee_state")]
