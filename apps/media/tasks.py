"""Celery tasks of the media app (routed to the ``media`` queue)."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="apps.media.tasks.ingest_media", ignore_result=True, acks_late=True)
def ingest_media(media_id: str) -> str | None:
    """Probe, checksum, thumbnail, filmstrip, proxy and waveform for one media file.

    Idempotent: returns quietly if the row is gone or already ready/failed. Bad media ends
    ``failed`` with a readable error; the task does not raise for it."""
    from .services import media_ingest

    media = media_ingest(media_id=media_id)
    return media.status if media is not None else None
