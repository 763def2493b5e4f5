"""An export's state as a job: attempts, progress (throttled events), heartbeats, failing,
enqueueing on commit, and the sentences people read when it ends badly.

Every step carries the attempt number it was started for: when the reaper restarts an
export (its worker died), steps of the old attempt find ``attempts`` changed and stop
(``Stopped``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core import heartbeat
from apps.core.events import publish
from apps.projects.events import record_event

from ..engine import RenderError, heartbeat_scope
from ..models import ACTIVE_STATES, Export, ExportState

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


class Stopped(Exception):
    """The export was cancelled (or restarted by the reaper) while this task ran."""


# ============================================================================================
# Payloads and progress events
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


def publish_started(export: Export) -> None:
    """The attempt began: progress 0, sent now (not throttled)."""
    publish(export.project_id, "export.progress", {"id": str(export.pk), "state": ExportState.RUNNING, "progress": 0})


def _publish_progress(export_id, project_id, progress: int, *, force: bool = False) -> None:
    key = str(export_id)
    now = time.monotonic()
    if not force and now - _last_progress_publish.get(key, 0.0) < PROGRESS_EVERY_SECONDS:
        return
    _last_progress_publish[key] = now
    publish(project_id, "export.progress", {"id": key, "state": ExportState.RUNNING, "progress": progress})


def forget_progress(export_id) -> None:
    """The export ended: drop its throttle entry."""
    _last_progress_publish.pop(str(export_id), None)


def set_progress(export: Export, attempt: int, value: int, listener: ProgressListener = None) -> None:
    """Raise the export's progress (never lowers it) and beat its heartbeat."""
    value = max(0, min(99, int(value)))
    moved = Export.objects.filter(pk=export.pk, state=ExportState.RUNNING, attempts=attempt, progress__lt=value).update(
        progress=value, heartbeat_at=timezone.now()
    )
    if moved:
        _publish_progress(export.pk, export.project_id, value)
        if listener is not None:
            listener(value)


# ============================================================================================
# Still ours? Heartbeats
# ============================================================================================


def still_running(export_id, attempt: int) -> bool:
    return Export.objects.filter(pk=export_id, state=ExportState.RUNNING, attempts=attempt).exists()


def check_running(export_id, attempt: int) -> None:
    if not still_running(export_id, attempt):
        raise Stopped()


def _beat(export_id, attempt: int, also: Callable[[], None] | None = None) -> Callable[[], None]:
    """The engine calls this every ~15 s while an ffmpeg run is busy (in the task's own
    thread): it keeps the heartbeat fresh, and stops the run when the export was cancelled
    or restarted (the exception ends the ffmpeg run and unwinds the engine)."""

    def beat() -> None:
        touched = Export.objects.filter(pk=export_id, state=ExportState.RUNNING, attempts=attempt).update(
            heartbeat_at=timezone.now()
        )
        if not touched:
            raise Stopped()
        if also is not None:
            also()

    return beat


@contextlib.contextmanager
def export_heartbeat(export_id, attempt: int, also: Callable[[], None] | None = None) -> Iterator[None]:
    """Beat while ffmpeg runs (the engine calls ``_beat``), and from a side thread every
    MONTAGE_JOB_HEARTBEAT_SECONDS in between (uploads, writing the deliverables)."""

    def touch() -> None:
        Export.objects.filter(pk=export_id, state=ExportState.RUNNING, attempts=attempt).update(heartbeat_at=timezone.now())

    with heartbeat.beating(touch, name=f"export-beat-{export_id}"), heartbeat_scope(_beat(export_id, attempt, also)):
        yield


# ============================================================================================
# Fail, enqueue
# ============================================================================================


def fail(export_id, attempt: int | None, error: str) -> Export | None:
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
    forget_progress(export_id)
    return export


def export_fail(*, export_id, attempt: int | None, error: str) -> Export | None:
    return fail(export_id, attempt, error)


def enqueue_start_on_commit(export_id) -> None:
    export_id = str(export_id)

    def send() -> None:
        from ..tasks import start_export  # tasks call the services: imported when sending

        try:
            start_export.delay(export_id)
        except Exception:  # the broker is down: say so instead of leaving the export queued
            logger.exception("could not enqueue export %s", export_id)
            fail(export_id, None, ENQUEUE_FAILED)

    transaction.on_commit(send)


def with_label(label: str, exc: BaseException) -> str:
    message = str(exc).strip() or exc.__class__.__name__
    if message.lower().startswith("segment "):
        return message
    return f"{label}: {message}"


def failure_message(exc: BaseException) -> str:
    if isinstance(exc, ExportFailed):
        return str(exc)
    if isinstance(exc, RenderError):
        return str(exc) or "The render failed."
    logger.exception("export failed unexpectedly", exc_info=exc)
    return f"The render failed unexpectedly ({exc.__class__.__name__}: {str(exc)[:300]}); start the export again."
