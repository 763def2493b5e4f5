"""Fixtures for media tests: tiny clips made by ffmpeg, a private MEDIA_ROOT per test, and an
S3 (moto server) storage."""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.storage import default_storage, storages
from django.test import override_settings
from django.utils.functional import empty

from apps.media.ffmpeg import ffmpeg_exe


def ffmpeg(*args: str) -> None:
    subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
        timeout=60,
    )


def _h264(*extra: str) -> list[str]:
    return ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra]


@dataclass
class Clips:
    dir: Path

    def __getattr__(self, name: str) -> Path:  # clips.v25_audio → the file
        for path in self.dir.iterdir():
            if path.stem == name:
                return path
        raise AttributeError(name)


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> Clips:
    d = tmp_path_factory.mktemp("clips")
    lavfi_v = lambda size, rate: ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}"]
    sine = ["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000"]
    # 320×240 at 25 fps with a 1 kHz tone: the everyday case.
    ffmpeg(*lavfi_v("320x240", 25), *sine, "-t", "1", *_h264(), "-c:a", "aac", "-shortest", str(d / "v25_audio.mp4"))
    # 24 fps, no audio, odd container (WebM/VP8).
    ffmpeg(*lavfi_v("160x120", 24), "-t", "1", "-c:v", "libvpx", "-b:v", "200k", str(d / "v24.webm"))
    # NTSC 30000/1001, 16:9, no audio.
    ffmpeg(*lavfi_v("192x108", "30000/1001"), "-t", "1", *_h264(), str(d / "v2997.mp4"))
    # Portrait 9:16 with audio, in a MOV.
    ffmpeg(*lavfi_v("108x192", 30), *sine, "-t", "1", *_h264(), "-c:a", "aac", "-shortest", str(d / "portrait.mov"))
    # Audio only (WAV) and an image (PNG).
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "1", str(d / "tone.wav"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1", str(d / "still.png"))
    # 2 s with the moov atom first (valid header), then cut in half: a truncated upload.
    full = d / "faststart.mp4"
    ffmpeg(*lavfi_v("320x240", 25), *sine, "-t", "2", *_h264(), "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(full))
    data = full.read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (d / "notes.mp4").write_bytes(b"These are my notes for the film, not a video.\n" * 20)
    return Clips(d)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """A private, empty MEDIA_ROOT for every media test (local filesystem storage)."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (e.g. the eager ingest task) when the block exits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _reset_storages() -> None:
    storages._storages = {}
    try:
        del storages.backends
    except AttributeError:
        pass
    storages._backends = None
    default_storage._wrapped = empty


@pytest.fixture
def s3(moto_server, tmp_path, monkeypatch):
    """Default storage is S3 (moto's server) for this test; a fresh bucket each time."""
    import uuid

    import boto3

    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    bucket = f"montage-test-{uuid.uuid4().hex[:12]}"
    aws = {
        "USE_S3": True,
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": moto_server,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_S3_ADDRESSING_STYLE": "path",
        "AWS_S3_SIGNATURE_VERSION": "s3v4",
        "AWS_DEFAULT_ACL": None,
        "AWS_QUERYSTRING_AUTH": True,
        "AWS_QUERYSTRING_EXPIRE": 3600,
        "MEDIA_ROOT": str(tmp_path / "not-used"),
        "STORAGES": {
            "default": {"BACKEND": "storages.backends.s3.S3Storage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    }
    client = boto3.client(
        "s3", endpoint_url=moto_server, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    client.create_bucket(Bucket=bucket)
    with override_settings(**aws):
        _reset_storages()
        try:
            yield S3Env(client=client, bucket=bucket, endpoint=moto_server)
        finally:
            _reset_storages()
    _reset_storages()


@dataclass
class S3Env:
    client: object
    bucket: str
    endpoint: str

    def object_keys(self) -> list[str]:
        response = self.client.list_objects_v2(Bucket=self.bucket)
        return sorted(o["Key"] for o in response.get("Contents", []))

    def size(self, key: str) -> int:
        return self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
