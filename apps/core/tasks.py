"""Periodic housekeeping shared by all apps."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="apps.core.tasks.reap_stale_jobs")
def reap_stale_jobs() -> dict[str, int]:
    """Re-queue or fail jobs whose worker died (stale heartbeat). Each app registers a reaper."""
    from apps.generation.services import generation_reap_stale
    from apps.media.services import media_reap_stale

    result = {"media": media_reap_stale()}
    try:
        result["generation"] = generation_reap_stale()
    except Exception:  # one app's reaper never stops another's
        logger.exception("the generation reaper failed")
        result["generation"] = -1
    try:
        from apps.rendering.services import export_reap_stale

        result["rendering"] = export_reap_stale()
    except Exception:  # one app's reaper never stops another's
        logger.exception("the export reaper failed")
        result["rendering"] = -1
    return result
