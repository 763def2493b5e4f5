"""Writes for projects, people, invites and the style bible."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from apps.core.errors import Conflict, NotFound, PermissionDenied, ValidationError

from .access import MANAGERS, Access
from .events import person, record_event
from .models import Invitation, InvitationState, Invite, Membership, Project, Reference, Role

User = get_user_model()

# NTSC rates are exact rationals; people type them as decimals.
_NTSC = {
    Fraction("23.976"): Fraction(24000, 1001),
    Fraction("23.98"): Fraction(24000, 1001),
    Fraction("29.97"): Fraction(30000, 1001),
    Fraction("47.952"): Fraction(48000, 1001),
    Fraction("59.94"): Fraction(60000, 1001),
    Fraction("119.88"): Fraction(120000, 1001),
}


def parse_fps(value: Any) -> Fraction:
    """'24', 24, 23.976, '24000/1001' → an exact Fraction. Raises ValidationError."""
    try:
        if isinstance(value, str) and "/" in value:
            num, den = value.split("/", 1)
            fps = Fraction(int(num), int(den))
        else:
            fps = Fraction(str(value)).limit_denominator(1001)
            fps = _NTSC.get(Fraction(str(value)), fps)
    except (ValueError, ZeroDivisionError, TypeError):
        raise ValidationError("fps must be a number such as 24, 25, 23.976 or 24000/1001.", fields={"fps": ["Not a frame rate."]})
    if not (1 <= fps <= 240):
        raise ValidationError("fps must be between 1 and 240.", fields={"fps": ["Out of range."]})
    return fps


def _validate_size(width: int, height: int) -> None:
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise ValidationError("Width and height must be between 16 and 8192 pixels.", fields={"width": ["Out of range."]})
    if width % 2 or height % 2:
        raise ValidationError("Width and height must be even numbers (H.264 needs it).", fields={"width": ["Must be even."]})


def _unique_slug(title: str) -> str:
    base = slugify(title)[:60] or "film"
    slug, n = base, 2
    while Project.objects.filter(slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


def project_create(
    *,
    actor,
    title: str,
    fps: Any = 24,
    width: int = 1920,
    height: int = 1080,
    budget_amount: Decimal | None = None,
    budget_currency: str = "USD",
    slug: str | None = None,
    **extra: Any,
) -> Project:
    from apps.timeline.models import Timeline

    title = (title or "").strip()
    if not title:
        raise ValidationError("A project needs a title.", fields={"title": ["This field is required."]})
    rate = parse_fps(fps)
    _validate_size(width, height)
    if budget_amount is not None and budget_amount < 0:
        raise ValidationError("The budget cannot be negative.", fields={"budget_amount": ["Must be ≥ 0."]})
    with transaction.atomic():
        project = Project.objects.create(
            title=title,
            slug=slug or _unique_slug(title),
            fps_num=rate.numerator,
            fps_den=rate.denominator,
            width=width,
            height=height,
            budget_amount=budget_amount or Decimal("0"),
            budget_currency=(budget_currency or "USD").upper()[:3],
            created_by=actor,
            **{k: v for k, v in extra.items() if v is not None},
        )
        Membership.objects.create(project=project, user=actor, role=Role.DIRECTOR)
        Timeline.objects.create(project=project)
        record_event(project=project, actor=actor, type="project.created", data={"id": str(project.pk), "title": title})
    return project


_DIRECTOR_FIELDS = {
    "title", "fps", "width", "height", "target_runtime_seconds", "loudness_target", "style_prompt", "description",
}
_BUDGET_FIELDS = {"budget_amount", "budget_currency", "artist_budget_cap"}
# Values the activity feed repeats ("pablo set the budget to 250 USD"); long texts are named only.
_SHOWN_IN_FEED = {"title", "fps", "width", "height", "target_runtime_seconds", "loudness_target", *_BUDGET_FIELDS}
MAX_RUNTIME_SECONDS = 24 * 3600


def _feed_value(project: Project, name: str) -> Any:
    if name == "fps":
        return f"{project.fps_num}/{project.fps_den}"
    value = getattr(project, name)
    return str(value) if isinstance(value, Decimal) else value


def project_update(*, access: Access, **fields: Any) -> Project:
    """Change the project's settings. The director changes anything; a producer changes the
    budget fields only (a refusal names the fields, so a form can show it beside them)."""
    allowed = (_DIRECTOR_FIELDS | _BUDGET_FIELDS) if access.is_director else _BUDGET_FIELDS if access.is_manager else set()
    if not allowed:
        raise PermissionDenied("Only the director or a producer can change the project.")
    refused = sorted(set(fields) - allowed)
    if refused:
        raise PermissionDenied(
            f"Only the director can change {', '.join(name.replace('_', ' ') for name in refused)}; "
            "a producer changes the budget, the currency and the cap per artist.",
            fields={name: ["Only the director can change this."] for name in refused},
        )
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=access.project.pk)
        before = {name: _feed_value(project, name) for name in _SHOWN_IN_FEED}
        before_text = {name: getattr(project, name) for name in ("style_prompt", "description")}
        if "fps" in fields:
            rate = parse_fps(fields.pop("fps"))
            project.fps_num, project.fps_den = rate.numerator, rate.denominator
        if "width" in fields or "height" in fields:
            _validate_size(fields.get("width", project.width), fields.get("height", project.height))
        if fields.get("budget_amount") is not None and fields["budget_amount"] < 0:
            raise ValidationError("The budget cannot be negative.", fields={"budget_amount": ["Must be ≥ 0."]})
        if fields.get("artist_budget_cap") is not None and fields["artist_budget_cap"] < 0:
            raise ValidationError("The cap per artist cannot be negative.", fields={"artist_budget_cap": ["Must be ≥ 0."]})
        runtime = fields.get("target_runtime_seconds")
        if runtime is not None and not (1 <= runtime <= MAX_RUNTIME_SECONDS):
            raise ValidationError("The target runtime must be between 1 second and 24 hours.", fields={"target_runtime_seconds": ["Out of range."]})
        if "budget_currency" in fields:
            fields["budget_currency"] = (fields["budget_currency"] or "USD").strip().upper()[:3]
        if "title" in fields and not (fields["title"] or "").strip():
            raise ValidationError("A project needs a title.", fields={"title": ["This field may not be blank."]})
        for key, value in fields.items():
            setattr(project, key, value)
        project.save()
        project.refresh_from_db()
        changes = {name: _feed_value(project, name) for name in _SHOWN_IN_FEED if _feed_value(project, name) != before[name]}
        changed = sorted([*changes, *(name for name, text in before_text.items() if getattr(project, name) != text)])
        if changed:
            record_event(
                project=project, actor=access.user, type="project.updated",
                data={"id": str(project.pk), "fields": changed, "changes": changes, "currency": project.budget_currency},
            )
    return project


# --- members -------------------------------------------------------------------------------


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}; use director, producer, artist or viewer.", fields={"role": ["Not a role."]})


def membership_add(*, access: Access, username: str, role: str) -> Membership:
    """Add a user straight away (demo data, scripts). The API invites instead (member_invite)."""
    access.require(*MANAGERS, action="add members")
    _check_role(role)
    if role == Role.DIRECTOR and not access.is_director:
        raise PermissionDenied("Only a director can make someone a director.")
    user = User.objects.filter(username__iexact=(username or "").strip()).first()
    if user is None:
        raise ValidationError(f"There is no user called {username!r}.", fields={"username": ["No such user."]})
    try:
        with transaction.atomic():
            membership = Membership.objects.create(project=access.project, user=user, role=role)
            record_event(project=access.project, actor=access.user, type="member.added", data=_member_data(membership))
    except IntegrityError:
        raise Conflict(f"{user.username} is already a member of this project.", code="already_member")
    return membership


# --- invitations by username --------------------------------------------------------------

INVITATION_DAYS = 30


def _pending(qs):
    return qs.filter(state=InvitationState.PENDING, expires_at__gt=timezone.now())


def member_invite(*, access: Access, username: str, role: str) -> Invitation | None:
    """Invite someone by username; they join when they accept (see invitation_accept).

    Whether or not such a user exists, the caller sees the same: the same answer and a
    pending invitation in the project's list (one for a name nobody has can never be
    accepted). Inviting a pending name again changes the role and restarts the clock; a
    name that is already a member gets nothing new. Returns the invitation (None for a member)."""
    access.require(*MANAGERS, action="invite members")
    _check_role(role)
    if role == Role.DIRECTOR and not access.is_director:
        raise PermissionDenied("Only a director can make someone a director.")
    name = (username or "").strip()
    if not name or len(name) > 150:
        raise ValidationError("Type the username of the person to invite (up to 150 characters).", fields={"username": ["Invalid username."]})
    user = User.objects.filter(username__iexact=name).first()
    if user is not None and Membership.objects.filter(project=access.project, user=user).exists():
        return None
    expires_at = timezone.now() + timedelta(days=INVITATION_DAYS)
    with transaction.atomic():
        existing = _pending(Invitation.objects.select_for_update().filter(project=access.project, username__iexact=name)).first()
        if existing is not None:
            existing.role, existing.expires_at, existing.invited_by = role, expires_at, access.user
            existing.invitee = user
            existing.save(update_fields=["role", "expires_at", "invited_by", "invitee", "updated_at"])
            return existing
        return Invitation.objects.create(
            project=access.project, username=user.username if user else name, invitee=user, role=role,
            expires_at=expires_at, invited_by=access.user,
        )


def invitation_cancel(*, access: Access, invitation: Invitation) -> None:
    access.require(*MANAGERS, action="cancel invitations")
    Invitation.objects.filter(pk=invitation.pk, project=access.project, state=InvitationState.PENDING).update(
        state=InvitationState.CANCELLED, responded_at=timezone.now()
    )


def _my_invitation(user, invitation_id) -> Invitation:
    invitation = Invitation.objects.select_for_update().select_related("project").filter(pk=invitation_id, invitee=user).first()
    if invitation is None or invitation.state in (InvitationState.CANCELLED, InvitationState.DECLINED):
        raise NotFound("No such invitation (it may have been cancelled).")
    if invitation.state == InvitationState.PENDING and invitation.expires_at <= timezone.now():
        raise Conflict("This invitation has expired; ask the director for a new one.", code="invitation_expired")
    return invitation


def invitation_accept(*, user, invitation_id) -> Membership:
    """Join the project the invitation is for, in its role (accepting twice is harmless)."""
    with transaction.atomic():
        invitation = _my_invitation(user, invitation_id)
        membership = Membership.objects.filter(project=invitation.project, user=user).first()
        if membership is None:
            membership = Membership.objects.create(project=invitation.project, user=user, role=invitation.role)
            record_event(project=invitation.project, actor=user, type="member.added", data=_member_data(membership))
        if invitation.state == InvitationState.PENDING:
            invitation.state, invitation.responded_at = InvitationState.ACCEPTED, timezone.now()
            invitation.save(update_fields=["state", "responded_at", "updated_at"])
    return membership


def invitation_decline(*, user, invitation_id) -> None:
    with transaction.atomic():
        invitation = _my_invitation(user, invitation_id)
        if invitation.state != InvitationState.PENDING:
            raise Conflict("This invitation has already been accepted.", code="invitation_accepted")
        invitation.state, invitation.responded_at = InvitationState.DECLINED, timezone.now()
        invitation.save(update_fields=["state", "responded_at", "updated_at"])


def _member_data(m: Membership) -> dict[str, Any]:
    return {"id": str(m.pk), "user": person(m.user), "role": m.role}


def _ensure_director_left(project: Project, excluding: Membership) -> None:
    others = Membership.objects.filter(project=project, role=Role.DIRECTOR).exclude(pk=excluding.pk)
    if not others.exists():
        raise Conflict("A project must keep at least one director.", code="last_director")


def membership_update(*, access: Access, membership: Membership, role: str) -> Membership:
    access.require(*MANAGERS, action="change roles")
    _check_role(role)
    if (role == Role.DIRECTOR or membership.role == Role.DIRECTOR) and not access.is_director:
        raise PermissionDenied("Only a director can grant or take away the director role.")
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.role == Role.DIRECTOR and role != Role.DIRECTOR:
            _ensure_director_left(access.project, membership)
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
        if role != Role.ARTIST:
            _release_segments_of(access, membership.user)
        record_event(project=access.project, actor=access.user, type="member.updated", data=_member_data(membership))
    return membership


def membership_remove(*, access: Access, membership: Membership) -> None:
    access.require(*MANAGERS, action="remove members")
    if membership.role == Role.DIRECTOR and not access.is_director:
        raise PermissionDenied("Only a director can remove a director.")
    with transaction.atomic():
        if membership.role == Role.DIRECTOR:
            _ensure_director_left(access.project, membership)
        data = _member_data(membership)
        _release_segments_of(access, membership.user)
        membership.delete()
        record_event(project=access.project, actor=access.user, type="member.removed", data=data)


def _release_segments_of(access: Access, user) -> None:
    """Someone who can no longer own segments gives them back (their work stays)."""
    from apps.production.models import Segment, SegmentStatus

    owned = Segment.objects.filter(project=access.project, owner=user)
    for seg in owned:
        Segment.objects.filter(pk=seg.pk).update(owner=None, claimed_at=None, status=SegmentStatus.OPEN, revision=F("revision") + 1)
        record_event(project=access.project, actor=access.user, type="segment.released", data={"id": str(seg.pk), "owner": None})


# --- invites -------------------------------------------------------------------------------


def invite_create(*, access: Access, role: str, max_uses: int | None = None, expires_in_days: int | None = None) -> Invite:
    access.require(*MANAGERS, action="invite people")
    _check_role(role)
    if role == Role.DIRECTOR and not access.is_director:
        raise PermissionDenied("Only a director can invite another director.")
    if max_uses is not None and max_uses < 1:
        raise ValidationError("max_uses must be at least 1.", fields={"max_uses": ["Must be ≥ 1."]})
    if expires_in_days is not None and not (1 <= expires_in_days <= 365):
        raise ValidationError("expires_in_days must be between 1 and 365.", fields={"expires_in_days": ["Out of range."]})
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    with transaction.atomic():
        invite = Invite.objects.create(project=access.project, role=role, max_uses=max_uses, expires_at=expires_at, created_by=access.user)
        record_event(project=access.project, actor=access.user, type="invite.created", data={"id": str(invite.pk), "role": role})
    return invite


def invite_revoke(*, access: Access, invite: Invite) -> None:
    access.require(*MANAGERS, action="revoke invites")
    Invite.objects.filter(pk=invite.pk).update(revoked=True)


def invite_accept(*, user, token: str) -> Membership:
    with transaction.atomic():
        invite = Invite.objects.select_for_update().select_related("project").filter(token=token).first()
        if invite is None or invite.revoked:
            raise NotFound("This invite link is not valid (it may have been revoked).")
        if invite.expires_at and invite.expires_at <= timezone.now():
            raise Conflict("This invite link has expired; ask for a new one.", code="invite_expired")
        existing = Membership.objects.filter(project=invite.project, user=user).first()
        if existing:
            return existing  # accepting twice is harmless and uses nothing up
        if invite.max_uses is not None and invite.uses >= invite.max_uses:
            raise Conflict("This invite link has been used up; ask for a new one.", code="invite_used_up")
        membership = Membership.objects.create(project=invite.project, user=user, role=invite.role)
        Invite.objects.filter(pk=invite.pk).update(uses=F("uses") + 1)
        record_event(project=invite.project, actor=user, type="member.added", data=_member_data(membership))
    return membership


# --- style bible ---------------------------------------------------------------------------

_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _clean_tag(tag: str) -> str:
    tag = (tag or "").strip().lstrip("@").lower()
    if not _TAG.match(tag):
        raise ValidationError("A tag is letters, digits, - and _ (like @mara or @old-harbour).", fields={"tag": ["Not a valid tag."]})
    return tag


def _reference_images(access: Access, image_ids: list[str] | None):
    """Images for a reference: media files of this project, or the caller's own completed
    uploads (which then become media of this project)."""
    from apps.media.models import MediaFile

    if not image_ids:
        return []
    ids = list(dict.fromkeys(str(i) for i in image_ids))
    found = {str(m.pk): m for m in MediaFile.objects.filter(pk__in=ids, project=access.project)}
    uploads = MediaFile.objects.filter(upload__pk__in=[i for i in ids if i not in found], upload__owner=access.user)
    for media in uploads.filter(Q(upload__project__isnull=True) | Q(upload__project=access.project)):
        if media.project_id not in (None, access.project.pk):
            continue
        if media.project_id is None:
            MediaFile.objects.filter(pk=media.pk).update(project=access.project)
        found[str(media.upload.pk)] = media
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError("Some images are not uploads or media files of this project.", fields={"images": ["Unknown media."]})
    return [found[i] for i in ids]


def reference_create(*, access: Access, tag: str, kind: str = "character", name: str = "", text: str = "", images: list[str] | None = None) -> Reference:
    access.require(Role.DIRECTOR, Role.PRODUCER, Role.ARTIST, action="edit the style bible")
    tag = _clean_tag(tag)
    media = _reference_images(access, images)
    try:
        with transaction.atomic():
            ref = Reference.objects.create(project=access.project, tag=tag, kind=kind, name=name, text=text, created_by=access.user)
            if media:
                ref.images.set(media)
            record_event(project=access.project, actor=access.user, type="reference.created", data={"id": str(ref.pk), "tag": tag})
    except IntegrityError:
        raise Conflict(f"The tag @{tag} is already used in this project.", code="tag_taken")
    return ref


def reference_update(*, access: Access, reference: Reference, images: list[str] | None = None, **fields: Any) -> Reference:
    if not (access.is_manager or reference.created_by_id == access.user.pk):
        raise PermissionDenied("Only the director, a producer or the reference's author can change it.")
    if "tag" in fields:
        fields["tag"] = _clean_tag(fields["tag"])
    try:
        with transaction.atomic():
            for key, value in fields.items():
                setattr(reference, key, value)
            reference.save()
            if images is not None:
                reference.images.set(_reference_images(access, images))
            record_event(project=access.project, actor=access.user, type="reference.updated", data={"id": str(reference.pk), "tag": reference.tag})
    except IntegrityError:
        raise Conflict("That tag is already used in this project.", code="tag_taken")
    return reference


def reference_delete(*, access: Access, reference: Reference) -> None:
    if not (access.is_manager or reference.created_by_id == access.user.pk):
        raise PermissionDenied("Only the director, a producer or the reference's author can delete it.")
    with transaction.atomic():
        data = {"id": str(reference.pk), "tag": reference.tag}
        reference.delete()
        record_event(project=access.project, actor=access.user, type="reference.deleted", data=data)
