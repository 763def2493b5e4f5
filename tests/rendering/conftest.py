"""Fixtures for export tests: tiny real clips (160×90, 24 fps, a tone), takes that hold them,
a private MEDIA_ROOT and render cache per test, and a small film with every persona."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from apps.media.ffmpeg import ffmpeg_exe
from apps.media.models import MediaFile, MediaKind, MediaStatus
from apps.media.services import media_create_from_file
from apps.production.models import ReviewState, Take, TakeSource, TakeStatus
from tests.conftest import Crew, make_shot
from tests.media.conftest import moto_server, s3  # noqa: F401 - S3 (moto server) storage fixtures

API = "/api/v1"


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=60)


def make_clip(path: Path, *, seconds: float = 1.0, color: str = "red", size: str = "160x90", rate: str = "24", tone: int | None = 440) -> Path:
    """A short H.264 clip: a solid colour with a frame counter drawn by testsrc2 on top."""
    inputs = ["-f", "lavfi", "-i", f"color=c={color}:size={size}:rate={rate}:d={seconds}"]
    if tone:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000:duration={seconds}"]
    out = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "12"]
    if tone:
        out += ["-c:a", "aac", "-b:a", "64k", "-shortest"]
    ffmpeg(*inputs, *out, "-t", str(seconds), str(path))
    return path


def make_audio(path: Path, *, seconds: float = 1.0, tone: int = 660) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000:duration={seconds}", "-ac", "2", str(path))
    return path


@dataclass
class Clips:
    dir: Path

    def __getattr__(self, name: str) -> Path:
        path = self.dir / f"{name}.mp4"
        if path.exists():
            return path
        wav = self.dir / f"{name}.wav"
        if wav.exists():
            return wav
        raise AttributeError(name)


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> Clips:
    d = tmp_path_factory.mktemp("render-clips")
    make_clip(d / "red.mp4", color="red", tone=440)
    make_clip(d / "green.mp4", color="green", tone=550)
    make_clip(d / "blue.mp4", color="blue", tone=None)  # no audio track
    make_clip(d / "yellow.mp4", color="yellow", seconds=1.5, tone=330)
    make_clip(d / "wide.mp4", color="white", size="320x120", rate="25", tone=440)  # other shape and rate
    make_audio(d / "voice.wav", seconds=1.0, tone=660)
    return Clips(d)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture(autouse=True)
def render_cache_dir(settings, tmp_path) -> Path:
    root = tmp_path / "render-cache"
    settings.MONTAGE_RENDER_CACHE_DIR = str(root)
    return root


def _probe(path: Path) -> dict:
    import av

    with av.open(str(path)) as container:
        video = next((s for s in container.streams if s.type == "video"), None)
        audio = next((s for s in container.streams if s.type == "audio"), None)
        duration = float(container.duration / 1_000_000) if container.duration else None
        out = {"duration_seconds": duration, "has_audio": audio is not None}
        if video is not None:
            rate = video.average_rate
            out.update(
                width=video.codec_context.width, height=video.codec_context.height,
                fps=float(rate) if rate else None, fps_num=rate.numerator if rate else None,
                fps_den=rate.denominator if rate else None, frame_count=video.frames,
            )
        return out


def stored_media(path: Path, *, project, owner=None) -> MediaFile:
    """A ready MediaFile holding ``path``'s bytes (probed here; no thumbnails or proxies)."""
    media = media_create_from_file(owner=owner, project=project, path=str(path), filename=path.name, ingest=False)
    probe = _probe(path)
    media.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    media.status = MediaStatus.READY
    media.kind = MediaKind.VIDEO if "width" in probe else MediaKind.AUDIO
    media.duration_seconds = probe["duration_seconds"]
    media.width = probe.get("width")
    media.height = probe.get("height")
    media.fps = probe.get("fps")
    media.has_audio = probe["has_audio"]
    media.probe = probe
    media.save()
    return media


def real_take(shot, path: Path, *, author=None, approved: bool = True, reviewer=None, provenance: dict | None = None,
              status: str = TakeStatus.READY, cost: str = "0") -> Take:
    project = shot.segment.project
    from django.utils import timezone

    number = Take.objects.filter(shot=shot).count() + 1
    take = Take.objects.create(
        shot=shot, number=number, media=stored_media(path, project=project, owner=author),
        source=TakeSource.GENERATION if provenance else TakeSource.UPLOAD, provenance=provenance or {},
        author=author, status=status, cost=cost,
        review_state=ReviewState.APPROVED if approved else ReviewState.SUBMITTED,
        reviewed_by=reviewer if approved else None, reviewed_at=timezone.now() if approved else None,
    )
    return take


def approve(crew: Crew, take: Take) -> Take:
    from apps.production.services import take_approve
    from apps.projects.access import access_for

    return take_approve(access=access_for(user=crew.director, project=crew.project), take=take)


@dataclass
class Film:
    """crew.project with two segments and four shots:

    segment 1 (owned by crew.owner): shot 1 red (approved, generated: backend/model/seed),
        shot 2 green (approved, trimmed 4..20, crossfade 6 frames into it)
    segment 2 (open): shot 1 blue (approved, no audio track), shot 2 — a submitted take only
        (a slate unless include_unapproved)
    """

    crew: Crew
    shots: list
    takes: list


@pytest.fixture
def film(crew, clips) -> Film:
    from apps.production.models import Shot

    crew.project.fps_num, crew.project.fps_den = 24, 1
    crew.project.width, crew.project.height = 160, 90
    crew.project.save()
    shot1 = crew.shot  # segment 1, position 0
    Shot.objects.filter(pk=shot1.pk).update(title="Lighthouse", duration_frames=24)
    shot2 = make_shot(crew.seg, duration_frames=24, title="Keeper", in_frame=4, out_frame=20, transition_kind="crossfade", transition_frames=6)
    shot3 = make_shot(crew.open_seg, duration_frames=24, title="Sea")
    shot4 = make_shot(crew.open_seg, duration_frames=30, title="Storm")
    prov = {"backend": "runway", "model": "gen4_turbo", "prompt": "a lighthouse at dusk", "seed": 1234, "job": "job-1"}
    t1 = real_take(shot1, clips.red, author=crew.owner, reviewer=crew.director, provenance=prov, cost="0.5")
    t2 = real_take(shot2, clips.green, author=crew.owner, reviewer=crew.director)
    t3 = real_take(shot3, clips.blue, author=crew.director, reviewer=crew.director)
    t4 = real_take(shot4, clips.yellow, author=crew.artist, approved=False)
    for s in (shot1, shot2, shot3, shot4):
        s.refresh_from_db()
    return Film(crew=crew, shots=[shot1, shot2, shot3, shot4], takes=[t1, t2, t3, t4])
