"""The final step of an export: the final MP4 from the segment masters, the deliverables,
the artifacts.

``export_finish`` runs only for a claimed attempt (``segments.py`` claims it), so the chord's
body (or the CLI, which runs the same steps in one process) builds the final cut exactly once.
Artifacts are uploaded to storage under ``exports/<export id>/`` and their rows are created in
one transaction with the final state, so a failed or cancelled export never shows partial files.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.projects.events import record_event

from .. import artifacts, planner
from ..deliverables import credits as credits_mod
from ..engine import RenderError, build_final, build_segment_master, conform_shot
from ..models import ArtifactKind, Export, ExportArtifact, ExportKind, ExportSegment, ExportState
from ..plan import PlanSegment, PlanShot, RenderPlan, SegmentMaster, SourceRef
from .files import cache_root, delete_keys, local_path, render_cache, work_dir
from .segments import render_segment
from .state import (
    FINAL_END,
    FINAL_START,
    ExportFailed,
    ProgressListener,
    Stopped,
    check_running,
    export_event_data,
    export_heartbeat,
    fail,
    failure_message,
    forget_progress,
    set_progress,
    with_label,
)

logger = logging.getLogger(__name__)


def _filename_base(export: Export, plan: RenderPlan) -> str:
    base = export.project.slug or slugify(plan.project_title) or "film"
    if export.kind == ExportKind.SEGMENT and plan.segments:
        base += f"-segment-{plan.segments[0].position + 1:02d}"
    return base


def _credits_roll(plan: RenderPlan, workdir: Path) -> tuple[PlanSegment, Path]:
    """The credits roll as one more segment of the film (a shot whose source is the rendered
    roll, identified by the hash of its text so that the engine's cache recognises it)."""
    frames = credits_mod.roll_frames(plan)
    path = credits_mod.render_roll(plan, workdir / "credits-roll.mp4", frames=frames)
    identity = hashlib.sha256(
        ("\n".join(credits_mod.credit_lines(plan)) + f"|{plan.spec.key()}|{frames}|roll-v1").encode()
    ).hexdigest()
    fps = plan.spec.fps_num / plan.spec.fps_den
    position = (plan.segments[-1].position + 1) if plan.segments else 0
    shot = PlanShot(
        id="credits-roll",
        segment_id="credits",
        segment_position=position,
        position=0,
        title="Credits",
        frames=frames,
        source=SourceRef(
            storage_key="credits-roll.mp4",
            sha256=identity,
            duration_seconds=frames / fps,
            fps=fps,
            width=plan.spec.width,
            height=plan.spec.height,
            has_audio=True,
        ),
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
    workdir = work_dir(export.pk, "final")
    uploaded: list[str] = []
    try:
        with export_heartbeat(export.pk, attempt):
            return _finish(export, attempt, workdir, uploaded, listener)
    except Stopped:
        delete_keys(uploaded)
        return None
    except Exception as exc:  # noqa: BLE001
        delete_keys(uploaded)
        fail(export.pk, attempt, failure_message(exc))
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
                SegmentMaster(
                    segment_id=row.segment_id,
                    video_path=Path(row.video_path),
                    audio_path=Path(row.audio_path),
                    frames=row.frames,
                    cache_hit=row.master_cache_hit,
                )
            )
            continue
        # The master is not on this host: render workers without a shared cache volume (or a
        # cache cleared meanwhile). Rebuild it here (from this host's cache where it can).
        logger.warning("export %s: segment %s master not in this host's render cache; rebuilding", export.pk, seg.position + 1)
        master, encoded, cached = render_segment(
            export, attempt, plan, seg, workdir / f"segment-{row.position}", None, count=False
        )
        stats["encoded_pieces"] += encoded
        stats["cached_pieces"] += cached
        stats["encoded_masters"] += 0 if master.cache_hit else 1
        masters.append(master)
    render_plan = plan
    check_running(export.pk, attempt)
    if export.credits_roll:
        roll_seg, roll_path = _credits_roll(plan, workdir)
        cache = render_cache()
        try:
            piece = conform_shot(roll_seg.shots[0], spec, cache, source_path=roll_path)
            roll_master = build_segment_master(roll_seg, [piece], spec, cache)
        except RenderError as exc:
            raise ExportFailed(with_label("The credits roll", exc))
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
        path = local_path(clip.source.storage_key, audio_dir)
        if not isinstance(path, Path):
            raise ExportFailed(
                f"The {clip.track} clip at frame {clip.start_frame} has lost its audio file; remove it from the timeline or replace it."
            )
        audio_sources[clip.id] = path

    check_running(export.pk, attempt)
    set_progress(export, attempt, FINAL_START, listener)
    out_dir = workdir / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    # The engine reports progress from ffmpeg's reader threads as well as from this one; the
    # database is only written from this thread (here, and from the heartbeat, which the
    # engine calls in this thread while ffmpeg runs).
    task_thread = threading.get_ident()
    latest = [0.0]

    def flush() -> None:
        set_progress(export, attempt, FINAL_START + int((FINAL_END - FINAL_START) * latest[0]), listener)

    def on_final_progress(fraction: float) -> None:
        latest[0] = max(latest[0], max(0.0, min(1.0, float(fraction))))
        if threading.get_ident() == task_thread:
            flush()

    try:
        with export_heartbeat(export.pk, attempt, also=flush):
            result = build_final(
                render_plan,
                masters,
                spec,
                out_dir,
                audio_sources=audio_sources,
                progress=on_final_progress,
                filename=f"{_filename_base(export, plan)}.mp4",
                cache=render_cache(),
            )
    except RenderError as exc:
        raise ExportFailed(str(exc) or "The final cut could not be made.")
    check_running(export.pk, attempt)
    set_progress(export, attempt, FINAL_END, listener)

    base = _filename_base(export, plan)
    export_info = {
        "id": str(export.pk),
        "kind": export.kind,
        "options": export.options,
        "created_at": export.created_at.isoformat(),
        "created_by": export.created_by.get_username() if export.created_by else None,
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
        found = local_path(key, workdir / "bundle")
        if not isinstance(found, Path):
            raise ExportFailed(f"The file {os.path.basename(key)} went missing from storage while the export was bundled.")
        return found

    files += artifacts.write_deliverables(
        plan=plan,
        render_plan=render_plan,
        out_dir=out_dir,
        base_name=base,
        public_url=export.public_url,
        local_file=local_file,
        export_info=export_info,
        result_info=result_info,
        notes=notes,
        project_id=export.project_id,
        user_id=export.created_by_id,
    )

    stored: list[tuple[str, str, str, str, int]] = []
    for kind, name, content_type, path in files:
        check_running(export.pk, attempt)
        key = f"exports/{export.pk}/{name}"
        if default_storage.exists(key):  # a previous attempt's upload
            default_storage.delete(key)
        with open(path, "rb") as fh:
            saved = default_storage.save(key, File(fh, name=name))
        uploaded.append(saved)
        stored.append((kind, saved, name, content_type, path.stat().st_size))
    set_progress(export, attempt, 99, listener)

    with transaction.atomic():
        locked = Export.objects.select_for_update().filter(pk=export.pk).first()
        if locked is None or locked.state != ExportState.RUNNING or locked.attempts != attempt:
            raise Stopped()
        ExportArtifact.objects.filter(export=locked).delete()
        ExportArtifact.objects.bulk_create(
            [
                ExportArtifact(export=locked, kind=k, storage_key=key, filename=n, content_type=ct, size=size)
                for k, key, n, ct, size in stored
            ]
        )
        locked.state = ExportState.SUCCEEDED
        locked.progress = 100
        locked.finished_at = timezone.now()
        locked.heartbeat_at = None
        locked.error = ""
        locked.stats = {
            **result_info,
            **notes,
            "engine_encoded_pieces": result.encoded_pieces,
            "engine_encoded_masters": result.encoded_masters,
        }
        locked.save(update_fields=["state", "progress", "finished_at", "heartbeat_at", "error", "stats", "updated_at"])
        data = export_event_data(locked) | {"stats": locked.stats, "artifacts": [k for k, *_ in stored]}
        record_event(project=locked.project, actor=None, type="export.finished", data=data)
    forget_progress(export.pk)
    if listener is not None:
        listener(100)
    return locked
