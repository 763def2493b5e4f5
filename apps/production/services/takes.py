"""Takes (upload, ingest result, review, delete) and their comments."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.media.services import media_discard, upload_consume
from apps.projects.access import Access
from apps.projects.events import person, record_event
from apps.projects.models import Role

from ..models import Comment, ReviewState, Shot, Take, TakeSource, TakeStatus
from .common import _bump_timeline, _lock_project, _require_unlocked, _segment_refresh_status

SOUND_KINDS = ("speech", "sound_effect", "music")


def take_kind(take: Take) -> str:
    """What made the take: a generation kind (text_to_video, upscale, speech, …) or "upload"."""
    return str((take.provenance or {}).get("kind") or ("upload" if take.source == TakeSource.UPLOAD else ""))


def take_medium(take: Take) -> str:
    """What the take is: a video clip (uploads and video kinds), audio (narration, sound
    effects, music) or an image (text-to-image stills, used as input images)."""
    kind = take_kind(take)
    return "audio" if kind in SOUND_KINDS else "image" if kind == "text_to_image" else "video"


def take_data(take: Take) -> dict[str, Any]:
    return {
        "id": str(take.pk),
        "shot": str(take.shot_id),
        "number": take.number,
        "status": take.status,
        "review_state": take.review_state,
        "error": take.error,
        "kind": take_kind(take),
        "medium": take_medium(take),
        # What the activity feed says: "dana approved take 2 of 'Waves' by ana".
        "shot_title": take.shot.title,
        "segment": str(take.shot.segment_id),
        "author": person(take.author) if take.author_id else None,
    }


def _next_take_number(shot: Shot) -> int:
    # Lock the shot so two uploads at once do not take the same number.
    Shot.objects.select_for_update().filter(pk=shot.pk).first()
    return (Take.objects.filter(shot=shot).aggregate(n=Max("number"))["n"] or 0) + 1


def take_create_from_upload(*, access: Access, shot: Shot, upload_id: str) -> Take:
    access.require_segment_editor(shot.segment, action="add takes to this shot")
    _require_unlocked(shot.segment)
    with transaction.atomic():
        media = upload_consume(actor=access.user, upload_id=upload_id, project=access.project)
        take = Take.objects.create(
            shot=shot,
            number=_next_take_number(shot),
            media=media,
            source=TakeSource.UPLOAD,
            author=access.user,
            status=TakeStatus.PROCESSING,
            provenance={"source": "upload", "filename": media.original_name, "uploaded_by": access.user.get_username()},
        )
        record_event(project=access.project, actor=access.user, type="take.created", data=take_data(take))
    # A media file ingested before this take existed (or instantly, in eager mode) still
    # settles the take.
    take.refresh_from_db()
    if take.status == TakeStatus.PROCESSING:
        media.refresh_from_db()
        if media.status in ("ready", "failed"):
            take_media_finished(media=media)
            take.refresh_from_db()
    return take


def take_media_finished(*, media) -> None:
    """Called by ingest when a media file ends ready or failed: settle the takes that use it."""
    takes = list(Take.objects.filter(media=media, status=TakeStatus.PROCESSING).select_related("shot__segment__project"))
    for take in takes:
        expected = take_medium(take)
        if media.status == "ready" and media.kind == expected:
            status, error = TakeStatus.READY, ""
        elif media.status == "ready":
            status = TakeStatus.FAILED
            found = {"image": "an image", "audio": "audio only", "video": "a video"}.get(media.kind, "not playable media")
            error = f"This file is {found}; this take needs {'a video clip' if expected == 'video' else 'an ' + expected if expected == 'image' else 'audio'}."
        else:
            status, error = TakeStatus.FAILED, media.error or "The file could not be processed."
        with transaction.atomic():
            updated = Take.objects.filter(pk=take.pk, status=TakeStatus.PROCESSING).update(status=status, error=error)
            if updated:
                take.status, take.error = status, error
                event = "take.ready" if status == TakeStatus.READY else "take.failed"
                record_event(project=take.shot.segment.project, actor=None, type=event, data=take_data(take))


def _uses_as_input(waiting: Take, take: Take) -> bool:
    """Whether the still-processing take ``waiting`` is being made from ``take`` (its parent,
    its input image, or its file as input media)."""
    prov = waiting.provenance or {}
    image = prov.get("input_image")
    image_take = image.get("take") if isinstance(image, dict) else image
    media = [str(m) for m in prov.get("input_media") or []]
    return str(take.pk) in (str(prov.get("parent_take") or ""), str(image_take or "")) or (
        take.media_id is not None and str(take.media_id) in media
    )


def take_delete(*, access: Access, take: Take) -> None:
    """Delete a take: the director any, an artist their own takes in a segment they work on.

    The shot's pick (approved take) is never deleted, nor a take still being made or one a
    running job is made from (409: cancel the job or wait). Comments go with the take; takes
    made from it keep their provenance (their parent link is cleared); money spent on it stays
    in the ledger. Its file is discarded by the media app unless something else uses it."""
    segment = take.shot.segment
    if not access.is_director:
        if access.role != Role.ARTIST or take.author_id != access.user.pk:
            raise PermissionDenied("Only the take's author (in a segment they work on) or the director can delete a take.")
        access.require_segment_editor(segment, action="delete takes in this segment")
    _require_unlocked(segment)
    with transaction.atomic():
        shot = Shot.objects.select_for_update().get(pk=take.shot_id)
        take = Take.objects.select_for_update().filter(pk=take.pk).first()
        if take is None:
            return  # deleted meanwhile: the outcome asked for
        if take.review_state == ReviewState.APPROVED:
            raise Conflict(
                "This take is the approved pick of the shot; the director picks another take "
                "(or requests changes) before it can be deleted."
            )
        if take.status == TakeStatus.PROCESSING:
            raise Conflict(
                f"Take {take.number} is still being made; cancel its job or wait until it is ready or failed.",
                code="take_processing",
            )
        waiting = Take.objects.filter(shot__segment__project=access.project, status=TakeStatus.PROCESSING).exclude(pk=take.pk)
        users = sorted(t.number for t in waiting if t.shot_id == shot.pk and _uses_as_input(t, take))
        others = [t for t in waiting if t.shot_id != shot.pk and _uses_as_input(t, take)]
        if users or others:
            which = f"take {users[0]} of this shot" if users else f"take {others[0].number} of another shot"
            raise Conflict(
                f"Take {take.number} is the input of {which}, which is still being made; wait for it or cancel its job.",
                code="take_in_use",
            )
        data = take_data(take) | {"segment": str(shot.segment_id), "shot_title": shot.title, "source": take.source}
        media_id = take.media_id
        was_submitted = take.review_state == ReviewState.SUBMITTED
        take.delete()
        if media_id is not None:
            media_discard(media_id=media_id)
        if was_submitted:
            _segment_refresh_status(segment)  # it may no longer wait for review
        record_event(project=access.project, actor=access.user, type="take.deleted", data=data)


def _require_picture(take: Take) -> None:
    """Only a video clip can become the shot's picture: sound takes go on the timeline's
    audio tracks and stills are input images, so neither is reviewed as a pick."""
    medium = take_medium(take)
    if medium != "video":
        what = "a sound take (speech, music or effects)" if medium == "audio" else "a still image"
        use = "place it on an audio track of the timeline" if medium == "audio" else "use it as an input image"
        raise Conflict(f"Take {take.number} is {what}, not the shot's picture; {use} instead.", code="take_not_video")


def _editable_take(access: Access, take: Take, *, action: str) -> None:
    access.require_segment_editor(take.shot.segment, action=action)


def take_submit(*, access: Access, take: Take) -> Take:
    _editable_take(access, take, action="submit takes for review")
    _require_unlocked(take.shot.segment)
    with transaction.atomic():
        take = Take.objects.select_for_update().select_related("shot__segment").get(pk=take.pk)
        if take.status != TakeStatus.READY:
            raise Conflict("Only a ready take can be submitted (this one is still processing or failed).", code="take_not_ready")
        _require_picture(take)
        if take.review_state == ReviewState.APPROVED:
            raise Conflict("This take is already approved.", code="already_approved")
        if take.review_state != ReviewState.SUBMITTED:
            take.review_state = ReviewState.SUBMITTED
            take.save(update_fields=["review_state", "updated_at"])
            record_event(project=access.project, actor=access.user, type="take.submitted", data=take_data(take))
            _segment_refresh_status(take.shot.segment)
    return take


def take_approve(*, access: Access, take: Take) -> Take:
    access.require(Role.DIRECTOR, action="approve takes")
    try:
        with transaction.atomic():
            # Lock order for every write that changes the edit: project, timeline, segment,
            # shot. Approvals of one shot queue on the shot row; the partial unique index
            # take_one_pick_per_shot is the last line if anything slips past.
            _lock_project(access.project)
            shot = Shot.objects.select_for_update().select_related("segment").get(pk=take.shot_id)
            take = Take.objects.select_for_update().get(pk=take.pk)
            if take.status != TakeStatus.READY:
                raise Conflict("Only a ready take can be approved.", code="take_not_ready")
            _require_picture(take)
            if take.review_state == ReviewState.APPROVED:
                return take
            previous = list(Take.objects.filter(shot=shot, review_state=ReviewState.APPROVED).exclude(pk=take.pk))
            for old in previous:
                old.review_state = ReviewState.SUBMITTED
                old.save(update_fields=["review_state", "updated_at"])
            take.review_state = ReviewState.APPROVED
            take.reviewed_by = access.user
            take.reviewed_at = timezone.now()
            take.save(update_fields=["review_state", "reviewed_by", "reviewed_at", "updated_at"])
            data = take_data(take) | {"replaced": [str(t.pk) for t in previous]}
            revision = _bump_timeline(access.project)
            record_event(project=access.project, actor=access.user, type="take.approved", data=data, revision=revision)
            _segment_refresh_status(shot.segment)
    except IntegrityError:
        raise Conflict("Another take of this shot was approved at the same moment; reload to see the pick.")
    return take


def take_request_changes(*, access: Access, take: Take, comment: str, frame: int | None = None) -> Take:
    access.require(Role.DIRECTOR, action="request changes")
    if not (comment or "").strip():
        raise ValidationError("Say what should change.", fields={"comment": ["This field is required."]})
    with transaction.atomic():
        _lock_project(access.project)
        take = Take.objects.select_for_update().select_related("shot__segment").get(pk=take.pk)
        was_pick = take.review_state == ReviewState.APPROVED
        take.review_state = ReviewState.CHANGES_REQUESTED
        take.reviewed_by = access.user
        take.reviewed_at = timezone.now()
        take.save(update_fields=["review_state", "reviewed_by", "reviewed_at", "updated_at"])
        note = comment_create(access=access, take=take, body=comment, frame=frame)
        revision = _bump_timeline(access.project) if was_pick else None
        record_event(
            project=access.project, actor=access.user, type="take.changes_requested",
            data=take_data(take) | {"comment": str(note.pk), "body": note.body}, revision=revision,
        )
        _segment_refresh_status(take.shot.segment)
    return take


# --- comments ------------------------------------------------------------------------------


def comment_create(*, access: Access, take: Take, body: str, frame: int | None = None, parent: str | None = None) -> Comment:
    body = (body or "").strip()
    if not body:
        raise ValidationError("A comment needs some text.", fields={"body": ["This field is required."]})
    if len(body) > 10_000:
        raise ValidationError("A comment is at most 10,000 characters.", fields={"body": ["Too long."]})
    if frame is not None and frame < 0:
        raise ValidationError("frame must be 0 or more.", fields={"frame": ["Must be ≥ 0."]})
    parent_obj = None
    if parent:
        parent_obj = Comment.objects.filter(pk=parent, take=take).first()
        if parent_obj is None:
            raise ValidationError("The comment you reply to is not on this take.", fields={"parent": ["Unknown comment."]})
    with transaction.atomic():
        comment = Comment.objects.create(take=take, author=access.user, body=body, frame=frame, parent=parent_obj)
        record_event(
            project=access.project, actor=access.user, type="comment.created",
            data={"id": str(comment.pk), "take": str(take.pk), "frame": frame, "body": body[:200],
                  "parent": str(parent_obj.pk) if parent_obj else None},
        )
    return comment
