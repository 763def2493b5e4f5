"""The render plan from the database: what the cut contains, shot by shot.

``build_plan`` reads the edit exactly as ``apps.timeline.selectors.timeline_get`` shows it
(same picks, same trims, same crossfade overlaps), so an export of the approved cut is as
long as the timeline says, to the frame. A shot without a usable take becomes a slate
("SEGMENT 12 · SHOT 3" / "NOT YET APPROVED") of the shot's length: the cut is always
watchable at its true length.

The plan is plain data (``apps.rendering.plan``); ``plan_to_dict``/``plan_from_dict`` store
it on the Export row so that every worker of one export renders the same cut.
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from apps.timeline.selectors import length_in_frames, shot_extent

from .plan import MasterSpec, PlanAudioClip, PlanMarker, PlanSegment, PlanShot, RenderPlan, SlateInfo, SourceRef

NOT_APPROVED = "NOT YET APPROVED"
NO_TAKE = "NO TAKE YET"

_TAKE_FIELDS = (
    "id", "shot_id", "number", "status", "review_state", "provenance", "cost", "source", "created_at",
    "author_id", "author__username", "author__first_name", "author__last_name",
    "reviewed_by__username", "reviewed_at", "media_id", "media__storage_key", "media__sha256",
    "media__duration_seconds", "media__fps", "media__width", "media__height", "media__has_audio", "media__status",
)


def master_spec(project) -> MasterSpec:
    return MasterSpec(
        width=project.width,
        height=project.height,
        fps_num=project.fps_num,
        fps_den=project.fps_den,
        loudness_target=float(project.loudness_target),
    )


def _display_name(first: str | None, last: str | None, username: str | None) -> str:
    """What people are called in the credits: their display name, else their username."""
    full = " ".join(p for p in (first or "", last or "") if p).strip()
    return full or (username or "")


# What a sound take was made as (the generation kind in its provenance), for the credits.
SOUND_KINDS = {"speech": "voice", "music": "music", "sound_effect": "effect"}
TRACK_SOUND = {"narration": "voice", "music": "music", "effects": "effect"}


def _sound_credits(clips) -> list[dict[str, Any]]:
    """One credit per distinct sound on the timeline's audio tracks: a generated take (speech,
    music, effect) by its backend, model, voice and author; an uploaded file by its name and
    whoever uploaded it. Two queries."""
    from apps.production.models import Take

    media_ids = {clip.media_id for clip in clips}
    takes: dict[Any, dict] = {}
    for row in (
        Take.objects.filter(media_id__in=media_ids)
        .order_by("created_at")
        .values("media_id", "source", "provenance", "author__username", "author__first_name", "author__last_name")
    ):
        takes.setdefault(row["media_id"], row)
    out: list[dict[str, Any]] = []
    seen: set = set()
    for clip in clips:
        media = clip.media
        if media.pk in seen:
            continue
        seen.add(media.pk)
        take = takes.get(media.pk)
        owner = media.owner
        entry: dict[str, Any] = {"role": "sound", "track": clip.track, "media_id": str(media.pk)}
        if take is not None and take["source"] != "upload":
            prov = take["provenance"] if isinstance(take["provenance"], dict) else {}
            params = prov.get("params") if isinstance(prov.get("params"), dict) else {}
            entry.update(
                kind=SOUND_KINDS.get(prov.get("kind") or "", TRACK_SOUND.get(clip.track, "sound")),
                title=(clip.text or prov.get("prompt") or media.original_name or "").strip()[:120],
                backend=prov.get("backend") or "",
                model=prov.get("model") or "",
                voice=str(params.get("voice") or params.get("voice_id") or prov.get("voice") or ""),
                username=take["author__username"],
                name=_display_name(take["author__first_name"], take["author__last_name"], take["author__username"]),
            )
        else:  # an uploaded file (placed directly, or uploaded as a take): who brought it in
            if take is not None:
                username = take["author__username"]
                name = _display_name(take["author__first_name"], take["author__last_name"], username)
            else:
                username = owner.username if owner else None
                name = _display_name(owner.first_name, owner.last_name, owner.username) if owner else ""
            entry.update(
                kind=TRACK_SOUND.get(clip.track, "sound"),
                title=(media.original_name or clip.text or "").strip()[:120],
                backend="upload", model="", voice="", username=username, name=name,
            )
        out.append(entry)
    return out


def _markers(*, project, segment, frames: int) -> list[PlanMarker]:
    """The edit's markers on the exported film's timeline: all of them for the film; for one
    segment, those inside it, counted from its first frame."""
    from apps.timeline.models import Marker
    from apps.timeline.selectors import timeline_get

    offset = 0
    if segment is not None:
        starts = {s["id"]: s["start_frame"] for s in timeline_get(project=project)["segments"]}
        offset = starts.get(str(segment.pk), 0)
    rows = (
        Marker.objects.filter(timeline__project=project, frame__gte=offset, frame__lt=offset + frames)
        .order_by("frame", "created_at")
        .values("id", "frame", "label", "author__username")
    )
    return [PlanMarker(id=str(m["id"]), frame=m["frame"] - offset, label=m["label"], author=m["author__username"]) for m in rows]


def _source(row: dict) -> SourceRef:
    return SourceRef(
        storage_key=row["media__storage_key"],
        # No checksum (an old row): the media id still identifies the bytes of one file.
        sha256=row["media__sha256"] or f"media:{row['media_id']}",
        duration_seconds=row["media__duration_seconds"],
        fps=row["media__fps"],
        width=row["media__width"],
        height=row["media__height"],
        has_audio=bool(row["media__has_audio"]),
    )


def _usable(row: dict | None) -> bool:
    return bool(row and row["status"] == "ready" and row["media_id"] and row["media__storage_key"])


def _cost(value: Any) -> str:
    if value is None:
        return "0"
    return str(Decimal(value).normalize()) if not isinstance(value, str) else value


def _shot_meta(*, seg: dict, shot: dict, take: dict | None, project) -> dict[str, Any]:
    prov = (take or {}).get("provenance") or {}
    meta: dict[str, Any] = {
        "segment": seg["position"] + 1,
        "segment_id": str(seg["id"]),
        "segment_title": seg["title"],
        "segment_owner": seg["owner__username"],
        "shot": shot["position"] + 1,
        "shot_id": str(shot["id"]),
        "shot_title": shot["title"],
    }
    if take is None:
        meta.update(take_id=None, slate=True)
        return meta
    meta.update(
        take_id=str(take["id"]),
        take_number=take["number"],
        take_source=take["source"],
        review_state=take["review_state"],
        artist=take["author__username"],
        artist_name=_display_name(take["author__first_name"], take["author__last_name"], take["author__username"]),
        backend=prov.get("backend") or ("upload" if take["source"] == "upload" else None),
        model=prov.get("model"),
        prompt=prov.get("prompt") if prov.get("prompt") is not None else (shot["prompt"] or None),
        negative_prompt=prov.get("negative_prompt"),
        seed=prov.get("seed"),
        cost=_cost(take["cost"]),
        currency=project.budget_currency,
        job=prov.get("job"),
        approved_by=take["reviewed_by__username"] if take["review_state"] == "approved" else None,
        approved_at=take["reviewed_at"].isoformat() if take["review_state"] == "approved" and take["reviewed_at"] else None,
        media_id=str(take["media_id"]),
        storage_key=take["media__storage_key"],
        sha256=take["media__sha256"],
    )
    return meta


def build_plan(*, project, include_unapproved: bool = False, segment=None) -> RenderPlan:
    """The cut of ``project`` (or of one ``segment``) as a RenderPlan.

    Each shot uses its pick (the approved, ready take); with ``include_unapproved`` a shot
    without one uses its latest ready take; otherwise it is a slate. Segments without shots
    have no frames and are left out."""
    from django.contrib.auth.models import User

    from apps.production.models import Segment, Shot, Take
    from apps.projects.models import Membership, Role
    from apps.timeline.models import AudioClip, Timeline

    fps = project.fps
    spec = master_spec(project)
    segments_qs = Segment.objects.filter(project=project).order_by("position")
    if segment is not None:
        segments_qs = segments_qs.filter(pk=segment.pk)
    segments = list(segments_qs.values("id", "position", "title", "owner_id", "owner__username"))
    # Numbering on slates and in the manifest is the segment's place in the whole film.
    all_positions = list(Segment.objects.filter(project=project).order_by("position").values_list("id", flat=True))
    film_index = {pk: i for i, pk in enumerate(all_positions)}
    for seg in segments:
        seg["position"] = film_index.get(seg["id"], seg["position"])

    seg_ids = [s["id"] for s in segments]
    shots_by_segment: dict[Any, list[dict]] = {}
    for shot in (
        Shot.objects.filter(segment_id__in=seg_ids)
        .order_by("segment_id", "position")
        .values("id", "segment_id", "position", "title", "prompt", "duration_frames", "in_frame", "out_frame",
                "transition_kind", "transition_frames")
    ):
        shots_by_segment.setdefault(shot["segment_id"], []).append(shot)

    takes = Take.objects.filter(shot__segment_id__in=seg_ids)
    if not include_unapproved:
        takes = takes.filter(review_state="approved")
    picks: dict[Any, dict] = {}
    latest_ready: dict[Any, dict] = {}
    for row in takes.values(*_TAKE_FIELDS).order_by("shot_id", "number"):
        if row["review_state"] == "approved":
            picks[row["shot_id"]] = row
        if _usable(row):
            latest_ready[row["shot_id"]] = row  # ordered by number: the last one wins

    plan_segments: list[PlanSegment] = []
    used_takes: list[tuple[dict, dict]] = []  # (segment row, take row)
    for seg in segments:
        plan_shots: list[PlanShot] = []
        for i, shot in enumerate(shots_by_segment.get(seg["id"], ())):
            pick = picks.get(shot["id"])
            take = pick if _usable(pick) else None
            if take is None and include_unapproved:
                take = latest_ready.get(shot["id"])
            # The length the timeline reads: the pick's, even if the pick cannot be used.
            length_row = take or pick
            length = length_in_frames(length_row["media__duration_seconds"], fps) if length_row else None
            in_frame, _, frames = shot_extent(
                in_frame=shot["in_frame"], out_frame=shot["out_frame"], planned_frames=shot["duration_frames"], length=length
            )
            kind = shot["transition_kind"] or "cut"
            t_frames = shot["transition_frames"] or 0
            if kind == "cut" or (kind == "crossfade" and i == 0):
                # A crossfade into a segment's first shot has nothing to mix with: segment
                # masters join by a plain cut (the timeline counts no overlap either).
                kind, t_frames = "cut", 0
            t_frames = min(t_frames, frames)
            meta = _shot_meta(seg=seg, shot=shot, take=take, project=project)
            meta["in_frame"], meta["out_frame"] = in_frame, in_frame + frames
            if take is not None:
                used_takes.append((seg, take))
                plan_shot = PlanShot(
                    id=str(shot["id"]), segment_id=str(seg["id"]), segment_position=seg["position"], position=i,
                    title=shot["title"], frames=frames, in_frame=in_frame, transition_kind=kind,
                    transition_frames=t_frames, source=_source(take), take_id=str(take["id"]),
                    take_number=take["number"], meta=meta,
                )
            else:
                slate = SlateInfo(
                    line1=f"SEGMENT {seg['position'] + 1} · SHOT {i + 1}",
                    # With include_unapproved, a slate means there is no ready take at all.
                    line2=NO_TAKE if include_unapproved else NOT_APPROVED,
                )
                plan_shot = PlanShot(
                    id=str(shot["id"]), segment_id=str(seg["id"]), segment_position=seg["position"], position=i,
                    title=shot["title"], frames=frames, in_frame=0, transition_kind=kind, transition_frames=t_frames,
                    slate=slate, meta=meta,
                )
            plan_shots.append(plan_shot)
        if plan_shots:
            plan_segments.append(
                PlanSegment(
                    id=str(seg["id"]), position=seg["position"], title=seg["title"], owner=seg["owner__username"],
                    shots=tuple(plan_shots),
                )
            )

    audio: list[PlanAudioClip] = []
    sound_credits: list[dict[str, Any]] = []
    if segment is None:
        timeline = Timeline.objects.filter(project=project).first()
        clips = list(
            AudioClip.objects.filter(timeline=timeline).select_related("media", "media__owner").order_by("start_frame", "track")
            if timeline else ()
        )
        sound_credits = _sound_credits([c for c in clips if c.media.storage_key])
        for clip in clips:
            media = clip.media
            if not media.storage_key:
                continue
            audio.append(
                PlanAudioClip(
                    id=str(clip.pk), track=clip.track,
                    source=SourceRef(
                        storage_key=media.storage_key, sha256=media.sha256 or f"media:{media.pk}",
                        duration_seconds=media.duration_seconds, fps=media.fps, width=media.width,
                        height=media.height, has_audio=media.has_audio,
                    ),
                    start_frame=clip.start_frame, volume=clip.volume, fade_in_frames=clip.fade_in_frames,
                    fade_out_frames=clip.fade_out_frames, text=clip.text or "",
                    length_frames=length_in_frames(media.duration_seconds, fps),
                )
            )

    # Credits: the director(s) and producers, every artist who owned a segment in the cut or
    # made a take in it, with the backends and models they used.
    people: dict[int, dict[str, Any]] = {}
    users = {}

    def person(user_id: int, role: str) -> dict[str, Any]:
        if user_id not in people:
            people[user_id] = {"user_id": user_id, "role": role, "segments": [], "backends": [], "models": []}
        return people[user_id]

    members = list(Membership.objects.filter(project=project, role__in=(Role.DIRECTOR, Role.PRODUCER)).order_by("created_at"))
    for m in members:
        if m.role == Role.DIRECTOR:
            person(m.user_id, "director")
    for m in members:
        if m.role == Role.PRODUCER:
            person(m.user_id, "producer")
    for seg in segments:
        if seg["owner_id"] and any(p.segment_id == str(seg["id"]) for s in plan_segments for p in s.shots):
            entry = person(seg["owner_id"], "artist")
            label = f"{seg['position'] + 1}. {seg['title']}"
            if label not in entry["segments"]:
                entry["segments"].append(label)
    for seg, take in used_takes:
        prov = take.get("provenance") or {}
        for uid in {take["author_id"], seg["owner_id"]} - {None}:
            entry = person(uid, "artist")
            if uid == take["author_id"]:
                label = f"{seg['position'] + 1}. {seg['title']}"
                if label not in entry["segments"]:
                    entry["segments"].append(label)
            backend = prov.get("backend") or ("upload" if take["source"] == "upload" else None)
            if backend and backend not in entry["backends"]:
                entry["backends"].append(backend)
            if prov.get("model") and prov["model"] not in entry["models"]:
                entry["models"].append(prov["model"])
    for user in User.objects.filter(pk__in=list(people)):
        users[user.pk] = user
    credits = []
    for uid, entry in people.items():
        user = users.get(uid)
        if user is None:
            continue
        entry = dict(entry)
        entry["username"] = user.username
        entry["name"] = _display_name(user.first_name, user.last_name, user.username)
        credits.append(entry)
    credits.extend(sound_credits)

    frames = sum(s.frames for s in plan_segments)
    return RenderPlan(
        project_id=str(project.pk),
        project_title=project.title,
        spec=spec,
        segments=tuple(plan_segments),
        audio=tuple(audio),
        credits=tuple(credits),
        markers=tuple(_markers(project=project, segment=segment, frames=frames)),
    )


# --------------------------------------------------------------------------------------------
# Storing a plan on the Export row
# --------------------------------------------------------------------------------------------


def plan_to_dict(plan: RenderPlan) -> dict[str, Any]:
    return asdict(plan)


def plan_from_dict(data: dict[str, Any]) -> RenderPlan:
    def src(d: dict | None) -> SourceRef | None:
        return SourceRef(**d) if d else None

    segments = []
    for seg in data.get("segments", ()):
        shots = []
        for s in seg["shots"]:
            s = dict(s)
            s["source"] = src(s.get("source"))
            s["slate"] = SlateInfo(**s["slate"]) if s.get("slate") else None
            shots.append(PlanShot(**s))
        segments.append(PlanSegment(**{**seg, "shots": tuple(shots)}))
    audio = tuple(PlanAudioClip(**{**a, "source": src(a["source"])}) for a in data.get("audio", ()))
    return RenderPlan(
        project_id=data["project_id"],
        project_title=data["project_title"],
        spec=MasterSpec(**data["spec"]),
        segments=tuple(segments),
        audio=audio,
        credits=tuple(data.get("credits", ())),
        markers=tuple(PlanMarker(**m) for m in data.get("markers", ())),
    )
