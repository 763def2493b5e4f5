"""Exports: create, render (per segment, then the final cut), cancel, reap.

This module is the public face of the export pipeline; the steps live in ``exports/`` (one
module each, see its ``__init__``). Views, tasks, the CLI and other apps import from here.

The pipeline, on the ``render`` queue (tasks in ``tasks.py`` only call these functions)::

    export_create ──on commit──▶ start_export ──▶ render_export_segment × N ──chord──▶ finish_export
                                 (claim, fan out)   (conform shots + master)          (final MP4,
                                                                                      deliverables,
                                                                                      artifacts)

The fan-out is a Celery chord; the database keeps the truth of the join (``exports/segments``):
each segment task marks its ``ExportSegment`` row done and bumps ``Export.segments_done``, and
exactly one claims the final step with a conditional UPDATE, so a retried or redelivered task
changes nothing. Every task carries the attempt number it was started for: when the reaper
restarts an export (its worker died), tasks of the old attempt find ``attempts`` changed and stop.
Conformed shots and segment masters live in the render cache (``exports/files``); artifacts are
uploaded under ``exports/<export id>/`` and their rows are created in one transaction with the
final state, so a failed or cancelled export never shows partial files.
"""

from __future__ import annotations

from .exports.create import _clean_public_url, export_cancel, export_create, export_create_for, export_start
from .exports.files import artifact_local_copy, cache_root, render_cache, render_cache_sweep
from .exports.final import export_finish
from .exports.reaper import export_reap_stale
from .exports.run import export_run
from .exports.segments import export_render_segment
from .exports.state import (
    ENQUEUE_FAILED,
    MAX_ATTEMPTS,
    WORKER_STOPPED,
    ExportFailed,
    ProgressListener,
    export_event_data,
    export_fail,
)

__all__ = [
    "ENQUEUE_FAILED",
    "MAX_ATTEMPTS",
    "WORKER_STOPPED",
    "ExportFailed",
    "ProgressListener",
    "_clean_public_url",
    "artifact_local_copy",
    "cache_root",
    "export_cancel",
    "export_create",
    "export_create_for",
    "export_event_data",
    "export_fail",
    "export_finish",
    "export_reap_stale",
    "export_render_segment",
    "export_run",
    "export_start",
    "render_cache",
    "render_cache_sweep",
]
