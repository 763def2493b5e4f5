"""Celery tasks of the rendering app (routed to the ``render`` queue: CPU bound, run one
worker process per core). Each takes ids, calls one service, and is idempotent: a task whose
export is gone, finished, cancelled or restarted (another attempt) returns quietly.

    start_export(export_id)                       claim the export, then a chord:
      render_export_segment(export_id, seg, n)    × segments, in parallel on every render worker:
                                                  conform its shots, build its master
      └▶ finish_export(export_id, n)              the chord's body, once all are done: final MP4,
                                                  deliverables, artifacts

The chord's join lives in the result backend (Redis). The database keeps its own count of the
segments done (``services``): ``finish_export`` runs only for the attempt whose segments are
all done and whose final step was claimed, so a duplicate or late body does nothing, and an
export whose chord never completes (a lost result backend, a crashed task) is found by the
reaper through its stale heartbeat instead of hanging.
"""

from __future__ import annotations

import logging

from celery import chord, shared_task

logger = logging.getLogger(__name__)


@shared_task(name="apps.rendering.tasks.start_export", ignore_result=True, acks_late=True)
def start_export(export_id: str) -> int:
    from . import services

    started = services.export_start(export_id=export_id)
    if started is None:
        return 0
    attempt, segment_ids = started
    header = [render_export_segment.si(str(export_id), segment_id, attempt) for segment_id in segment_ids]
    try:
        chord(header)(finish_export.si(str(export_id), attempt))
    except Exception:  # the broker or the result backend went away mid fan-out
        logger.exception("could not enqueue the segments of export %s", export_id)
        services.export_fail(export_id=export_id, attempt=attempt, error=services.ENQUEUE_FAILED)
    return len(segment_ids)


# The chord counts this task's results, so (unlike every other task) it stores them.
@shared_task(name="apps.rendering.tasks.render_export_segment", ignore_result=False, acks_late=True)
def render_export_segment(export_id: str, segment_id: str, attempt: int) -> bool:
    from . import services

    return services.export_render_segment(export_id=export_id, segment_id=segment_id, attempt=attempt)


@shared_task(name="apps.rendering.tasks.finish_export", ignore_result=True, acks_late=True)
def finish_export(export_id: str, attempt: int) -> str | None:
    from . import services

    export = services.export_finish(export_id=export_id, attempt=attempt)  # no-op unless the final step is claimed
    return export.state if export is not None else None
