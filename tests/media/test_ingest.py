"""Ingest of real (tiny) clips: probe values, derivatives in storage, readable failures."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from apps.media import services
from apps.media.models import MediaFile, MediaStatus
from apps.media.probe import probe_file
from apps.media.tasks import ingest_media

from .helpers import exists, ingest, read, stored_media

pytestmark = pytest.mark.django_db


def test_video_with_audio(clips, tmp_path):
    media = ingest(clips.v25_audio)
    assert media.status == MediaStatus.READY, media.error
    assert media.error == ""
    assert media.kind == "video"
    assert (media.width, media.height) == (320, 240)
    assert media.fps == 25.0
    assert media.duration_seconds == pytest.approx(1.0, abs=0.05)
    assert media.has_audio is True
    assert media.size == clips.v25_audio.stat().st_size
    assert len(media.sha256) == 64
    probe = media.probe
    assert (probe["fps_num"], probe["fps_den"]) == (25, 1)
    assert probe["frame_count"] == 25
    assert probe["video_codec"] == "h264" and probe["audio_codec"] == "aac"
    assert probe["sample_rate"] == 48000 and probe["channels"] == 1
    assert probe["pix_fmt"] == "yuv420p"
    assert media.heartbeat_at is None and media.ingest_attempts == 1

    # Derivatives live under media/<id>/ in storage.
    for key in (media.thumbnail_key, media.filmstrip_key, media.proxy_key):
        assert key.startswith(f"media/{media.pk}/") and exists(key), key
    thumb = Image.open(io.BytesIO(read(media.thumbnail_key)))
    assert thumb.format == "JPEG" and thumb.size == (320, 240)
    strip = Image.open(io.BytesIO(read(media.filmstrip_key)))
    assert strip.format == "JPEG" and strip.size == (10 * 160, 120)
    assert media.probe["filmstrip"] == {"frames": 10, "tile_width": 160, "tile_height": 120}

    proxy_path = tmp_path / "proxy.mp4"
    proxy_path.write_bytes(read(media.proxy_key))
    proxy = probe_file(str(proxy_path))
    assert proxy.video_codec == "h264" and proxy.pix_fmt == "yuv420p" and proxy.audio_codec == "aac"
    assert (proxy.width, proxy.height) == (320, 240)
    assert proxy.duration_seconds == pytest.approx(1.0, abs=0.1)
    head = proxy_path.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and head.find(b"moov") < max(head.find(b"mdat"), 4096)  # faststart

    assert 150 <= len(media.waveform) <= 200
    assert all(0.0 <= v <= 1.0 for v in media.waveform)
    assert max(media.waveform) > 0.05  # the tone is there


@pytest.mark.parametrize(
    ("name", "fps", "rational", "size", "proxy_size", "audio"),
    [
        ("v24", 24.0, (24, 1), (160, 120), (160, 120), False),
        ("v2997", 30000 / 1001, (30000, 1001), (192, 108), (192, 108), False),
        ("portrait", 30.0, (30, 1), (108, 192), (108, 192), True),
    ],
)
def test_rates_sizes_and_containers(clips, tmp_path, name, fps, rational, size, proxy_size, audio):
    media = ingest(getattr(clips, name))
    assert media.status == MediaStatus.READY, media.error
    assert media.fps == pytest.approx(fps)
    assert (media.probe["fps_num"], media.probe["fps_den"]) == rational
    assert (media.width, media.height) == size
    assert media.has_audio is audio
    assert bool(media.waveform) is audio
    proxy_path = tmp_path / "p.mp4"
    proxy_path.write_bytes(read(media.proxy_key))
    proxy = probe_file(str(proxy_path))
    assert (proxy.width, proxy.height) == proxy_size
    assert proxy.has_audio is audio


def test_large_video_gets_a_720p_proxy(clips, tmp_path):
    from .conftest import _h264, ffmpeg

    src = tmp_path / "wide.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=1920x1080:rate=5", "-t", "0.4", *_h264(), str(src))
    media = ingest(src)
    assert media.status == MediaStatus.READY, media.error
    out = tmp_path / "p.mp4"
    out.write_bytes(read(media.proxy_key))
    proxy = probe_file(str(out))
    assert (proxy.width, proxy.height) == (1280, 720)
    assert Image.open(io.BytesIO(read(media.thumbnail_key))).size == (640, 360)


def test_audio_only(clips):
    media = ingest(clips.tone)
    assert media.status == MediaStatus.READY, media.error
    assert media.kind == "audio"
    assert media.has_audio and media.width is None and media.fps is None
    assert media.duration_seconds == pytest.approx(1.0, abs=0.01)
    assert media.thumbnail_key == "" and media.filmstrip_key == ""
    assert media.proxy_key.endswith("proxy.m4a") and exists(media.proxy_key)
    assert len(media.waveform) == 200
    assert max(media.waveform) == pytest.approx(0.125, abs=0.02)  # lavfi sine is at 1/8 full scale


def test_image_is_ready_with_kind_image(clips):
    media = ingest(clips.still)
    assert media.status == MediaStatus.READY, media.error
    assert media.kind == "image"
    assert (media.width, media.height) == (64, 48)
    assert media.duration_seconds is None and media.proxy_key == "" and media.filmstrip_key == ""
    assert exists(media.thumbnail_key)


def test_truncated_file_fails_with_a_reason(clips):
    media = ingest(clips.truncated)
    assert media.status == MediaStatus.FAILED
    assert "truncated" in media.error and media.error.endswith(".")
    assert media.proxy_key == ""


def test_not_media_fails_with_a_reason(clips, tmp_path):
    media = ingest(clips.notes)
    assert media.status == MediaStatus.FAILED
    assert media.error == "This file could not be decoded as video or audio (it may be truncated or not a media file)."
    empty = tmp_path / "empty.mov"
    empty.write_bytes(b"")
    media = ingest(empty)
    assert media.status == MediaStatus.FAILED and "empty" in media.error


def test_limits(clips, settings):
    settings.MONTAGE_MEDIA_MAX_WIDTH = 256
    settings.MONTAGE_MEDIA_MAX_HEIGHT = 256
    media = ingest(clips.v25_audio)
    assert media.status == MediaStatus.FAILED
    assert media.error == "The video is 320×240; the limit is 256×256."
    settings.MONTAGE_MEDIA_MAX_WIDTH = settings.MONTAGE_MEDIA_MAX_HEIGHT = 8192
    settings.MONTAGE_MEDIA_MAX_DURATION_SECONDS = 1
    media = ingest(clips.faststart)
    assert media.status == MediaStatus.FAILED
    assert media.error == "The video is 2 s long; the limit is 1 s."


def test_missing_source_file_fails(clips):
    from django.core.files.storage import default_storage

    media = stored_media(clips.v24)
    default_storage.delete(media.storage_key)
    services.media_ingest(media_id=media.pk)
    media.refresh_from_db()
    assert media.status == MediaStatus.FAILED and "missing" in media.error


def test_task_is_idempotent(clips, django_assert_max_num_queries):
    media = ingest(clips.v24)
    assert media.status == MediaStatus.READY
    keys = (media.thumbnail_key, media.proxy_key)
    # Finished: a second run (a duplicate delivery) does nothing.
    with django_assert_max_num_queries(3):
        assert ingest_media(str(media.pk)) is None
    media.refresh_from_db()
    assert (media.thumbnail_key, media.proxy_key) == keys and media.ingest_attempts == 1
    # Gone, or never a UUID: returns quietly.
    assert ingest_media("7f0c9a36-1111-4222-8333-944455556666") is None
    assert ingest_media("not-a-uuid") is None


def test_a_fresh_processing_job_is_left_alone(clips):
    from django.utils import timezone

    media = stored_media(clips.v24)
    MediaFile.objects.filter(pk=media.pk).update(status=MediaStatus.PROCESSING, heartbeat_at=timezone.now(), ingest_attempts=1)
    assert services.media_ingest(media_id=media.pk) is None
    media.refresh_from_db()
    assert media.status == MediaStatus.PROCESSING and media.ingest_attempts == 1


def test_take_media_finished_is_called(clips, monkeypatch):
    import apps.production.services as production

    seen = []
    monkeypatch.setattr(production, "take_media_finished", lambda *, media: seen.append((media.pk, media.status)), raising=False)
    ok = ingest(clips.v24)
    bad = ingest(clips.notes)
    assert seen == [(ok.pk, "ready"), (bad.pk, "failed")]


def test_unexpected_crash_marks_failed_not_raised(clips, monkeypatch):
    from apps.media import ingest as media_services

    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(media_services, "_derive", boom)
    media = ingest(clips.v24)
    assert media.status == MediaStatus.FAILED
    assert media.error == media_services.SERVER_ERROR
