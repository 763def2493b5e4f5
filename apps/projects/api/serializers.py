from rest_framework import serializers

from apps.core.limits import (
    MAX_INVITE_DAYS,
    MAX_INVITE_USES,
    MAX_MONEY,
    MAX_RUNTIME_SECONDS,
    MAX_SIZE_PX,
    MIN_SIZE_PX,
    MONEY_DECIMAL_PLACES,
    MONEY_MAX_DIGITS,
)
from apps.projects.models import Role

_MONEY = {"max_digits": MONEY_MAX_DIGITS, "decimal_places": MONEY_DECIMAL_PLACES, "min_value": 0, "max_value": MAX_MONEY}
_SIZE = {"min_value": MIN_SIZE_PX, "max_value": MAX_SIZE_PX}


class UserBrief(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


def user_brief(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "display_name": user.get_full_name() or user.username}


class ProjectCreateIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    fps = serializers.CharField(required=False, default="24", max_length=32, help_text="24, 23.976 or 24000/1001 (1 to 240)")
    width = serializers.IntegerField(required=False, default=1920, **_SIZE)
    height = serializers.IntegerField(required=False, default=1080, **_SIZE)
    budget_amount = serializers.DecimalField(required=False, allow_null=True, **_MONEY)
    budget_currency = serializers.CharField(required=False, default="USD", max_length=3)
    target_runtime_seconds = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_RUNTIME_SECONDS)
    style_prompt = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    loudness_target = serializers.FloatField(required=False, min_value=-70, max_value=0)


class ProjectUpdateIn(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    fps = serializers.CharField(required=False, max_length=32, help_text="24, 23.976 or 24000/1001 (1 to 240)")
    width = serializers.IntegerField(required=False, **_SIZE)
    height = serializers.IntegerField(required=False, **_SIZE)
    budget_amount = serializers.DecimalField(required=False, **_MONEY)
    budget_currency = serializers.CharField(required=False, max_length=3)
    artist_budget_cap = serializers.DecimalField(required=False, allow_null=True, **_MONEY)
    target_runtime_seconds = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_RUNTIME_SECONDS)
    style_prompt = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    loudness_target = serializers.FloatField(required=False, min_value=-70, max_value=0)


def project_out(project, *, role: str | None = None) -> dict:
    return {
        "id": str(project.pk),
        "title": project.title,
        "slug": project.slug,
        "fps": project.fps_display,
        "fps_rational": f"{project.fps_num}/{project.fps_den}",
        "width": project.width,
        "height": project.height,
        "aspect": project.aspect,
        "target_runtime_seconds": project.target_runtime_seconds,
        "loudness_target": project.loudness_target,
        "budget_amount": str(project.budget_amount),
        "budget_currency": project.budget_currency,
        "artist_budget_cap": None if project.artist_budget_cap is None else str(project.artist_budget_cap),
        "style_prompt": project.style_prompt,
        "description": project.description,
        "role": role,
        "member_count": getattr(project, "member_count", None),
        "segment_count": getattr(project, "segment_count", None),
        "created_at": project.created_at,
    }


class MemberIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


def invitation_out(invitation) -> dict:
    """A pending invitation as the project's directors and producers see it."""
    return {
        "id": str(invitation.pk),
        "username": invitation.username,
        "role": invitation.role,
        "invited_by": user_brief(invitation.invited_by),
        "created_at": invitation.created_at,
        "expires_at": invitation.expires_at,
    }


def my_invitation_out(invitation) -> dict:
    """An invitation as the invited person sees it."""
    project = invitation.project
    return {
        "id": str(invitation.pk),
        "project": {"id": str(project.pk), "title": project.title},
        "role": invitation.role,
        "invited_by": user_brief(invitation.invited_by),
        "created_at": invitation.created_at,
        "expires_at": invitation.expires_at,
    }


class MemberUpdateIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


def member_out(m) -> dict:
    return {"id": str(m.pk), "user": user_brief(m.user), "role": m.role, "joined_at": m.created_at}


class InviteIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    max_uses = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_INVITE_USES)
    expires_in_days = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_INVITE_DAYS)


def invite_out(invite, request=None) -> dict:
    from django.conf import settings

    base = request.build_absolute_uri("/").rstrip("/") if request is not None else settings.MONTAGE_PUBLIC_URL.rstrip("/")
    return {
        "id": str(invite.pk),
        "token": invite.token,
        "url": f"{base}/invite/{invite.token}",
        "role": invite.role,
        "max_uses": invite.max_uses,
        "uses": invite.uses,
        "expires_at": invite.expires_at,
        "revoked": invite.revoked,
        "created_at": invite.created_at,
    }


class ReferenceIn(serializers.Serializer):
    tag = serializers.CharField(max_length=65)
    kind = serializers.ChoiceField(choices=["character", "location", "style", "prop"], default="character")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    text = serializers.CharField(required=False, allow_blank=True, default="")
    images = serializers.ListField(child=serializers.UUIDField(), required=False)


class ReferenceUpdateIn(serializers.Serializer):
    tag = serializers.CharField(max_length=65, required=False)
    kind = serializers.ChoiceField(choices=["character", "location", "style", "prop"], required=False)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    text = serializers.CharField(required=False, allow_blank=True)
    images = serializers.ListField(child=serializers.UUIDField(), required=False)


def reference_out(ref, request=None) -> dict:
    from apps.media.selectors import media_payload

    return {
        "id": str(ref.pk),
        "tag": ref.tag,
        "kind": ref.kind,
        "name": ref.name,
        "text": ref.text,
        "images": [media_payload(m, request=request) for m in ref.images.all()],
        "created_at": ref.created_at,
    }


# Never in the feed, whoever reads it (older rows may still carry them).
_PRIVATE_EVENT_DATA = {"credential.updated": {"hint"}}


def activity_out(event) -> dict:
    data = event.data
    private = _PRIVATE_EVENT_DATA.get(event.type)
    if private and isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in private}
    return {"id": str(event.pk), "type": event.type, "actor": user_brief(event.actor), "data": data, "at": event.created_at}
