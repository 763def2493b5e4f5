"""Exports: create, render (per segment, then the final cut), cancel, reap.

The pipeline, on the ``render`` queue (tasks in ``tasks.py`` only call these functions)::

    export_create ──on commit──▶ start_export ──▶ render_export_segment × N ──chord──▶ finish_export
                                 (claim, fan out)   (conform shots + master)          (final MP4,
                                                                                      deliverables,
                                                                                      artifacts)

The fan-out is a Celery chord (``tasks.py``); the database keeps the truth of the join: every
segment task, when its master is built, marks its ``ExportSegment`` row done (a conditional
UPDATE, so a redelivered task never counts twice) and increments ``Export.segments_done``;
then each tries to claim the final step with ``UPDATE … SET final_started_at=now WHERE
final_started_at IS NULL AND segments_done >= segments_total``. Exactly one task wins (the
row lock serialises the UPDATEs), and at least one sees the full count (the last to commit).
``export_finish`` runs only for a claimed attempt, so the chord's body (or the CLI, which runs
the same steps in one process) builds the final cut exactly once, and a segment task that is
retried or redelivered after a worker died changes nothing.

Every task carries the attempt number it was started for: when the reaper restarts an
export (its worker died), tasks of the old attempt find ``attempts`` changed and stop.

Conformed shots and segment masters live in the render cache (``MONTAGE_RENDER_CACHE_DIR``),
keyed by content hash, shared by all render workers (one folder on one machine; a shared
volume when render workers run on several hosts — without one, the final task rebuilds the
masters it cannot see on its own host, which works but encodes those segments again). Artifacts are uploaded to storage under
``exports/<export id>/`` and their rows are created in one transaction with the final state,
so a failed or cancelled export never shows partial files.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core import heartbeat
from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.core.events import publish
from apps.projects.access import Access
from apps.projects.events import record_event
from apps.projects.models import Role

from . import artifacts, planner
from .engine import RenderCache, RenderError, build_final, build_segment_master, conform_shot, heartbeat_scope
from .engine.cache import PIECES
from .models import ACTIVE_STATES, ArtifactKind, Export, ExportArtifact, ExportKind, ExportSegment, ExportState
from .plan import PlanSegment, PlanShot, RenderPlan, SegmentMaster, SourceRef

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 2
PROGRESS_EVERY_SECONDS = 1.0
# Progress: shots (conform + masters) 0–80, final cut 80–96, deliverables and upload 96–99.
SHOTS_SHARE, FINAL_START, FINAL_END = 80, 80, 96

ENQUEUE_FAILED = "The export could not be queued (the job queue is unreachable); try again."
WORKER_STOPPED = "The render worker stopped (attempt {attempts}); start the export again."

ProgressListener = Callable[[int], None] | None


class ExportFailed(Exception):
    """The export cannot finish; ``str(exc)`` is the sentence people see."""


class _Stopped(Exception):
    """The export was cancelled (or restarted by the reaper) while this task ran."""


# ============================================================================================
# The render cache
# ============================================================================================


def cache_root() -> Path:
    return Path(str(settings.MONTAGE_RENDER_CACHE_DIR))


def render_cache() -> RenderCache:
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    return RenderCache(root)


# ============================================================================================
# Payloads and events
# ============================================================================================


def export_event_data(export: Export) -> dict[str, Any]:
    return {
        "id": str(export.pk),
        "kind": export.kind,
        "segment": str(export.segment_id) if export.segment_id else None,
        "state": export.state,
        "progress": export.progress,
        "error": export.error,
    }


_last_progress_publish: dict[str, float] = {}


def _publish_progress(export_id, project_id, progress: int, *, force: bool = False) -> None:
    key = str(export_id)
    now = time.monotonic()
    if not force and now - _last_progress_publish.get(key, 0.0) < PROGRESS_EVERY_SECONDS:
        return
    _last_progress_publish[key] = now
    publish(project_id, "export.progress", {"id": key, "state": ExportState.RUNNING, "progress": progress})


def _set_progress(export: Export, attempt: int, value: int, listener: ProgressListener = None) -> None:
    """Raise the export's progress (never lowers it) and beat its heartbeat."""
    value = max(0, min(99, int(value)))
    moved = Export.objects.filter(pk=export.pk, state=ExportState.RUNNING, attempts=attempt, progress__lt=value).update(
        progress=value, heartbeat_at=timezone.now()
    )
    if moved:
        _publish_progress(export.pk, export.project_id, value)
        if listener is not None:
            listener(value)


def _still_running(export_id, attempt: int) -> bool:
    return Export.objects.filter(pk=export_id, state=ExportState.RUNNING, attempts=attempt).exists()


def _check_running(export_id, attempt: int) -> None:
    if not _still_running(export_id, attempt):
        raise _Stopped()


def _beat(export_id, attempt: int, also: Callable[[], None] | None = None) -> Callable[[], None]:
    """The engine calls this every ~15 s while an ffmpeg run is busy (in the task's own
    thread): it keeps the heartbeat fresh, and stops the run when the export was cancelled
    or restarted (the exception ends the ffmpeg run and unwinds the engine)."""

    def beat() -> None:
        touched = Export.objects.filter(pk=export_id, state=ExportState.RUNNING, attempts=attempt).update(
            heartbeat_at=timezone.now()
        )
        if not touched:
            raise _Stopped()
        if also is not None:
            also()

    return beat


@contextlib.contextmanager
def _heartbeat_scope(export_id, attempt: int, also: Callable[[], None] | None = None) -> Iterator[None]:
    """Beat while ffmpeg runs (the engine calls ``_beat``), and from a side thread every
    MONTAGE_JOB_HEARTBEAT_SECONDS in between (uploads, writing the deliverables)."""

    def touch() -> None:
        Export.objects.filter(pk=export_id, state=ExportState.RUNNING, attempts=attempt).update(heartbeat_at=timezone.now())

    with heartbeat.beating(touch, name=f"export-beat-{export_id}"), heartbeat_scope(_beat(export_id, attempt, also)):
        yield


# ============================================================================================
# Create
# ============================================================================================


def _resolve_segment(access: Access, segment):
    from apps.production.models import Segment

    if segment is None or isinstance(segment, Segment):
        if segment is not None and segment.project_id != access.project.pk:
            raise ValidationError("That segment is not in this project.", fields={"segment": ["Unknown segment."]})
        return segment
    import uuid

    try:
        pk = uuid.UUID(str(segment))
    except (TypeError, ValueError):
        raise ValidationError("segment must be the id of a segment of this project.", fields={"segment": ["Not a valid id."]})
    found = Segment.objects.filter(pk=pk, project=access.project).first()
    if found is None:
        raise ValidationError("That segment is not in this project.", fields={"segment": ["Unknown segment."]})
    return found


def _check_export_role(access: Access, kind: str, segment) -> None:
    if access.role in (Role.DIRECTOR, Role.PRODUCER):
        return
    if access.role == Role.ARTIST:
        if kind != ExportKind.SEGMENT:
            raise PermissionDenied("Artists can export their own segment; only the director or a producer can export the film.")
        if segment is not None and not access.owns(segment):
            raise PermissionDenied("Artists can export only a segment they own.")
        return
    raise PermissionDenied("Only the director, a producer or the segment's artist can export.")


def export_create(
    *,
    access: Access,
    kind: str,
    segment: Any = None,
    include_unapproved: bool = False,
    credits_roll: bool = False,
    public_url: str = "",
) -> Export:
    """Queue an export of the final cut (``kind="final"``) or of one segment.

    Director and producers export anything; an artist exports only a segment they own;
    viewers cannot export. The plan is taken now, so the export renders the edit as it is.
    ``public_url`` is the address the export was asked from (``https://host/``): the base
    of the media URLs in its .otio and EDL unless ``MONTAGE_PUBLIC_URL`` is set."""
    if kind not in ExportKind.values:
        raise ValidationError("kind must be final or segment.", fields={"kind": ["Use final or segment."]})
    if access.role == Role.VIEWER:
        raise PermissionDenied("Viewers cannot export.")
    if kind == ExportKind.FINAL and access.role == Role.ARTIST:
        _check_export_role(access, kind, None)
    segment = _resolve_segment(access, segment)
    if kind == ExportKind.SEGMENT and segment is None:
        raise ValidationError("A segment export needs the segment.", fields={"segment": ["This field is required."]})
    if kind == ExportKind.FINAL and segment is not None:
        raise ValidationError("A final export covers the whole film; leave out segment.", fields={"segment": ["Not allowed."]})
    _check_export_role(access, kind, segment)
    return export_create_for(
        project=access.project, kind=kind, segment=segment, include_unapproved=include_unapproved,
        credits_roll=credits_roll, actor=access.user, public_url=public_url,
    )


def export_create_for(
    *, project, kind: str, segment=None, include_unapproved: bool = False, credits_roll: bool = False, actor=None,
    enqueue: bool = True, public_url: str = "",
) -> Export:
    """Create the export row with its plan (no permission check: callers have done it, or
    are the operator's CLI) and, with ``enqueue``, start it on the render queue on commit."""
    plan = planner.build_plan(project=project, include_unapproved=include_unapproved, segment=segment)
    if plan.frames <= 0:
        what = f"Segment {segment.position + 1}" if segment is not None else "The timeline"
        raise ValidationError(f"Nothing to export: {what} has no shots yet.", code="nothing_to_export")
    with transaction.atomic():
        export = Export.objects.create(
            project=project,
            kind=kind,
            segment=segment,
            options={"include_unapproved": bool(include_unapproved), "credits_roll": bool(credits_roll)},
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            plan=planner.plan_to_dict(plan),
            segments_total=len(plan.segments),
            shots_total=sum(len(s.shots) for s in plan.segments),
            frames=plan.frames,
            public_url=_clean_public_url(public_url),
        )
        record_event(project=project, actor=actor, type="export.created", data=export_event_data(export))
        if enqueue:
            _enqueue_start_on_commit(export.pk)
    return export


def _clean_public_url(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) address, or "" (nothing else is kept)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(str(url or "").strip())
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc or len(parts.netloc) > 255:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def _enqueue_start_on_commit(export_id) -> None:
    export_id = str(export_id)

    def send() -> None:
        from .tasks import start_export

        try:
            start_export.delay(export_id)
        except Exception:  # the broker is down: say so instead of leaving the export queued
            logger.exception("could not enqueue export %s", export_id)
            _fail(export_id, None, ENQUEUE_FAILED)

    transaction.on_commit(send)


# ============================================================================================
# Start: claim the export and fan out one task per segment
# ============================================================================================


def export_start(*, export_id) -> tuple[int, list[str]] | None:
    """Claim a queued export for a new attempt. Returns ``(attempt, segment ids)`` to render,
    or None when there is nothing to do (gone, cancelled, already running: a duplicate)."""
    now = timezone.now()
    with transaction.atomic():
        claimed = Export.objects.filter(pk=export_id, state=ExportState.QUEUED, attempts__lt=MAX_ATTEMPTS).update(
            state=ExportState.RUNNING, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now, progress=0,
            segments_done=0, shots_done=0, final_started_at=None, error="",
        )
        if not claimed:
            return None
        export = Export.objects.get(pk=export_id)
        attempt = export.attempts
        plan = planner.plan_from_dict(export.plan)
        ExportSegment.objects.filter(export=export).delete()
        ExportSegment.objects.bulk_create(
            [ExportSegment(export=export, segment_id=seg.id, position=i, attempt=attempt) for i, seg in enumerate(plan.segments)]
        )
    publish(export.project_id, "export.progress", {"id": str(export.pk), "state": ExportState.RUNNING, "progress": 0})
    return attempt, [seg.id for seg in plan.segments]


# ============================================================================================
# Sources
# ============================================================================================


def _shot_label(shot: PlanShot) -> str:
    title = (shot.meta or {}).get("shot_title") or shot.title
    label = f"Segment {shot.segment_position + 1} · shot {shot.position + 1}"
    return f"{label} ({title})" if title else label


def _local_path(key: str, workdir: Path, *, download: bool = True) -> Path | None | bool:
    """A local path holding the bytes of storage ``key`` (downloaded into ``workdir`` when the
    storage is remote), or None if the file is not in storage. With ``download=False`` a
    remote file is only checked: True when it exists."""
    try:
        path = default_storage.path(key)
    except NotImplementedError:
        path = None
    if path is not None:
        return Path(path) if os.path.isfile(path) else None
    try:
        if not default_storage.exists(key):
            return None
        if not download:
            return True
        workdir.mkdir(parents=True, exist_ok=True)
        target = workdir / (hashlib.sha256(key.encode()).hexdigest()[:16] + "-" + os.path.basename(key))
        if not target.exists():
            partial = target.with_suffix(target.suffix + ".part")
            with default_storage.open(key, "rb") as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
            partial.replace(target)
        return target
    except FileNotFoundError:
        return None


def _source_path(shot: PlanShot, workdir: Path, *, cached: bool) -> Path | None:
    """The take's file, local. Its presence in storage is always checked (a take whose file
    vanished fails the export, naming the shot); a remote file is downloaded only when the
    render cache does not already hold the conformed shot."""
    assert shot.source is not None
    found = _local_path(shot.source.storage_key, workdir, download=not cached)
    if found is None:
        take = f"take {shot.take_number}" if shot.take_number else "the take"
        raise ExportFailed(
            f"{_shot_label(shot)}: the file of {take} is missing from storage; replace the take or approve another one."
        )
    return found if isinstance(found, Path) else None


def _work_dir(export_id, name: str) -> Path:
    root = cache_root() / "work" / str(export_id)
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    return path


# ============================================================================================
# One segment: conform its shots, build its master
# ============================================================================================


def _find_segment(plan: RenderPlan, segment_id: str) -> PlanSegment | None:
    return next((s for s in plan.segments if s.id == str(segment_id)), None)


def export_render_segment(*, export_id, segment_id: str, attempt: int, listener: ProgressListener = None) -> bool:
    """Render one segment of an export attempt. Returns True when this call completed the
    set of segments and claimed the final step (the caller then runs or enqueues it)."""
    export = Export.objects.filter(pk=export_id).first()
    if export is None or export.state != ExportState.RUNNING or export.attempts != attempt:
        return False
    row = ExportSegment.objects.filter(export=export, segment_id=str(segment_id), attempt=attempt).first()
    if row is None:
        return False
    if not row.done:
        plan = planner.plan_from_dict(export.plan)
        seg = _find_segment(plan, segment_id)
        if seg is None:
            return False
        workdir = _work_dir(export.pk, f"segment-{row.position}")
        try:
            with _heartbeat_scope(export.pk, attempt):
                master, encoded, cached = _render_segment(export, attempt, plan, seg, workdir, listener)
        except _Stopped:
            return False
        except Exception as exc:  # noqa: BLE001 - every failure ends the export with a sentence
            _fail(export.pk, attempt, _failure_message(exc))
            return False
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            try:
                workdir.parent.rmdir()  # the export's work folder, once no segment uses it
            except OSError:
                pass
        done = ExportSegment.objects.filter(pk=row.pk, done=False).update(
            done=True, video_path=str(master.video_path), audio_path=str(master.audio_path), frames=master.frames,
            encoded_pieces=encoded, cached_pieces=cached, master_cache_hit=bool(master.cache_hit),
        )
        if done:
            Export.objects.filter(pk=export.pk, attempts=attempt).update(segments_done=F("segments_done") + 1)
    # The join: the one task that sees every segment done claims the final step.
    claimed = Export.objects.filter(
        pk=export.pk, state=ExportState.RUNNING, attempts=attempt, final_started_at__isnull=True,
        segments_done__gte=F("segments_total"),
    ).update(final_started_at=timezone.now(), heartbeat_at=timezone.now())
    return bool(claimed)


def _render_segment(
    export: Export, attempt: int, plan: RenderPlan, seg: PlanSegment, workdir: Path, listener: ProgressListener, *, count: bool = True
):
    cache = render_cache()
    spec = plan.spec
    pieces = []
    encoded = cached = 0
    for shot in seg.shots:
        _check_running(export.pk, attempt)
        source_path = None
        if shot.source is not None:
            in_cache = cache.get(PIECES, shot.conform_key(spec)) is not None
            source_path = _source_path(shot, workdir, cached=in_cache)
        try:
            piece = conform_shot(shot, spec, cache, source_path=source_path)
        except RenderError as exc:
            raise ExportFailed(_with_label(_shot_label(shot), exc))
        pieces.append(piece)
        if piece.cache_hit:
            cached += 1
        else:
            encoded += 1
        if source_path is not None and workdir in source_path.parents:
            source_path.unlink(missing_ok=True)  # a download from remote storage
        if count:
            Export.objects.filter(pk=export.pk, attempts=attempt).update(shots_done=F("shots_done") + 1)
            done = Export.objects.filter(pk=export.pk).values_list("shots_done", flat=True).first() or 0
            _set_progress(export, attempt, SHOTS_SHARE * done // max(1, export.shots_total), listener)
    _check_running(export.pk, attempt)
    try:
        master = build_segment_master(seg, pieces, spec, cache)
    except RenderError as exc:
        raise ExportFailed(_with_label(f"Segment {seg.position + 1}", exc))
    return master, encoded, cached


def _with_label(label: str, exc: BaseException) -> str:
    message = str(exc).strip() or exc.__class__.__name__
    if message.lower().startswith("segment "):
        return message
    return f"{label}: {message}"


def _failure_message(exc: BaseException) -> str:
    if isinstance(exc, ExportFailed):
        return str(exc)
    if isinstance(exc, RenderError):
        return str(exc) or "The render failed."
    logger.exception("export failed unexpectedly", exc_info=exc)
    return f"The render failed unexpectedly ({exc.__class__.__name__}: {str(exc)[:300]}); start the export again."


# ============================================================================================
# The final cut, the deliverables, the artifacts
# ============================================================================================


def _filename_base(export: Export, plan: RenderPlan) -> str:
    from django.utils.text import slugify

    base = export.project.slug or slugify(plan.project_title) or "film"
    if export.kind == ExportKind.SEGMENT and plan.segments:
        base += f"-segment-{plan.segments[0].position + 1:02d}"
    return base


def _credits_roll(plan: RenderPlan, workdir: Path) -> tuple[PlanSegment, Path]:
    """The credits roll as one more segment of the film (a shot whose source is the rendered
    roll, identified by the hash of its text so that the engine's cache recognises it)."""
    from .deliverables import credits as credits_mod

    frames = credits_mod.roll_frames(plan)
    path = credits_mod.render_roll(plan, workdir / "credits-roll.mp4", frames=frames)
    identity = hashlib.sha256(
        ("\n".join(credits_mod.credit_lines(plan)) + f"|{plan.spec.key()}|{frames}|roll-v1").encode()
    ).hexdigest()
    fps = plan.spec.fps_num / plan.spec.fps_den
    position = (plan.segments[-1].position + 1) if plan.segments else 0
    shot = PlanShot(
        id="credits-roll", segment_id="credits", segment_position=position, position=0, title="Credits", frames=frames,
        source=SourceRef(storage_key="credits-roll.mp4", sha256=identity, duration_seconds=frames / fps, fps=fps,
                         width=plan.spec.width, height=plan.spec.height, has_audio=True),
        meta={"credits_roll": True, "shot_title": "Credits"},
    )
    return PlanSegment(id="credits", position=position, title="Credits", owner=None, shots=(shot,)), path


def export_finish(*, export_id, attempt: int, listener: ProgressListener = None) -> Export | None:
    """Build the final MP4 from the segment masters, write the deliverables, upload them and
    mark the export succeeded — or failed with a sentence. Idempotent per attempt."""
    export = Export.objects.select_related("project").filter(pk=export_id).first()
    if export is None or export.state != ExportState.RUNNING or export.attempts != attempt:
        return None
    if export.final_started_at is None:
        return None  # not every segment is done (or this attempt was restarted): nothing to join
    workdir = _work_dir(export.pk, "final")
    uploaded: list[str] = []
    try:
        with _heartbeat_scope(export.pk, attempt):
            return _finish(export, attempt, workdir, uploaded, listener)
    except _Stopped:
        _delete_keys(uploaded)
        return None
    except Exception as exc:  # noqa: BLE001
        _delete_keys(uploaded)
        _fail(export.pk, attempt, _failure_message(exc))
        return None
    finally:
        shutil.rmtree(cache_root() / "work" / str(export.pk), ignore_errors=True)


def _finish(export: Export, attempt: int, workdir: Path, uploaded: list[str], listener: ProgressListener) -> Export | None:
    plan = planner.plan_from_dict(export.plan)
    spec = plan.spec
    rows = list(ExportSegment.objects.filter(export=export, attempt=attempt).order_by("position"))
    if len(rows) != len(plan.segments) or not all(r.done for r in rows):
        raise ExportFailed("Not every segment of this export was rendered; start the export again.")
    stats = {
        "encoded_pieces": sum(r.encoded_pieces for r in rows),
        "cached_pieces": sum(r.cached_pieces for r in rows),
        "encoded_masters": sum(1 for r in rows if not r.master_cache_hit),
        "cached_masters": sum(1 for r in rows if r.master_cache_hit),
    }
    masters: list[SegmentMaster] = []
    for row, seg in zip(rows, plan.segments, strict=True):
        if os.path.isfile(row.video_path) and os.path.isfile(row.audio_path):
            masters.append(
                SegmentMaster(segment_id=row.segment_id, video_path=Path(row.video_path), audio_path=Path(row.audio_path),
                              frames=row.frames, cache_hit=row.master_cache_hit)
            )
            continue
        # The master is not on this host: render workers without a shared cache volume (or a
        # cache cleared meanwhile). Rebuild it here (from this host's cache where it can).
        logger.warning("export %s: segment %s master not in this host's render cache; rebuilding", export.pk, seg.position + 1)
        master, encoded, cached = _render_segment(export, attempt, plan, seg, workdir / f"segment-{row.position}", None, count=False)
        stats["encoded_pieces"] += encoded
        stats["cached_pieces"] += cached
        stats["encoded_masters"] += 0 if master.cache_hit else 1
        masters.append(master)
    render_plan = plan
    _check_running(export.pk, attempt)
    if export.credits_roll:
        roll_seg, roll_path = _credits_roll(plan, workdir)
        cache = render_cache()
        try:
            piece = conform_shot(roll_seg.shots[0], spec, cache, source_path=roll_path)
            roll_master = build_segment_master(roll_seg, [piece], spec, cache)
        except RenderError as exc:
            raise ExportFailed(_with_label("The credits roll", exc))
        stats["encoded_pieces"] += 0 if piece.cache_hit else 1
        stats["cached_pieces"] += 1 if piece.cache_hit else 0
        stats["encoded_masters"] += 0 if roll_master.cache_hit else 1
        stats["cached_masters"] += 1 if roll_master.cache_hit else 0
        masters.append(roll_master)
        render_plan = replace(plan, segments=(*plan.segments, roll_seg))

    # Score, narration and effects: local files for the engine's mix.
    audio_sources: dict[str, Path] = {}
    audio_dir = workdir / "audio"
    for clip in render_plan.audio:
        path = _local_path(clip.source.storage_key, audio_dir)
        if not isinstance(path, Path):
            raise ExportFailed(
                f"The {clip.track} clip at frame {clip.start_frame} has lost its audio file; remove it from the timeline or replace it."
            )
        audio_sources[clip.id] = path

    _check_running(export.pk, attempt)
    _set_progress(export, attempt, FINAL_START, listener)
    out_dir = workdir / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    # The engine reports progress from ffmpeg's reader threads as well as from this one; the
    # database is only written from this thread (here, and from the heartbeat, which the
    # engine calls in this thread while ffmpeg runs).
    task_thread = threading.get_ident()
    latest = [0.0]

    def flush() -> None:
        _set_progress(export, attempt, FINAL_START + int((FINAL_END - FINAL_START) * latest[0]), listener)

    def on_final_progress(fraction: float) -> None:
        latest[0] = max(latest[0], max(0.0, min(1.0, float(fraction))))
        if threading.get_ident() == task_thread:
            flush()

    try:
        with _heartbeat_scope(export.pk, attempt, also=flush):
            result = build_final(
                render_plan, masters, spec, out_dir, audio_sources=audio_sources, progress=on_final_progress,
                filename=f"{_filename_base(export, plan)}.mp4", cache=render_cache(),
            )
    except RenderError as exc:
        raise ExportFailed(str(exc) or "The final cut could not be made.")
    _check_running(export.pk, attempt)
    _set_progress(export, attempt, FINAL_END, listener)

    base = _filename_base(export, plan)
    export_info = {
        "id": str(export.pk), "kind": export.kind, "options": export.options,
        "created_at": export.created_at.isoformat(), "created_by": export.created_by.get_username() if export.created_by else None,
        "attempt": attempt,
    }
    result_info = {
        "frames": result.frames, "duration_seconds": result.duration_seconds, **stats,
        "audio_chunks_encoded": result.audio_chunks_encoded, "audio_chunks_reused": result.audio_chunks_reused,
        "loudness_gain_db": result.gain_db,
    }  # fmt: skip
    files: list[tuple[str, str, str, Path]] = [(ArtifactKind.MP4, f"{base}.mp4", "video/mp4", Path(result.mp4_path))]
    notes: dict[str, Any] = {}

    def local_file(key: str) -> Path:
        found = _local_path(key, workdir / "bundle")
        if not isinstance(found, Path):
            raise ExportFailed(f"The file {os.path.basename(key)} went missing from storage while the export was bundled.")
        return found

    files += artifacts.write_deliverables(
        plan=plan, render_plan=render_plan, out_dir=out_dir, base_name=base, public_url=export.public_url,
        local_file=local_file, export_info=export_info, result_info=result_info, notes=notes,
        project_id=export.project_id, user_id=export.created_by_id,
    )

    stored: list[tuple[str, str, str, str, int]] = []
    for kind, name, content_type, path in files:
        _check_running(export.pk, attempt)
        key = f"exports/{export.pk}/{name}"
        if default_storage.exists(key):  # a previous attempt's upload
            default_storage.delete(key)
        with open(path, "rb") as fh:
            saved = default_storage.save(key, File(fh, name=name))
        uploaded.append(saved)
        stored.append((kind, saved, name, content_type, path.stat().st_size))
    _set_progress(export, attempt, 99, listener)

    with transaction.atomic():
        locked = Export.objects.select_for_update().filter(pk=export.pk).first()
        if locked is None or locked.state != ExportState.RUNNING or locked.attempts != attempt:
            raise _Stopped()
        ExportArtifact.objects.filter(export=locked).delete()
        ExportArtifact.objects.bulk_create(
            [ExportArtifact(export=locked, kind=k, storage_key=key, filename=n, content_type=ct, size=size)
             for k, key, n, ct, size in stored]
        )
        locked.state = ExportState.SUCCEEDED
        locked.progress = 100
        locked.finished_at = timezone.now()
        locked.heartbeat_at = None
        locked.error = ""
        locked.stats = {**result_info, **notes, "engine_encoded_pieces": result.encoded_pieces, "engine_encoded_masters": result.encoded_masters}
        locked.save(update_fields=["state", "progress", "finished_at", "heartbeat_at", "error", "stats", "updated_at"])
        data = export_event_data(locked) | {"stats": locked.stats, "artifacts": [k for k, *_ in stored]}
        record_event(project=locked.project, actor=None, type="export.finished", data=data)
    _last_progress_publish.pop(str(export.pk), None)
    if listener is not None:
        listener(100)
    return locked


def _delete_keys(keys: list[str]) -> None:
    for key in keys:
        try:
            default_storage.delete(key)
        except Exception:  # pragma: no cover - storage trouble: leave the orphan
            logger.warning("could not delete %s", key, exc_info=True)


# ============================================================================================
# Fail, cancel, reap
# ============================================================================================


def _fail(export_id, attempt: int | None, error: str) -> Export | None:
    """Mark an active export failed (only if ``attempt`` is still the current one)."""
    with transaction.atomic():
        qs = Export.objects.select_for_update().filter(pk=export_id, state__in=ACTIVE_STATES)
        if attempt is not None:
            qs = qs.filter(attempts=attempt)
        export = qs.select_related("project").first()
        if export is None:
            return None
        export.state = ExportState.FAILED
        export.error = error[:2000]
        export.finished_at = timezone.now()
        export.heartbeat_at = None
        export.save(update_fields=["state", "error", "finished_at", "heartbeat_at", "updated_at"])
        record_event(project=export.project, actor=None, type="export.failed", data=export_event_data(export))
    _last_progress_publish.pop(str(export_id), None)
    return export


def export_fail(*, export_id, attempt: int | None, error: str) -> Export | None:
    return _fail(export_id, attempt, error)


def _may_cancel(access: Access, export: Export) -> bool:
    return access.is_manager or (export.created_by_id is not None and export.created_by_id == access.user.pk)


def export_cancel(*, access: Access, export: Export) -> Export:
    """Stop an export: it ends ``cancelled`` now; running tasks notice between shots and stop."""
    if not _may_cancel(access, export):
        raise PermissionDenied("Only whoever started this export, the director or a producer can cancel it.")
    with transaction.atomic():
        locked = Export.objects.select_for_update().get(pk=export.pk)
        if locked.state == ExportState.CANCELLED:
            return locked
        if locked.state not in ACTIVE_STATES:
            raise Conflict(f"This export already {'succeeded' if locked.state == ExportState.SUCCEEDED else 'failed'}.")
        locked.state = ExportState.CANCELLED
        locked.finished_at = timezone.now()
        locked.heartbeat_at = None
        locked.save(update_fields=["state", "finished_at", "heartbeat_at", "updated_at"])
        record_event(project=access.project, actor=access.user, type="export.cancelled", data=export_event_data(locked))
    return locked


def _stale_seconds() -> int:
    return int(getattr(settings, "MONTAGE_RENDER_STALE_SECONDS", settings.MONTAGE_JOB_STALE_SECONDS))


def export_reap_stale(*, limit: int = 200) -> int:
    """Exports whose worker died: a running export with a stale heartbeat is restarted once
    (attempt 2, reusing every cached shot) and failed after that; a queued export whose start
    message was lost is queued again. Returns how many exports were restarted or failed."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=_stale_seconds())
    count = 0
    stale = Export.objects.filter(state=ExportState.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__isnull=True, updated_at__lt=cutoff)
    )
    for export_id in list(stale.values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            export = (
                Export.objects.select_for_update().select_related("project")
                .filter(pk=export_id, state=ExportState.RUNNING).first()
            )
            if export is None or (export.heartbeat_at and export.heartbeat_at >= cutoff):
                continue
            if export.attempts >= MAX_ATTEMPTS:
                export.state = ExportState.FAILED
                export.error = WORKER_STOPPED.format(attempts=export.attempts)
                export.finished_at = now
                export.heartbeat_at = None
                export.save(update_fields=["state", "error", "finished_at", "heartbeat_at", "updated_at"])
                record_event(project=export.project, actor=None, type="export.failed", data=export_event_data(export))
            else:
                export.state = ExportState.QUEUED
                export.heartbeat_at = None
                export.final_started_at = None
                export.save(update_fields=["state", "heartbeat_at", "final_started_at", "updated_at"])
                _enqueue_start_on_commit(export.pk)
            count += 1

    lost = Export.objects.filter(state=ExportState.QUEUED, updated_at__lt=cutoff)
    for export_id in list(lost.values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            export = Export.objects.select_for_update().select_related("project").filter(
                pk=export_id, state=ExportState.QUEUED, updated_at__lt=cutoff
            ).first()
            if export is None:
                continue
            if export.attempts >= MAX_ATTEMPTS:
                export.state = ExportState.FAILED
                export.error = WORKER_STOPPED.format(attempts=export.attempts)
                export.finished_at = now
                export.save(update_fields=["state", "error", "finished_at", "updated_at"])
                record_event(project=export.project, actor=None, type="export.failed", data=export_event_data(export))
            else:
                export.save(update_fields=["updated_at"])  # wait a whole period again
                _enqueue_start_on_commit(export.pk)
            count += 1
    try:
        render_cache_sweep()
    except Exception:  # housekeeping never stops the reaper
        logger.warning("could not sweep the render cache", exc_info=True)
    return count


def render_cache_sweep(*, older_than_seconds: float = 24 * 3600) -> int:
    """Remove what killed workers left in the render cache: half-built entries and export
    work folders untouched for a day. (Complete entries stay: deleting the whole cache is
    always safe, it only costs re-encoding.) Returns how many were removed."""
    root = cache_root()
    if not root.is_dir():  # this host has no render cache (e.g. beat runs elsewhere)
        return 0
    removed = render_cache().sweep(older_than_seconds=older_than_seconds)
    work = root / "work"
    cutoff = time.time() - older_than_seconds
    for folder in work.iterdir() if work.is_dir() else ():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


# ============================================================================================
# Running a whole export in this process (the CLI; tests)
# ============================================================================================


def export_run(*, export_id, listener: ProgressListener = None) -> Export:
    """Run an export start to finish in this process, without Celery: the same steps the
    render queue runs, one after the other."""
    started = export_start(export_id=export_id)
    if started is not None:
        attempt, segment_ids = started
        claimed = False
        for segment_id in segment_ids:
            claimed = export_render_segment(export_id=export_id, segment_id=segment_id, attempt=attempt, listener=listener) or claimed
            if not _still_running(export_id, attempt):
                break
        if claimed:
            export_finish(export_id=export_id, attempt=attempt, listener=listener)
    return Export.objects.get(pk=export_id)


def artifact_local_copy(artifact: ExportArtifact, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / (artifact.filename or os.path.basename(artifact.storage_key))
    with default_storage.open(artifact.storage_key, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
    return target

