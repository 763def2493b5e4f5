"""Exports whose worker died: restarted once, then failed; queued exports whose start message
was lost are queued again. Called by ``apps.core.tasks.reap_stale_jobs`` (celery beat, every
``MONTAGE_REAPER_INTERVAL_SECONDS``); an export is stale after ``MONTAGE_RENDER_STALE_SECONDS``
(default ``MONTAGE_JOB_STALE_SECONDS``) without a heartbeat.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.projects.events import record_event

from ..models import Export, ExportState
from .files import render_cache_sweep
from .state import MAX_ATTEMPTS, WORKER_STOPPED, enqueue_start_on_commit, export_event_data

logger = logging.getLogger(__name__)


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
        Q(heartbeat_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__isnull=True, updated_at__lt=cutoff)
    )
    for export_id in list(stale.values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            export = (
                Export.objects.select_for_update()
                .select_related("project")
                .filter(pk=export_id, state=ExportState.RUNNING)
                .first()
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
                enqueue_start_on_commit(export.pk)
            count += 1

    lost = Export.objects.filter(state=ExportState.QUEUED, updated_at__lt=cutoff)
    for export_id in list(lost.values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            export = (
                Export.objects.select_for_update()
                .select_related("project")
                .filter(pk=export_id, state=ExportState.QUEUED, updated_at__lt=cutoff)
                .first()
            )
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
                enqueue_start_on_commit(export.pk)
            count += 1
    try:
        render_cache_sweep()
    except Exception:  # housekeeping never stops the reaper
        logger.warning("could not sweep the render cache", exc_info=True)
    return count
