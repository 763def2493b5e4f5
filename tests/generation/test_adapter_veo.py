"""Google Veo (Gemini API) adapter against the fake Gemini API (no database)."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from apps.generation.backends.base import (
    AuthError,
    BackendContext,
    BackendValidationError,
    GenerationRequest,
    InputFile,
    JobLost,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from apps.generation.backends.veo import VeoBackend
from tests.fakes.server import tiny_png
from tests.fakes.veo import FakeVeo
from tests.generation.adapter_cases import check_expired_output, check_lost_job
from tests.generation.adapter_cases import poll_until_done as run_to_end  # (final, every result seen)

MODEL = "veo-3.1-generate-preview"


@pytest.fixture
def fake():
    with FakeVeo() as server:
        yield server


@pytest.fixture
def backend():
    return VeoBackend()


@pytest.fixture
def ctx(fake, tmp_path):
    return BackendContext(api_key="k-test", base_url=fake.url, workdir=tmp_path, config={}, timeout=5)


def t2v(**kw) -> GenerationRequest:
    defaults = {"kind": "text_to_video", "model": MODEL, "prompt": "waves on a black sand beach", "duration_frames": 192, "width": 1280, "height": 720}
    defaults.update(kw)
    return GenerationRequest(**defaults)


# -- validation ------------------------------------------------------------------------------


def test_registered_and_described(backend):
    from apps.generation.registry import get_backend

    assert isinstance(get_backend("veo"), VeoBackend)
    assert backend.title == "Google Veo"
    names = [m.name for m in backend.models]
    assert "veo-3.1-generate-preview" in names and "veo-3.0-fast-generate-001" in names
    assert all(m.max_variations == 4 for m in backend.models)
    assert backend.calls_for(t2v(variations=6)) == 2


def test_validate_durations_and_sizes(backend):
    for frames in (96, 144, 192):  # 4, 6, 8 s at 24 fps
        backend.validate(t2v(duration_frames=frames))
    with pytest.raises(BackendValidationError, match="4, 6, 8 seconds"):
        backend.validate(t2v(duration_frames=120))
    with pytest.raises(BackendValidationError) as err:
        backend.validate(t2v(width=1024, height=1024))
    assert err.value.field == "size"
    backend.validate(t2v(width=1920, height=1080))
    with pytest.raises(BackendValidationError, match="1080p clips only at 8 seconds"):
        backend.validate(t2v(width=1920, height=1080, duration_frames=96))
    with pytest.raises(BackendValidationError, match="8 seconds"):
        backend.validate(t2v(model="veo-3.0-fast-generate-001", duration_frames=96))
    with pytest.raises(BackendValidationError):
        backend.validate(t2v(model="veo-3.0-fast-generate-001", width=1080, height=1920))
    with pytest.raises(BackendValidationError, match="person_generation"):
        backend.validate(t2v(params={"person_generation": "everyone"}))
    with pytest.raises(BackendValidationError, match="no model"):
        backend.validate(t2v(model="veo-9"))


def test_costs(backend):
    assert backend.estimate_cost(t2v()) == Decimal("3.2000")  # 8 s × $0.40
    assert backend.estimate_cost(t2v(model="veo-3.1-fast-generate-preview")) == Decimal("1.2000")


# -- the conversation ------------------------------------------------------------------------


def test_text_to_video_end_to_end(fake, backend, ctx, tmp_path):
    req = t2v(negative_prompt="people, text", seed=42, variations=2, width=720, height=1280)
    job = backend.submit(req, ctx)
    assert job.provider_job_id.startswith(f"models/{MODEL}/operations/")
    assert fake.count("POST", rf"/v1beta/models/{MODEL}:predictLongRunning") == 1
    call = fake.calls[0]
    assert call.headers["x-goog-api-key"] == "k-test"
    assert "k-test" not in call.path
    body = call.json()
    assert body["instances"] == [{"prompt": "waves on a black sand beach"}]
    assert body["parameters"] == {
        "aspectRatio": "9:16",
        "resolution": "720p",
        "durationSeconds": 8,
        "sampleCount": 2,
        "negativePrompt": "people, text",
    }

    result, seen = run_to_end(backend, job.provider_job_id, ctx)
    assert [r.state for r in seen[:-1]] == ["running", "running"]
    assert seen[0].progress is not None and seen[1].progress > seen[0].progress
    assert result.state == "succeeded" and len(result.outputs) == 2
    assert all(o.headers == {} for o in result.outputs)  # the key is added at download time

    for i, output in enumerate(result.outputs):
        dest = backend.download(output, ctx, tmp_path / f"take{i}.mp4")
        assert dest.read_bytes()[4:8] == b"ftyp"
    downloads = [c for c in fake.calls if c.path.startswith("/v1beta/files/")]
    assert len(downloads) == 2 and all(c.headers.get("x-goog-api-key") == "k-test" for c in downloads)
    assert fake.count("POST", r"/v1beta/models/.*") == 1


def test_image_to_video_sends_inline_image(fake, backend, ctx, tmp_path):
    still = tmp_path / "still.png"
    still.write_bytes(tiny_png("1280x720"))
    req = t2v(kind="image_to_video", input_image=InputFile(path=still, content_type="image/png"), model="veo-3.1-fast-generate-preview", duration_frames=96)
    backend.validate(req)
    backend.submit(req, ctx)
    instance = fake.calls[0].json()["instances"][0]
    assert instance["image"]["mimeType"] == "image/png"
    assert base64.b64decode(instance["image"]["bytesBase64Encoded"]) == still.read_bytes()
    assert fake.calls[0].json()["parameters"]["durationSeconds"] == 4


def test_rate_limit_is_retried_after_retry_info(fake, backend, ctx):
    fake.scenario["rate_limit_once"] = True
    with pytest.raises(RateLimited) as err:
        backend.submit(t2v(), ctx)
    assert err.value.retry_after == 7 and err.value.retryable
    backend.submit(t2v(), ctx)
    assert len(fake.jobs) == 1


def test_daily_quota_is_never_retried(fake, backend, ctx):
    fake.scenario["quota"] = True
    with pytest.raises(QuotaExhausted) as err:
        backend.submit(t2v(), ctx)
    assert not err.value.retryable


def test_server_error_is_transient(fake, backend, ctx):
    fake.scenario["server_error_once"] = True
    with pytest.raises(TransientError):
        backend.submit(t2v(), ctx)


def test_bad_key(fake, backend, tmp_path):
    ctx = BackendContext(api_key="AIza-not-the-key", base_url=fake.url, workdir=tmp_path)
    with pytest.raises(AuthError) as err:
        backend.submit(t2v(), ctx)
    assert "AIza-not-the-key" not in str(err.value)


def test_operation_error_fails(fake, backend, ctx):
    fake.scenario["fail_after_running"] = True
    job = backend.submit(t2v(), ctx)
    result, seen = run_to_end(backend, job.provider_job_id, ctx)
    assert seen[0].state == "running"
    assert result.state == "failed" and not result.billable
    assert "internal error" in result.error


def test_everything_filtered_fails_with_the_safety_message(fake, backend, ctx):
    fake.scenario["all_filtered"] = True
    job = backend.submit(t2v(variations=2), ctx)
    result, _ = run_to_end(backend, job.provider_job_id, ctx)
    assert result.state == "failed" and not result.billable and result.outputs == []
    assert "safety" in result.error and "You have not been charged" in result.error


def test_partly_filtered_keeps_the_rest(fake, backend, ctx, tmp_path):
    fake.scenario["filter_one"] = True
    job = backend.submit(t2v(variations=3), ctx)
    result, _ = run_to_end(backend, job.provider_job_id, ctx)
    assert result.state == "succeeded"
    assert [o.filtered for o in result.outputs] == [False, False, True]
    assert result.outputs[2].url is None and result.outputs[2].meta["reason"]


def test_lost_operation(fake, backend, ctx):
    check_lost_job(backend, fake, ctx, t2v())
    with pytest.raises(JobLost):
        backend.poll("https://evil.example.com/x", ctx)


def test_expired_download(fake, backend, ctx, tmp_path):
    check_expired_output(backend, fake, ctx, t2v(), tmp_path)


def test_key_does_not_follow_a_redirect_to_another_host(fake, backend, ctx, tmp_path):
    job = backend.submit(t2v(), ctx)
    result, _ = run_to_end(backend, job.provider_job_id, ctx)
    fake.scenario["redirect_downloads"] = True
    dest = backend.download(result.outputs[0], ctx, tmp_path / "x.mp4")
    assert dest.read_bytes()[4:8] == b"ftyp"
    blob = [c for c in fake.calls if c.path.startswith("/blob/")]
    assert len(blob) == 1 and "x-goog-api-key" not in blob[0].headers


def test_base_url_with_version_suffix(fake, backend, tmp_path):
    ctx = BackendContext(api_key="k-test", base_url=fake.url + "/v1beta/", workdir=tmp_path)
    job = backend.submit(t2v(), ctx)
    assert backend.poll(job.provider_job_id, ctx).state == "running"
