"""Jobs on the built-in backends, run through the job machinery as ``make run`` runs them.

The media root is a *relative* path and the process's current directory is not the
repository (storage keys must never be tested against the current directory), inputs are
real uploads and takes, and every job goes through ``generate`` → ``job_advance``.
"""

from __future__ import annotations

import subprocess
from datetime import timedelta

import av
import pytest
from django.utils import timezone

from apps.generation import services
from apps.generation.backends import _local
from apps.generation.models import GenerationJob
from apps.production.models import Take

from .conftest import API, access_of, drive

pytestmark = pytest.mark.django_db


@pytest.fixture
def relative_media(settings, tmp_path, monkeypatch):
    """MEDIA_ROOT relative to a working directory that is not the repository."""
    monkeypatch.chdir(tmp_path)
    settings.MEDIA_ROOT = "var/xyz"
    return tmp_path / "var" / "xyz"


def _clip_bytes(tmp_path, *, seconds: float = 1.0, size: str = "160x90", fps: int = 24) -> bytes:
    path = tmp_path / f"src-{seconds}-{size}-{fps}.mp4"
    subprocess.run(
        _local.ffmpeg_cmd([
            "-f", "lavfi", "-i", f"testsrc=size={size}:rate={fps}", "-t", str(seconds),
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
        ]),
        check=True, timeout=60,
    )  # fmt: skip
    return path.read_bytes()


def _png_bytes(size=(160, 90)) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    img = Image.new("RGB", size, (20, 120, 200))
    for x in range(0, size[0], 20):
        img.paste((230, 200, 40), (x, 0, x + 6, size[1]))
    img.save(buf, format="PNG")
    return buf.getvalue()


def _store(name: str, data: bytes, tmp_path) -> str:
    from apps.media import storage

    src = tmp_path / f"incoming-{name}"
    src.write_bytes(data)
    return storage.store_path(f"uploads/test/{name}", str(src))


def make_upload(user, tmp_path, name="still.png"):
    from apps.media.models import MediaFile, Upload

    data = _png_bytes()
    key = _store(name, data, tmp_path)
    media = MediaFile.objects.create(
        owner=user, storage_key=key, original_name=name, content_type="image/png", size=len(data), kind="image", status="ready"
    )
    return Upload.objects.create(
        owner=user, filename=name, size=len(data), content_type="image/png", method="local", storage_key=key,
        status="complete", media=media, expires_at=timezone.now() + timedelta(hours=1),
    )


def make_video_take(crew, tmp_path, *, number=1, seconds=1.0, size="160x90", fps=24):
    from apps.media.models import MediaFile

    data = _clip_bytes(tmp_path, seconds=seconds, size=size, fps=fps)
    key = _store(f"clip-{number}.mp4", data, tmp_path)
    w, h = (int(v) for v in size.split("x"))
    media = MediaFile.objects.create(
        project=crew.project, owner=crew.owner, storage_key=key, original_name="clip.mp4", content_type="video/mp4",
        kind="video", status="ready", size=len(data), width=w, height=h,
    )
    return Take.objects.create(shot=crew.shot, number=number, media=media, source="upload", status="ready", author=crew.owner)


def _generate(crew, **kwargs):
    kwargs.setdefault("prompt", "the harbour at dawn")
    return services.generate(access=access_of(crew), shot=crew.shot, **kwargs)


def _output_of(take: Take):
    from apps.media import storage

    take.refresh_from_db()
    assert take.media is not None, take.error
    path = storage.local_path(take.media.storage_key)
    with av.open(path) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return {"size": (stream.codec_context.width, stream.codec_context.height), "rate": stream.average_rate, "frames": frames}


# --------------------------------------------------------------------------------------------
# Item 1: inputs are found through the storage, not the current directory
# --------------------------------------------------------------------------------------------


def test_image_to_video_from_an_upload_with_a_relative_media_root(crew, relative_media, tmp_path):
    upload = make_upload(crew.owner, tmp_path)
    r = crew.client("owner").post(
        f"{API}/shots/{crew.shot.pk}/generate/estimate/",
        {"backend": "local-animatic", "model": "ken-burns", "input_image": str(upload.pk), "duration_frames": 12},
        format="json",
    )
    assert r.status_code == 200, r.json()
    assert r.json()["kind"] == "image_to_video"
    job, takes = _generate(crew, backend="local-animatic", model="ken-burns", input_image=str(upload.pk), duration_frames=12)
    assert drive(job.pk)[-1].state == "succeeded"
    out = _output_of(takes[0])
    assert out["frames"] == 12 and out["size"] == (1280, 720)


def test_upscale_a_parent_take_with_a_relative_media_root(crew, relative_media, tmp_path):
    parent = make_video_take(crew, tmp_path)
    r = crew.client("owner").post(
        f"{API}/shots/{crew.shot.pk}/generate/",
        {"backend": "local-upscale", "parent_take": str(parent.pk), "params": {"scale": 2}},
        format="json",
    )
    assert r.status_code == 202, r.json()
    job_id = r.json()["job"]["id"]
    assert drive(job_id)[-1].state == "succeeded"
    take = Take.objects.get(pk=r.json()["takes"][0]["id"])
    assert take.parent_id == parent.pk
    assert _output_of(take)["size"] == (320, 180)


def test_interpolate_a_parent_take_with_a_relative_media_root(crew, relative_media, tmp_path):
    parent = make_video_take(crew, tmp_path)
    job, takes = _generate(crew, backend="local-interpolate", parent_take=str(parent.pk), params={"fps": 48})
    assert drive(job.pk)[-1].state == "succeeded"
    out = _output_of(takes[0])
    assert out["rate"] == 48 and out["frames"] == 48


def test_a_missing_input_file_is_a_clear_400(crew, relative_media, tmp_path):
    from apps.media import storage

    upload = make_upload(crew.owner, tmp_path)
    parent = make_video_take(crew, tmp_path)
    storage.delete_quietly(upload.media.storage_key)
    storage.delete_quietly(parent.media.storage_key)
    body = {"backend": "local-animatic", "input_image": str(upload.pk), "duration_frames": 12}
    r = crew.client("owner").post(f"{API}/shots/{crew.shot.pk}/generate/", body, format="json")
    assert r.status_code == 400
    assert r.json()["fields"]["input_image"] == ["The input image file is missing; choose it again."]
    r = crew.client("owner").post(
        f"{API}/shots/{crew.shot.pk}/generate/", {"backend": "local-upscale", "parent_take": str(parent.pk)}, format="json"
    )
    assert r.status_code == 400
    assert r.json()["fields"]["parent_take"] == ["The input video file is missing; choose it again."]
    assert not GenerationJob.objects.exists()
