from rest_framework import serializers

from apps.core.limits import MAX_FRAMES, MAX_POSITION, MAX_REVISION, MAX_SHOT_FRAMES
from apps.media.selectors import media_payload
from apps.production.services.takes import take_kind, take_medium
from apps.projects.api.serializers import user_brief


class SegmentIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    synopsis = serializers.CharField(required=False, allow_blank=True, default="")
    target_frames = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_FRAMES)
    position = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=MAX_POSITION)


class SegmentUpdateIn(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    synopsis = serializers.CharField(required=False, allow_blank=True)
    target_frames = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_FRAMES)
    position = serializers.IntegerField(required=False, min_value=0, max_value=MAX_POSITION)
    status = serializers.ChoiceField(choices=["open", "claimed", "in_review", "approved", "locked"], required=False)
    revision = serializers.IntegerField(required=False, min_value=0, max_value=MAX_REVISION)


class AssignIn(serializers.Serializer):
    username = serializers.CharField()


def segment_out(seg) -> dict:
    return {
        "id": str(seg.pk),
        "project": str(seg.project_id),
        "position": seg.position,
        "title": seg.title,
        "synopsis": seg.synopsis,
        "target_frames": seg.target_frames,
        "owner": user_brief(seg.owner),
        "claimed_at": seg.claimed_at,
        "status": seg.status,
        "revision": seg.revision,
        "shot_count": getattr(seg, "shot_count", None),
        "approved_count": getattr(seg, "approved_count", None),
        "submitted_count": getattr(seg, "submitted_count", None),
        "created_at": seg.created_at,
    }


class ShotIn(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    prompt = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    negative_prompt = serializers.CharField(required=False, allow_blank=True, default="")
    camera_notes = serializers.CharField(required=False, allow_blank=True, default="")
    duration_frames = serializers.IntegerField(min_value=1, max_value=MAX_SHOT_FRAMES)
    position = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=MAX_POSITION)
    references = serializers.ListField(child=serializers.CharField(), required=False)


class ShotUpdateIn(serializers.Serializer):
    revision = serializers.IntegerField(min_value=0, max_value=MAX_REVISION)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    prompt = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    negative_prompt = serializers.CharField(required=False, allow_blank=True)
    camera_notes = serializers.CharField(required=False, allow_blank=True)
    duration_frames = serializers.IntegerField(required=False, min_value=1, max_value=MAX_SHOT_FRAMES)
    references = serializers.ListField(child=serializers.CharField(), required=False)


def shot_out(shot) -> dict:
    picks = getattr(shot, "picks", None)
    pick = picks[0] if picks else None
    return {
        "id": str(shot.pk),
        "segment": str(shot.segment_id),
        "position": shot.position,
        "title": shot.title,
        "description": shot.description,
        "prompt": shot.prompt,
        "negative_prompt": shot.negative_prompt,
        "camera_notes": shot.camera_notes,
        "duration_frames": shot.duration_frames,
        "references": ["@" + r.tag for r in shot.references.all()],
        "in_frame": shot.in_frame,
        "out_frame": shot.out_frame,
        "transition": {"kind": shot.transition_kind, "frames": shot.transition_frames},
        "revision": shot.revision,
        "take_count": getattr(shot, "take_count", None),
        "pick": None if pick is None else {"id": str(pick.pk), "number": pick.number,
                                           "thumbnail_url": media_payload(pick.media)["thumbnail_url"] if pick.media else None},
        "created_at": shot.created_at,
    }


class TakeFromUploadIn(serializers.Serializer):
    upload = serializers.UUIDField()


def take_out(take, request=None) -> dict:
    return {
        "id": str(take.pk),
        "shot": str(take.shot_id),
        "number": take.number,
        "source": take.source,
        "status": take.status,
        "error": take.error,
        "review_state": take.review_state,
        "is_pick": take.review_state == "approved",
        "media": media_payload(take.media, request=request) if take.media_id else None,
        "provenance": take.provenance,
        # What made it (a generation kind or "upload") and what it is (video, audio, image):
        # sound takes get their own list, stills serve as input images.
        "kind": take_kind(take),
        "medium": take_medium(take),
        "seed": (take.provenance or {}).get("seed"),
        "cost": str(take.cost),
        "author": user_brief(take.author),
        "reviewed_by": user_brief(take.reviewed_by),
        "reviewed_at": take.reviewed_at,
        "parent": str(take.parent_id) if take.parent_id else None,
        "comment_count": getattr(take, "comment_count", None),
        "created_at": take.created_at,
    }


class RequestChangesIn(serializers.Serializer):
    comment = serializers.CharField()
    frame = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=MAX_FRAMES)


class CommentIn(serializers.Serializer):
    body = serializers.CharField()
    frame = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=MAX_FRAMES)
    parent = serializers.UUIDField(required=False, allow_null=True)


def comment_out(c) -> dict:
    return {
        "id": str(c.pk),
        "take": str(c.take_id),
        "author": user_brief(c.author),
        "body": c.body,
        "frame": c.frame,
        "parent": str(c.parent_id) if c.parent_id else None,
        "created_at": c.created_at,
    }
