"""Luma Dream Machine adapter against the fake Luma API (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.generation.backends.base import (
    AuthError,
    BackendContext,
    BackendValidationError,
    GenerationRequest,
    InputFile,
    JobLost,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from apps.generation.backends.luma import LumaBackend, nearest_aspect_ratio
from tests.fakes.luma import CallbackSink, FakeLuma
from tests.generation.adapter_cases import check_expired_output, check_lost_job, run_to_end


@pytest.fixture
def fake():
    with FakeLuma() as server:
        yield server


@pytest.fixture
def backend():
    return LumaBackend()


@pytest.fixture
def ctx(fake, tmp_path):
    return BackendContext(api_key="k-test", base_url=fake.url, workdir=tmp_path, config={}, timeout=5)


def t2v(**kw) -> GenerationRequest:
    defaults = {"kind": "text_to_video", "model": "ray-2", "prompt": "a lighthouse at dusk", "duration_frames": 120, "width": 1280, "height": 720}
    defaults.update(kw)
    return GenerationRequest(**defaults)


# -- validation ------------------------------------------------------------------------------


def test_registered_and_described(backend):
    from apps.generation.registry import get_backend

    assert isinstance(get_backend("luma"), LumaBackend)
    assert backend.title == "Luma Dream Machine"
    assert [m.name for m in backend.models] == ["ray-2", "ray-flash-2"]
    assert backend.kinds == ["text_to_video", "image_to_video"]


@pytest.mark.parametrize(
    "size, ratio",
    [((1280, 720), "16:9"), ((720, 1280), "9:16"), ((1024, 1024), "1:1"), ((960, 720), "4:3"), ((2560, 1080), "21:9"), ((1080, 2560), "9:21")],
)
def test_aspect_ratio_from_size(size, ratio):
    assert nearest_aspect_ratio(*size) == ratio


def test_validate_rejects_what_luma_cannot_make(backend):
    backend.validate(t2v())
    backend.validate(t2v(duration_frames=216))  # 9 s
    with pytest.raises(BackendValidationError, match="5, 9 seconds"):
        backend.validate(t2v(duration_frames=144))  # 6 s
    with pytest.raises(BackendValidationError) as err:
        backend.validate(t2v(width=1000, height=700))
    assert err.value.field == "size"
    with pytest.raises(BackendValidationError, match="renders at"):
        backend.validate(t2v(params={"resolution": "8k"}))
    with pytest.raises(BackendValidationError, match="no model"):
        backend.validate(t2v(model="ray-99"))
    with pytest.raises(BackendValidationError, match="cannot do"):
        backend.validate(t2v(kind="speech", text="hi"))


def test_image_to_video_needs_a_url(backend, tmp_path):
    image = InputFile(path=tmp_path / "still.png", content_type="image/png")
    with pytest.raises(BackendValidationError) as err:
        backend.validate(t2v(kind="image_to_video", input_image=image))
    assert err.value.field == "input_image"
    assert "URL" in err.value.message and "S3" in err.value.message
    image.url = "https://bucket.s3.example.com/still.png?X-Amz-Signature=abc"
    backend.validate(t2v(kind="image_to_video", input_image=image))


def test_costs_are_per_pixel_second(backend):
    ray2 = backend.estimate_cost(t2v())
    assert Decimal("0.6") < ray2 < Decimal("0.8")  # ~$0.71 for 720p × 5 s
    assert backend.estimate_cost(t2v(width=1920, height=1080)) > ray2
    assert backend.estimate_cost(t2v(duration_frames=216)) > ray2
    assert backend.estimate_cost(t2v(model="ray-flash-2")) < ray2
    assert backend.estimate_cost(t2v(variations=2)) == ray2 * 2


# -- the conversation ------------------------------------------------------------------------


def test_text_to_video_end_to_end(fake, backend, ctx, tmp_path):
    req = t2v(params={"loop": True})
    backend.validate(req)
    submitted = backend.submit(req, ctx)
    assert submitted.state == "queued" and submitted.provider_job_id

    assert fake.count("POST", r"/generations/video") == 1
    call = fake.calls[0]
    assert call.headers["authorization"] == "Bearer k-test"
    body = call.json()
    assert body["model"] == "ray-2"
    assert body["prompt"] == "a lighthouse at dusk"
    assert body["aspect_ratio"] == "16:9"
    assert body["duration"] == "5s"
    assert body["resolution"] == "720p"
    assert body["loop"] is True
    assert "keyframes" not in body and "callback_url" not in body

    result, seen = run_to_end(backend, submitted.provider_job_id, ctx)
    assert seen[0] == "queued" and "running" in seen and seen[-1] == "succeeded"
    assert len(result.outputs) == 1
    output = result.outputs[0]
    assert output.url.endswith(".mp4") and output.headers == {}

    dest = backend.download(output, ctx, tmp_path / "take.mp4")
    data = dest.read_bytes()
    assert data[4:8] == b"ftyp"
    # The CDN download never carried the API key.
    file_call = next(c for c in fake.calls if c.path.startswith("/files/"))
    assert "authorization" not in file_call.headers
    assert fake.count("POST", r"/generations/video") == 1


def test_image_to_video_sends_keyframe_url(fake, backend, ctx, tmp_path):
    image = InputFile(path=tmp_path / "still.png", content_type="image/png", url="https://cdn.example.com/still.png")
    req = t2v(kind="image_to_video", model="ray-flash-2", input_image=image, width=720, height=1280, duration_frames=216)
    backend.submit(req, ctx)
    body = fake.calls[0].json()
    assert body["keyframes"] == {"frame0": {"type": "image", "url": "https://cdn.example.com/still.png"}}
    assert body["aspect_ratio"] == "9:16" and body["duration"] == "9s" and body["model"] == "ray-flash-2"


def test_rate_limit_then_success(fake, backend, ctx):
    fake.scenario["rate_limit_once"] = True
    with pytest.raises(RateLimited) as err:
        backend.submit(t2v(), ctx)
    assert err.value.retryable and err.value.retry_after == 7
    backend.submit(t2v(), ctx)
    assert len(fake.jobs) == 1  # exactly one generation was created


def test_quota_is_never_retried(fake, backend, ctx):
    fake.scenario["quota"] = True
    with pytest.raises(QuotaExhausted) as err:
        backend.submit(t2v(), ctx)
    assert not err.value.retryable
    assert "credits" in err.value.message


def test_server_error_is_transient(fake, backend, ctx):
    fake.scenario["server_error_once"] = True
    with pytest.raises(TransientError):
        backend.submit(t2v(), ctx)


def test_bad_key_is_an_auth_error_without_the_key(fake, backend, tmp_path):
    ctx = BackendContext(api_key="k-wrong-secret", base_url=fake.url, workdir=tmp_path)
    with pytest.raises(AuthError) as err:
        backend.submit(t2v(), ctx)
    assert "k-wrong-secret" not in str(err.value)
    with pytest.raises(AuthError):
        backend.submit(t2v(), BackendContext(api_key="", base_url=fake.url))
    assert fake.count("POST", r"/generations/video") == 1  # the empty key never left the house


def test_failure_after_dreaming(fake, backend, ctx):
    fake.scenario["fail_after_running"] = True
    job = backend.submit(t2v(), ctx)
    result, seen = run_to_end(backend, job.provider_job_id, ctx)
    assert "running" in seen
    assert result.state == "failed" and not result.billable
    assert "Internal error while dreaming" in result.error


def test_moderated_generation_fails_readably(fake, backend, ctx):
    fake.scenario["all_filtered"] = True
    job = backend.submit(t2v(), ctx)
    result, _ = run_to_end(backend, job.provider_job_id, ctx)
    assert result.state == "failed" and not result.billable and result.outputs == []
    assert "moderation" in result.error


def test_lost_job(fake, backend, ctx):
    check_lost_job(backend, fake, ctx, t2v())
    with pytest.raises(JobLost):
        backend.poll("../../credits", ctx)


def test_expired_output(fake, backend, ctx, tmp_path):
    check_expired_output(backend, fake, ctx, t2v(), tmp_path)


def test_duplicate_callbacks_share_a_delivery_id(fake, backend, ctx):
    with CallbackSink() as sink:
        req = t2v(webhook_url=sink.url + "/hook")
        job = backend.submit(req, ctx)
        assert fake.calls[0].json()["callback_url"] == sink.url + "/hook"
        fake.scenario["duplicate_callbacks"] = True
        result, _ = run_to_end(backend, job.provider_job_id, ctx)
        assert result.state == "succeeded"
        events = [backend.parse_webhook(h, b, ctx) for h, b in sink.deliveries]
    states = [b["state"] for b in sink.bodies()]
    assert states == ["dreaming", "dreaming", "completed", "completed"]
    assert all(e.provider_job_id == job.provider_job_id for e in events)
    assert all(e.result is None for e in events)  # unsigned: the machinery polls for the truth
    ids = [e.delivery_id for e in events]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]
    with pytest.raises(ProviderError):
        backend.parse_webhook({}, b"not json", ctx)


def test_cancel_is_a_no_op(fake, backend, ctx):
    job = backend.submit(t2v(), ctx)
    assert backend.cancel(job.provider_job_id, ctx) is None
    assert len(fake.calls) == 1
