"""The reaper: stale ingest jobs are re-queued, or failed after three attempts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.media import services
from apps.media.models import MediaFile, MediaStatus, Upload, UploadStatus

from .helpers import stored_media

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """Record ingest tasks instead of running them."""
    from apps.media.tasks import ingest_media

    sent: list[str] = []
    monkeypatch.setattr(ingest_media, "delay", lambda media_id: sent.append(media_id))
    return sent


def _processing(media, *, minutes_ago: int, attempts: int) -> None:
    MediaFile.objects.filter(pk=media.pk).update(
        status=MediaStatus.PROCESSING, heartbeat_at=timezone.now() - timedelta(minutes=minutes_ago), ingest_attempts=attempts
    )


def test_stale_processing_is_requeued(clips, queued, on_commit, settings):
    settings.MONTAGE_JOB_STALE_SECONDS = 600
    stale = stored_media(clips.v24)
    fresh = stored_media(clips.v24)
    _processing(stale, minutes_ago=11, attempts=1)
    _processing(fresh, minutes_ago=1, attempts=1)
    with on_commit():
        assert services.media_reap_stale() == 1
    assert queued == [str(stale.pk)]
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == MediaStatus.PENDING and stale.heartbeat_at is None
    assert fresh.status == MediaStatus.PROCESSING


def test_requeued_job_is_ingested(clips, on_commit, settings):
    settings.MONTAGE_JOB_STALE_SECONDS = 600
    media = stored_media(clips.v24)
    _processing(media, minutes_ago=30, attempts=2)
    with on_commit():
        services.media_reap_stale()
    media.refresh_from_db()
    assert media.status == MediaStatus.READY and media.ingest_attempts == 3


def test_third_interruption_fails(clips, queued, on_commit, monkeypatch, settings):
    import apps.production.services as production

    finished = []
    monkeypatch.setattr(production, "take_media_finished", lambda *, media: finished.append(media.pk), raising=False)
    settings.MONTAGE_JOB_STALE_SECONDS = 600
    media = stored_media(clips.v24)
    _processing(media, minutes_ago=11, attempts=3)
    with on_commit():
        assert services.media_reap_stale() == 1
    media.refresh_from_db()
    assert media.status == MediaStatus.FAILED
    assert media.error == "Ingest was interrupted three times; upload the file again."
    assert queued == [] and finished == [media.pk]


def test_lost_pending_media_is_requeued(clips, queued, on_commit, settings, crew):
    settings.MONTAGE_JOB_STALE_SECONDS = 600
    old = timezone.now() - timedelta(minutes=20)
    lost = stored_media(clips.v24, project=crew.project)  # e.g. a generation output
    waiting = stored_media(clips.v24)  # an upload nobody has used yet
    Upload.objects.create(
        owner=crew.owner, filename="a.webm", size=1, content_type="video/webm", method="local",
        storage_key=waiting.storage_key, status=UploadStatus.COMPLETE, media=waiting, expires_at=timezone.now(),
    )  # fmt: skip
    MediaFile.objects.filter(pk__in=[lost.pk, waiting.pk]).update(updated_at=old)
    with on_commit():
        assert services.media_reap_stale() == 1
    assert queued == [str(lost.pk)]
    # Touched: not re-queued again on the next run.
    with on_commit():
        assert services.media_reap_stale() == 0
    assert queued == [str(lost.pk)]


def test_expired_pending_uploads_are_abandoned(crew, media_root):
    upload = services.upload_create(actor=crew.owner, project_id=crew.project.pk, filename="a.mp4", size=4, content_type="video/mp4")
    path = media_root / upload.storage_key
    path.parent.mkdir(parents=True)
    path.write_bytes(b"abcd")
    Upload.objects.filter(pk=upload.pk).update(expires_at=timezone.now() - timedelta(seconds=5))
    services.media_reap_stale()
    upload.refresh_from_db()
    assert upload.status == UploadStatus.FAILED and "expired" in upload.error
    assert not path.exists()


def test_core_reaper_task_calls_media(clips, queued, settings):
    from apps.core.tasks import reap_stale_jobs

    settings.MONTAGE_JOB_STALE_SECONDS = 600
    media = stored_media(clips.v24)
    _processing(media, minutes_ago=11, attempts=1)
    assert reap_stale_jobs()["media"] == 1
