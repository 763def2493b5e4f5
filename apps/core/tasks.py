"""Periodic housekeeping shared by all apps."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="apps.core.tasks.reap_stale_jobs")
def reap_stale_jobs() -> dict[str, int]:
    """Re-queue or fail jobs whose worker died (stale heartbeat). Each app registers a reaper."""
    from apps.media.services import media_reap_stale

    return {"media": media_reap_stale()}
