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

from apps.core.errors import ValidationError
from apps.generation import calls as job_calls
from apps.generation import inputs, services, submitting
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


# --------------------------------------------------------------------------------------------
# Item 3: every take records the seed that made it; re-running that seed makes it again
# --------------------------------------------------------------------------------------------


def _sha(take: Take) -> str:
    import hashlib

    from apps.media import storage

    take.refresh_from_db()
    return hashlib.sha256(open(storage.local_path(take.media.storage_key), "rb").read()).hexdigest()


def test_local_variations_record_seed_plus_i_and_a_seed_reproduces_its_take(crew, relative_media):
    small = {"size": "160x90"}
    job, takes = _generate(crew, backend="local-animatic", model="ken-burns", seed=42, variations=2, duration_frames=12, params=small)
    assert [t.provenance["seed"] for t in takes] == [42, 43]
    drive(job.pk)
    job.refresh_from_db()
    data = services.job_data(job)
    assert data["seed"] == 42 and data["seeds"] == [42, 43]
    assert [Take.objects.get(pk=t.pk).provenance["seed"] for t in takes] == [42, 43]
    assert _sha(takes[0]) != _sha(takes[1])
    again, (single,) = _generate(crew, backend="local-animatic", model="ken-burns", seed=43, duration_frames=12, params=small)
    drive(again.pk)
    assert single.provenance["seed"] == 43 and _sha(single) == _sha(takes[1])


def test_provider_calls_carry_the_seed_of_their_first_take(keyed, fake):
    # fg-1 makes up to 2 outputs per call: 3 variations are 2 calls (seeds 42 and 44).
    job, takes = services.generate(
        access=access_of(keyed), shot=keyed.shot, backend="fake-generic", model="fg-1", prompt="waves", seed=42,
        variations=3, duration_frames=96,
    )
    assert [c["seed"] for c in job.provider_data["calls"]] == [42, 44]
    assert [t.provenance["seed"] for t in takes] == [42, 42, 44]
    assert [t.provenance.get("batch_index") for t in takes] == [0, 1, None]
    drive(job.pk)
    sent = sorted(c.json()["seed"] for c in fake.calls if c.method == "POST")
    assert sent == [42, 44]
    job.refresh_from_db()
    assert services.job_data(job)["seeds"] == [42, 42, 44]


# --------------------------------------------------------------------------------------------
# Item 4: honest progress and visible retries
# --------------------------------------------------------------------------------------------


def test_a_local_job_reports_running_progress_before_it_ends(crew, relative_media, monkeypatch):
    seen = []
    original = job_calls._LocalProgress.__call__

    def spy(self, fraction):
        original(self, fraction)
        job = GenerationJob.objects.get(pk=self.job_id)
        seen.append((job.state, services.job_phase(job), job.progress))

    monkeypatch.setattr(job_calls, "PROGRESS_WRITE_SECONDS", 0.0)
    monkeypatch.setattr(job_calls._LocalProgress, "__call__", spy)
    job, _ = _generate(crew, backend="local-animatic", model="ken-burns", duration_frames=24, params={"size": "160x90"})
    assert services.job_data(job)["phase"] == "queued"
    drive(job.pk)
    running = [p for state, phase, p in seen if state == "running" and phase == "running"]
    assert any(0 < p < 100 for p in running), seen
    assert running == sorted(running)  # it only moves forward
    job.refresh_from_db()
    data = services.job_data(job)
    assert (data["state"], data["phase"], data["progress"], data["retry"]) == ("succeeded", "done", 100, None)


def test_ffmpeg_progress_is_reported_while_it_works(tmp_path):
    src = tmp_path / "long.mp4"
    src.write_bytes(_clip_bytes(tmp_path, seconds=6.0, size="320x180"))
    fractions = []
    _local.run_ffmpeg(
        ["-i", str(src), "-vf", "scale=640:360", "-c:v", "libx264", "-preset", "veryfast", str(tmp_path / "out.mp4")],
        timeout=120, what="Scaling", progress=fractions.append, seconds=6.0,
    )
    assert fractions and fractions == sorted(fractions)
    assert fractions[-1] == pytest.approx(1.0, abs=0.05)
    with pytest.raises(_local.ProviderError, match="Scaling failed"):
        _local.run_ffmpeg(["-i", str(tmp_path / "nope.mp4"), str(tmp_path / "x.mp4")], timeout=30, what="Scaling",
                          progress=fractions.append, seconds=1.0)


@pytest.mark.parametrize(
    ("scenario", "value", "message"),
    [
        ("server_error_once", True, "Fake Generic: Service unavailable"),
        ("rate_limit_once", 0.2, "Fake Generic: Too many requests"),
        ("proxy_error_once", True, "Fake Generic: HTTP 502 Bad Gateway"),
    ],
)
def test_a_provider_retry_is_shown_with_the_attempt_and_the_providers_message(keyed, fake, scenario, value, message):
    fake.scenario[scenario] = value
    job, _ = services.generate(access=access_of(keyed), shot=keyed.shot, backend="fake-generic", prompt="waves", duration_frames=96)
    services.job_advance(job_id=job.pk)
    job.refresh_from_db()
    data = services.job_data(job)
    assert data["state"] == "queued" and data["phase"] == "queued"
    retry = data["retry"]
    assert retry["attempt"] == 2 and retry["max_attempts"] >= submitting.MAX_SUBMIT_ATTEMPTS
    assert retry["message"] == message and "<" not in retry["message"]
    assert retry["at"]
    # the API shows the same
    body = keyed.client("viewer").get(f"{API}/generation-jobs/{job.pk}/").json()
    assert body["retry"] == retry
    import time

    time.sleep(0.3)
    for _ in range(30):
        step = services.job_advance(job_id=job.pk)
        job.refresh_from_db()
        if services.job_data(job)["phase"] == "submitted":
            assert services.job_data(job)["retry"] is None
        if step.done:
            break
    data = services.job_data(job)
    assert data["state"] == "succeeded" and data["retry"] is None and data["phase"] == "done"


# --------------------------------------------------------------------------------------------
# Item 4 (inputs): extend from the last frame; a take's first or last frame as input image
# --------------------------------------------------------------------------------------------


def _frames(path) -> list:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24").astype("int16") for f in container.decode(container.streams.video[0])]


def test_extend_continues_from_the_parents_last_frame(crew, relative_media, tmp_path):
    import numpy as np

    from apps.media import storage

    parent = make_video_take(crew, tmp_path, seconds=1.0, size="160x90")
    r = crew.client("owner").post(
        f"{API}/shots/{crew.shot.pk}/generate/",
        {"backend": "local-animatic", "parent_take": str(parent.pk), "duration_frames": 24, "seed": 5, "params": {"size": "160x90"}},
        format="json",
    )
    assert r.status_code == 202, r.json()
    job = r.json()["job"]
    assert (job["kind"], job["model"]) == ("video_extend", "ken-burns")
    drive(job["id"])
    take = Take.objects.get(pk=r.json()["takes"][0]["id"])
    assert take.status == "processing" or take.media_id  # ingest follows the job
    assert take.parent_id == parent.pk and take.provenance["parent_take"] == str(parent.pk)
    assert take.provenance["kind"] == "video_extend"
    last = _frames(storage.local_path(parent.media.storage_key))[-1]
    out = _frames(storage.local_path(take.media.storage_key))
    assert len(out) == 24
    assert np.abs(out[0] - last).mean() < 12  # it starts where the parent ends
    assert np.abs(out[-1] - last).mean() > np.abs(out[0] - last).mean()  # and then moves


@pytest.mark.parametrize("which", ["first", "last"])
def test_a_frame_of_a_take_as_the_input_image(crew, relative_media, tmp_path, which, monkeypatch):
    import numpy as np
    from PIL import Image

    from apps.media import storage

    taken = []
    original = inputs._video_frame

    def spy(video, folder, frame):
        path = original(video, folder, frame)
        taken.append(np.asarray(Image.open(path).convert("RGB")).astype("int16"))
        return path

    monkeypatch.setattr(inputs, "_video_frame", spy)
    parent = make_video_take(crew, tmp_path, seconds=1.0, size="160x90")
    job, (take,) = _generate(
        crew, backend="local-animatic", model="title-card", input_image=str(parent.pk), input_frame=which,
        duration_frames=12, params={"size": "160x90"},
    )
    assert take.provenance["input_image"]["frame"] == which and take.provenance["input_image"]["take"] == str(parent.pk)
    assert drive(job.pk)[-1].state == "succeeded"
    take.refresh_from_db()
    assert take.media_id
    frames = _frames(storage.local_path(parent.media.storage_key))
    wanted, other = (frames[0], frames[-1]) if which == "first" else (frames[-1], frames[0])
    (picture,) = taken
    assert np.abs(picture - wanted).mean() < np.abs(picture - other).mean()


def test_cancelling_a_local_job_stops_the_work(crew, relative_media, monkeypatch):
    calls = []
    original = job_calls._LocalProgress.__call__

    def cancel_on_first_report(self, fraction):
        calls.append(fraction)
        if len(calls) == 1:
            job = GenerationJob.objects.get(pk=self.job_id)
            services.job_cancel(access=access_of(crew), job=job)
        original(self, fraction)

    monkeypatch.setattr(job_calls, "PROGRESS_WRITE_SECONDS", 0.0)
    monkeypatch.setattr(job_calls._LocalProgress, "__call__", cancel_on_first_report)
    job, (take,) = _generate(crew, backend="local-animatic", model="ken-burns", duration_frames=48, params={"size": "160x90"})
    drive(job.pk)
    job.refresh_from_db()
    take.refresh_from_db()
    assert job.state == "cancelled" and take.status == "failed" and take.media_id is None
    assert len(calls) == 1  # the render stopped at once, not after 48 frames


def test_a_provider_job_goes_queued_submitted_running_done(keyed, fake):
    fake.scenario["polls"] = 2
    job, _ = services.generate(access=access_of(keyed), shot=keyed.shot, backend="fake-generic", prompt="waves", duration_frames=96)
    phases = [services.job_data(job)["phase"]]
    for _ in range(10):
        step = services.job_advance(job_id=job.pk)
        job.refresh_from_db()
        data = services.job_data(job)
        phases.append((data["phase"], data["progress"]))
        if step.done:
            break
    assert phases[0] == "queued"
    assert phases[1] == ("submitted", 0)
    running = [p for phase, p in phases[2:-1] if phase == "running"]
    assert running and all(0 < p < 100 for p in running) and running == sorted(running)
    assert phases[-1] == ("done", 100)


def test_on_object_storage_the_plan_checks_existence_in_the_storage_only(crew, relative_media, tmp_path, monkeypatch):
    """With S3 there is no local file at planning time: the input's existence is asked of the
    storage and the backends' file checks wait for the job (which downloads the input)."""
    from apps.generation import planning

    parent = make_video_take(crew, tmp_path)
    asked = []
    monkeypatch.setattr(planning.storage, "use_s3", lambda: True)
    monkeypatch.setattr(planning.storage, "exists", lambda key: asked.append(key) or True)
    plan = services.generation_plan(access=access_of(crew), shot=crew.shot, backend="local-upscale", parent_take=str(parent.pk))
    assert asked == [parent.media.storage_key]
    assert plan.request.input_video.placeholder and str(plan.request.input_video.path) == parent.media.storage_key
    with pytest.raises(ValidationError) as refused:
        services.generation_plan(
            access=access_of(crew), shot=crew.shot, backend="local-upscale", parent_take=str(parent.pk), params={"scale": 9}
        )
    assert "scale" in refused.value.fields
    monkeypatch.setattr(planning.storage, "exists", lambda key: False)
    with pytest.raises(ValidationError) as missing:
        services.generation_plan(access=access_of(crew), shot=crew.shot, backend="local-interpolate", parent_take=str(parent.pk))
    assert missing.value.fields == {"parent_take": ["The input video file is missing; choose it again."]}


def test_a_sound_is_not_an_input_image(crew, relative_media, tmp_path):
    take = make_video_take(crew, tmp_path)
    take.media.kind = "audio"
    take.media.save(update_fields=["kind"])
    r = crew.client("owner").post(
        f"{API}/shots/{crew.shot.pk}/generate/", {"backend": "local-animatic", "input_image": str(take.pk)}, format="json"
    )
    assert r.status_code == 400 and "input_image" in r.json()["fields"]
