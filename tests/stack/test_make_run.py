"""The creative loop of issue 10, run the way ``make run`` runs Montage (harness.py): stills →
image to video → upscale → interpolate → extend, variations with their seeds, and a job seen
running with real progress - all through the public API, with the real worker."""

from __future__ import annotations

import io
import subprocess
import time
import uuid

import pytest

from apps.generation.backends import _local

from .harness import Api

pytestmark = pytest.mark.timeout(300)


def _png(width=320, height=180) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), (30, 90, 160))
    draw = ImageDraw.Draw(img)
    for x in range(0, width, 40):
        draw.rectangle((x, 0, x + 12, height), fill=(240, 200, 60))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _clip(tmp_path, seconds=1.0, size="320x180", fps=24) -> bytes:
    path = tmp_path / "clip.mp4"
    subprocess.run(
        _local.ffmpeg_cmd([
            "-f", "lavfi", "-i", f"testsrc=size={size}:rate={fps}", "-t", str(seconds),
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
        ]),
        check=True, timeout=60,
    )  # fmt: skip
    return path.read_bytes()


@pytest.fixture(scope="module")
def film(make_run):
    """A director with a token, a project (320×180 at 24 fps), a segment and a 1 s shot."""
    api = Api(make_run)
    api.sign_up(f"dana-{uuid.uuid4().hex[:6]}", "pw-Montage-Stack-42")
    project = api.call("POST", "/api/v1/projects/", json={"title": "Harbour", "fps": "24", "width": 320, "height": 180}, expect=201)
    segment = api.call("POST", f"/api/v1/projects/{project['id']}/segments/", json={"title": "Dawn"}, expect=201)
    shot = api.call(
        "POST", f"/api/v1/segments/{segment['id']}/shots/", json={"title": "Pier", "prompt": "the pier at dawn", "duration_frames": 24},
        expect=201,
    )
    return api, project, shot


def test_image_to_video_upscale_interpolate_extend_and_seeds(film, tmp_path):
    api, project, shot = film
    sid = shot["id"]

    # A still → image to video on the built-in animatic backend.
    still = api.upload(project["id"], "still.png", _png(), "image/png")
    body = {"backend": "local-animatic", "model": "ken-burns", "input_image": still["id"], "duration_frames": 24}
    estimate = api.call("POST", f"/api/v1/shots/{sid}/generate/estimate/", json=body, expect=200)
    assert estimate["kind"] == "image_to_video"
    (moving,) = api.finished_takes(api.generate(sid, **body))
    assert moving["provenance"]["kind"] == "image_to_video"
    assert (moving["media"]["width"], moving["media"]["height"]) == (320, 180)

    # An uploaded clip as a take → upscale ×2 → a take twice as wide.
    clip = api.upload(project["id"], "clip.mp4", _clip(tmp_path), "video/mp4")
    source = api.call("POST", f"/api/v1/shots/{sid}/takes/", json={"upload": clip["id"]}, expect=201)
    source = api.wait_for(f"/api/v1/takes/{source['id']}/", lambda t: t["status"] == "ready", what="the uploaded take")
    (bigger,) = api.finished_takes(api.generate(sid, backend="local-upscale", parent_take=source["id"], params={"scale": 2}))
    assert (bigger["media"]["width"], bigger["media"]["height"]) == (640, 360)
    assert bigger["parent"] == source["id"]

    # Interpolate to 48 fps → a take at 48 fps.
    (smoother,) = api.finished_takes(api.generate(sid, backend="local-interpolate", parent_take=source["id"], params={"fps": 48}))
    assert float(smoother["media"]["fps"]) == pytest.approx(48.0)
    assert smoother["parent"] == source["id"]

    # Extend from the last frame (built-in backend).
    answer = api.generate(sid, backend="local-animatic", parent_take=source["id"], duration_frames=24)
    assert answer["job"]["kind"] == "video_extend"
    (extended,) = api.finished_takes(answer)
    assert extended["parent"] == source["id"] and extended["provenance"]["parent_take"] == source["id"]

    # A frame of a take as the input image.
    answer = api.generate(sid, backend="local-animatic", model="ken-burns", input_image=source["id"], input_frame="last", duration_frames=24)
    (from_frame,) = api.finished_takes(answer)
    assert from_frame["provenance"]["input_image"] == {"take": source["id"], "media": source["media"]["id"], "frame": "last"}

    # Two variations at seed 42 → seeds 42 and 43, on the takes and on the job.
    answer = api.generate(sid, backend="local-animatic", model="title-card", seed=42, variations=2, duration_frames=24)
    takes = api.finished_takes(answer)
    assert [t["provenance"]["seed"] for t in takes] == [42, 43]
    assert [t["seed"] for t in takes] == [42, 43]
    job = api.call("GET", f"/api/v1/generation-jobs/{answer['job']['id']}/", expect=200)
    assert job["seeds"] == [42, 43] and job["phase"] == "done"


def test_a_job_is_seen_running_with_real_progress(film):
    api, project, shot = film
    # A clip at 720p so that the job runs for a few seconds (frames are drawn and encoded one by one).
    answer = api.generate(
        shot["id"], backend="local-animatic", model="ken-burns", duration_frames=72, params={"size": "1280x720"}, seed=3
    )
    job_id = answer["job"]["id"]
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = api.call("GET", f"/api/v1/generation-jobs/{job_id}/", expect=200)
        seen.append((job["state"], job["phase"], job["progress"]))
        if job["state"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.1)
    assert seen[-1][0] == "succeeded", seen[-5:]
    running = [p for state, phase, p in seen if state == "running" and phase == "running"]
    assert any(0 < p < 100 for p in running), seen
    assert running == sorted(running)
    assert seen[-1][2] == 100
