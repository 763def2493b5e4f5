"""One segment of an export attempt: conform its shots, build its master, then the join.

The fan-out is a Celery chord (``tasks.py``); the database keeps the truth of the join: every
segment task, when its master is built, marks its ``ExportSegment`` row done (a conditional
UPDATE, so a redelivered task never counts twice) and increments ``Export.segments_done``;
then each tries to claim the final step with ``UPDATE … SET final_started_at=now WHERE
final_started_at IS NULL AND segments_done >= segments_total``. Exactly one task wins (the
row lock serialises the UPDATEs), and at least one sees the full count (the last to commit).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.db.models import F
from django.utils import timezone

from .. import planner
from ..engine import RenderError, build_segment_master, conform_shot
from ..engine.cache import PIECES
from ..models import Export, ExportSegment, ExportState
from ..plan import PlanSegment, PlanShot, RenderPlan
from .files import local_path, render_cache, work_dir
from .state import (
    SHOTS_SHARE,
    ExportFailed,
    ProgressListener,
    Stopped,
    check_running,
    export_heartbeat,
    fail,
    failure_message,
    set_progress,
    with_label,
)


def shot_label(shot: PlanShot) -> str:
    title = (shot.meta or {}).get("shot_title") or shot.title
    label = f"Segment {shot.segment_position + 1} · shot {shot.position + 1}"
    return f"{label} ({title})" if title else label


def _source_path(shot: PlanShot, workdir: Path, *, cached: bool) -> Path | None:
    """The take's file, local. Its presence in storage is always checked (a take whose file
    vanished fails the export, naming the shot); a remote file is downloaded only when the
    render cache does not already hold the conformed shot."""
    assert shot.source is not None
    found = local_path(shot.source.storage_key, workdir, download=not cached)
    if found is None:
        take = f"take {shot.take_number}" if shot.take_number else "the take"
        raise ExportFailed(
            f"{shot_label(shot)}: the file of {take} is missing from storage; replace the take or approve another one."
        )
    return found if isinstance(found, Path) else None


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
        workdir = work_dir(export.pk, f"segment-{row.position}")
        try:
            with export_heartbeat(export.pk, attempt):
                master, encoded, cached = render_segment(export, attempt, plan, seg, workdir, listener)
        except Stopped:
            return False
        except Exception as exc:  # noqa: BLE001 - every failure ends the export with a sentence
            fail(export.pk, attempt, failure_message(exc))
            return False
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            try:
                workdir.parent.rmdir()  # the export's work folder, once no segment uses it
            except OSError:
                pass
        done = ExportSegment.objects.filter(pk=row.pk, done=False).update(
            done=True,
            video_path=str(master.video_path),
            audio_path=str(master.audio_path),
            frames=master.frames,
            encoded_pieces=encoded,
            cached_pieces=cached,
            master_cache_hit=bool(master.cache_hit),
        )
        if done:
            Export.objects.filter(pk=export.pk, attempts=attempt).update(segments_done=F("segments_done") + 1)
    # The join: the one task that sees every segment done claims the final step.
    claimed = Export.objects.filter(
        pk=export.pk,
        state=ExportState.RUNNING,
        attempts=attempt,
        final_started_at__isnull=True,
        segments_done__gte=F("segments_total"),
    ).update(final_started_at=timezone.now(), heartbeat_at=timezone.now())
    return bool(claimed)


def render_segment(
    export: Export,
    attempt: int,
    plan: RenderPlan,
    seg: PlanSegment,
    workdir: Path,
    listener: ProgressListener,
    *,
    count: bool = True,
):
    """Conform the segment's shots (from the cache when it has them) and build its master.
    Returns ``(master, shots encoded, shots from the cache)``; with ``count`` each shot
    moves the export's progress."""
    cache = render_cache()
    spec = plan.spec
    pieces = []
    encoded = cached = 0
    for shot in seg.shots:
        check_running(export.pk, attempt)
        source_path = None
        if shot.source is not None:
            in_cache = cache.get(PIECES, shot.conform_key(spec)) is not None
            source_path = _source_path(shot, workdir, cached=in_cache)
        try:
            piece = conform_shot(shot, spec, cache, source_path=source_path)
        except RenderError as exc:
            raise ExportFailed(with_label(shot_label(shot), exc))
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
            set_progress(export, attempt, SHOTS_SHARE * done // max(1, export.shots_total), listener)
    check_running(export.pk, attempt)
    try:
        master = build_segment_master(seg, pieces, spec, cache)
    except RenderError as exc:
        raise ExportFailed(with_label(f"Segment {seg.position + 1}", exc))
    return master, encoded, cached
