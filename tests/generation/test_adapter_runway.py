"""Runway adapter against a fake Runway API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.generation.backends.base import (
    AuthError,
    BackendValidationError,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from apps.generation.backends.runway import RunwayBackend
from apps.generation.registry import get_backend
from tests.fakes.runway import FakeRunway
from tests.generation.adapter_cases import (
    assert_mp4,
    assert_png,
    assert_secret_hidden,
    check_expired_output,
    check_lost_job,
    ctx_for,
    data_uri,
    mp4_input,
    png_input,
    poll_until_done,
    provider_fixtures,
    states,
    video_request,
)

server, fake, backend = provider_fixtures(FakeRunway, RunwayBackend)


def i2v(tmp_path, **kwargs):
    kwargs.setdefault("model", "gen4_turbo")
    kwargs.setdefault("seconds", 5)
    if "image" not in kwargs:
        kwargs["image"] = png_input(tmp_path)
    return video_request(kind="image_to_video", **kwargs)


def test_registered_under_its_name():
    backend = get_backend("runway")
    assert isinstance(backend, RunwayBackend)
    assert backend.title == "Runway" and backend.accepts_references


def test_image_to_video_from_submit_to_a_real_mp4(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    req = i2v(tmp_path, seed=42, width=720, height=1280)
    backend.validate(req)

    job = backend.submit(req, ctx)

    assert fake.create_count() == 1
    call = fake.calls[0]
    assert call.path == "/v1/image_to_video"
    assert call.headers["authorization"] == "Bearer sk-test"
    assert call.headers["x-runway-version"] == "2024-11-06"
    assert call.json() == {
        "model": "gen4_turbo",
        "promptText": req.prompt,
        "ratio": "720:1280",
        "duration": 5,
        "seed": 42,
        "promptImage": data_uri(req.input_image.path, "image/png"),
    }
    assert job.raw["request"]["promptImage"] == "data:…"  # no image bytes in provider_data
    assert 6 <= job.poll_after <= 7.5

    final, seen = poll_until_done(backend, job.provider_job_id, ctx)
    assert states(seen) == [("queued", None), ("running", 30), ("running", 70), ("succeeded", 100)]
    [output] = final.outputs
    assert output.content_type == "video/mp4"
    assert_mp4(backend.download(output, ctx, tmp_path / "take.mp4"))


def test_stored_image_is_sent_as_its_https_url(fake, backend, tmp_path):
    url = "https://media.example.com/frames/f1.png"
    job = backend.submit(i2v(tmp_path, image=png_input(tmp_path, url=url), prompt=""), ctx_for(fake, tmp_path))
    body = fake.jobs[job.provider_job_id]["body"]
    assert body["promptImage"] == url
    assert "promptText" not in body  # optional for gen4_turbo, never sent empty


def test_gen45_text_to_video(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    req = video_request(model="gen4.5", seconds=7)
    backend.validate(req)
    job = backend.submit(req, ctx)
    assert fake.calls[-1].path == "/v1/text_to_video"
    assert fake.jobs[job.provider_job_id]["body"] == {"model": "gen4.5", "promptText": req.prompt, "ratio": "1280:720", "duration": 7}


def test_text_to_image_with_tagged_references(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    refs = [png_input(tmp_path, tag="hero", url="https://media.example.com/hero.png"), png_input(tmp_path, (640, 360), tag="castle_2")]
    req = video_request(kind="text_to_image", model="gen4_image", seconds=None, width=1920, height=1080, prompt="@hero before @castle_2", reference_images=refs)
    backend.validate(req)
    job = backend.submit(req, ctx)
    body = fake.jobs[job.provider_job_id]["body"]
    assert fake.calls[-1].path == "/v1/text_to_image"
    assert body["ratio"] == "1920:1080"
    assert body["referenceImages"] == [
        {"uri": "https://media.example.com/hero.png", "tag": "hero"},
        {"uri": data_uri(refs[1].path, "image/png"), "tag": "castle_2"},
    ]
    final, _ = poll_until_done(backend, job.provider_job_id, ctx)
    [output] = final.outputs
    assert output.content_type == "image/png"
    assert_png(backend.download(output, ctx, tmp_path / "still.png"))


def test_upscale(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    req = video_request(kind="upscale", model="upscale_v1", seconds=None, video=mp4_input(tmp_path, url="https://media.example.com/take.mp4"))
    backend.validate(req)
    job = backend.submit(req, ctx)
    assert fake.calls[-1].path == "/v1/video_upscale"
    assert fake.jobs[job.provider_job_id]["body"] == {"model": "upscale_v1", "videoUri": "https://media.example.com/take.mp4"}
    final, _ = poll_until_done(backend, job.provider_job_id, ctx)
    assert_mp4(backend.download(final.outputs[0], ctx, tmp_path / "up.mp4"))


@pytest.mark.parametrize(
    "kind, kwargs, field",
    [
        ("image_to_video", {"model": "gen4_turbo", "seconds": 7}, "duration_frames"),
        ("image_to_video", {"model": "gen4_turbo", "seconds": 5, "width": 1920, "height": 1080}, "size"),
        ("image_to_video", {"model": "gen4_turbo", "seconds": 5, "image": None}, "input_image"),
        ("text_to_video", {"model": "gen4_turbo", "seconds": 5}, "kind"),
        ("text_to_video", {"model": "gen4.5", "seconds": 5, "width": 960, "height": 960}, "size"),
        ("text_to_video", {"model": "gen4.5", "seconds": 11}, "duration_frames"),
        ("text_to_video", {"model": "gen4.5", "seconds": 5, "prompt": "x" * 1001}, "prompt"),
        ("text_to_video", {"model": "gen4.5", "seconds": 5, "seed": -1}, "seed"),
        ("text_to_image", {"model": "gen4_image", "seconds": None, "width": 1000, "height": 1000}, "size"),
        ("upscale", {"model": "upscale_v1", "seconds": None}, "parent_take"),
        ("text_to_video", {"model": "gen5", "seconds": 5}, "model"),
    ],
)
def test_invalid_requests_are_refused_before_any_call(fake, backend, tmp_path, kind, kwargs, field):
    if kind == "image_to_video" and "image" not in kwargs:
        kwargs["image"] = png_input(tmp_path)
    with pytest.raises(BackendValidationError) as err:
        backend.validate(video_request(kind=kind, **kwargs))
    assert err.value.field == field
    assert fake.calls == []


def test_an_image_too_large_for_a_data_uri_needs_a_stored_copy(fake, backend, tmp_path):
    image = png_input(tmp_path, name="big.png")
    image.path.write_bytes(b"\x89PNG" + b"\0" * (4 * 2**20))  # 4 MB → over 5 MB as base64
    with pytest.raises(BackendValidationError, match="too large") as err:
        backend.validate(i2v(tmp_path, image=image))
    assert err.value.field == "input_image"
    image.url = "https://media.example.com/big.png"
    backend.validate(i2v(tmp_path, image=image))  # Runway fetches the stored copy itself
    assert fake.calls == []


def test_reference_images_are_checked(fake, backend, tmp_path):
    def t2i(refs):
        return video_request(kind="text_to_image", model="gen4_image", seconds=None, reference_images=refs)

    with pytest.raises(BackendValidationError, match="at most 3"):
        backend.validate(t2i([png_input(tmp_path, tag=f"ref{i}") for i in range(4)]))
    with pytest.raises(BackendValidationError, match="Reference tag"):
        backend.validate(t2i([png_input(tmp_path, tag="x")]))
    with pytest.raises(BackendValidationError, match="text to image"):
        backend.validate(i2v(tmp_path, reference_images=[png_input(tmp_path, tag="hero")]))
    assert fake.calls == []


def test_rate_limit_is_retryable_after_the_advertised_delay(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    fake.scenario["rate_limit_once"] = True
    with pytest.raises(RateLimited) as err:
        backend.submit(i2v(tmp_path), ctx)
    assert err.value.retryable and err.value.retry_after == 2.0
    job = backend.submit(i2v(tmp_path), ctx)
    assert list(fake.jobs) == [job.provider_job_id]


@pytest.mark.parametrize("flag", ["quota", "no_credits"])
def test_daily_limit_and_empty_credits_are_quota_errors(fake, backend, tmp_path, flag):
    fake.scenario[flag] = True
    with pytest.raises(QuotaExhausted) as err:
        backend.submit(i2v(tmp_path), ctx_for(fake, tmp_path))
    assert not err.value.retryable
    assert fake.jobs == {}


def test_load_shedding_is_transient(fake, backend, tmp_path):
    fake.scenario["server_error_once"] = True
    with pytest.raises(TransientError):
        backend.submit(i2v(tmp_path), ctx_for(fake, tmp_path))


def test_refused_key_is_an_auth_error(fake, backend, tmp_path):
    with pytest.raises(AuthError) as err:
        backend.submit(i2v(tmp_path), ctx_for(fake, tmp_path, api_key="key_wrong_789"))
    assert_secret_hidden(err.value, "key_wrong_789")


def test_throttled_task_counts_as_queued(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    fake.scenario["throttled"] = True
    job = backend.submit(i2v(tmp_path), ctx)
    _final, seen = poll_until_done(backend, job.provider_job_id, ctx)
    assert [s for s, _ in states(seen)] == ["queued", "queued", "running", "running", "succeeded"]
    assert seen[0].raw["status"] == "THROTTLED"


@pytest.mark.parametrize(
    "flag, words, code",
    [
        ("fail_after_running", "quality reasons", "INTERNAL.BAD_OUTPUT.CODE01"),
        ("all_filtered", "content moderation rejected the output", "SAFETY.OUTPUT.VIDEO"),
    ],
)
def test_failed_task_is_a_readable_unbilled_failure(fake, backend, tmp_path, flag, words, code):
    ctx = ctx_for(fake, tmp_path)
    job = backend.submit(i2v(tmp_path), ctx)
    fake.scenario[flag] = True
    final, seen = poll_until_done(backend, job.provider_job_id, ctx)
    assert [s for s, _ in states(seen)] == ["queued", "running", "running", "failed"]
    assert words in final.error and code in final.error
    assert final.billable is False
    assert final.raw["failureCode"] == code


def test_expired_output_link_is_a_readable_error(fake, backend, tmp_path):
    check_expired_output(backend, fake, ctx_for(fake, tmp_path), i2v(tmp_path), tmp_path)


def test_lost_task_raises_job_lost(fake, backend, tmp_path):
    check_lost_job(backend, fake, ctx_for(fake, tmp_path), i2v(tmp_path))


def test_cancel(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    job = backend.submit(i2v(tmp_path), ctx)
    backend.poll(job.provider_job_id, ctx)
    backend.cancel(job.provider_job_id, ctx)
    assert fake.count("DELETE", f"/v1/tasks/{job.provider_job_id}") == 1
    assert backend.poll(job.provider_job_id, ctx).state == "cancelled"
    backend.cancel("no-such-task", ctx)  # 404: nothing to cancel


def test_credit_balance(fake, backend, tmp_path):
    assert backend.credit_balance(ctx_for(fake, tmp_path)) == Decimal(1250)


def test_cost_estimate(backend, tmp_path):
    assert backend.estimate_cost(i2v(tmp_path, seconds=10)) == Decimal("0.5000")
    assert backend.estimate_cost(video_request(model="gen4.5", seconds=5)) == Decimal("0.6000")
    t2i = {"kind": "text_to_image", "model": "gen4_image", "seconds": None}
    assert backend.estimate_cost(video_request(**t2i, width=1280, height=720)) == Decimal("0.0500")
    assert backend.estimate_cost(video_request(**t2i, width=1920, height=1080, variations=2)) == Decimal("0.1600")
    assert backend.estimate_cost(video_request(kind="upscale", model="upscale_v1", seconds=None)) == Decimal("0.8000")
    assert backend.estimate_cost(video_request(kind="upscale", model="upscale_v1", seconds=8)) == Decimal("0.1600")
