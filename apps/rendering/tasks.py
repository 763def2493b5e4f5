"""Celery tasks of the rendering app (routed to the ``render`` queue: CPU bound, run one
worker process per core). Each takes ids, calls one service, and is idempotent: a task whose
export is gone, finished, cancelled or restarted (another attempt) returns quietly.

    start_export(export_id)                       claim, fan out one task per segment
    render_export_segment(export_id, seg, n)      conform its shots, build its master; the
                                                  task that completes the set enqueues:
    finish_export(export_id, n)                   final MP4, deliverables, artifacts

The join is a database counter (see ``services``), not a chord: no result backend needed.
"""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="apps.rendering.tasks.start_export", ignore_result=True, acks_late=True)
def start_export(export_id: str) -> int:
    from . import services

    started = services.export_start(export_id=export_id)
    if started is None:
        return 0
    attempt, segment_ids = started
    for segment_id in segment_ids:
        try:
            render_export_segment.delay(str(export_id), segment_id, attempt)
        except Exception:  # the broker went away mid fan-out
            logger.exception("could not enqueue segment %s of export %s", segment_id, export_id)
            services.export_fail(export_id=export_id, attempt=attempt, error=services.ENQUEUE_FAILED)
            break
    return len(segment_ids)


@shared_task(name="apps.rendering.tasks.render_export_segment", ignore_result=True, acks_late=True)
def render_export_segment(export_id: str, segment_id: str, attempt: int) -> bool:
    from . import services

    claimed = services.export_render_segment(export_id=export_id, segment_id=segment_id, attempt=attempt)
    if claimed:
        try:
            finish_export.delay(str(export_id), attempt)
        except Exception:
            logger.exception("could not enqueue the final step of export %s", export_id)
            services.export_fail(export_id=export_id, attempt=attempt, error=services.ENQUEUE_FAILED)
    return claimed


@shared_task(name="apps.rendering.tasks.finish_export", ignore_result=True, acks_late=True)
def finish_export(export_id: str, attempt: int) -> str | None:
    from . import services

    export = services.export_finish(export_id=export_id, attempt=attempt)
    return export.state if export is not None else None
