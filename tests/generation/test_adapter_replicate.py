"""Replicate adapter against a fake Replicate API, webhooks included."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from apps.generation.backends.base import (
    AuthError,
    BackendValidationError,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from apps.generation.backends.replicate import ReplicateBackend
from apps.generation.registry import get_backend
from tests.fakes.replicate import FakeReplicate
from tests.generation.adapter_cases import (
    assert_mp4,
    assert_secret_hidden,
    check_expired_output,
    check_lost_job,
    ctx_for,
    data_uri,
    png_input,
    poll_until_done,
    provider_fixtures,
    states,
    video_request,
)

WEBHOOK = "https://studio.example.com/api/webhooks/replicate/"


server, fake, backend = provider_fixtures(FakeReplicate, ReplicateBackend)


def wan(**kwargs):
    kwargs.setdefault("model", "wan-video/wan-2.2-t2v-fast")
    kwargs.setdefault("seconds", 5)
    kwargs.setdefault("width", 832)
    kwargs.setdefault("height", 480)
    return video_request(**kwargs)


def test_registered_under_its_name():
    backend = get_backend("replicate")
    assert isinstance(backend, ReplicateBackend)
    assert backend.title == "Replicate" and backend.sends_webhooks


def test_text_to_video_from_submit_to_a_real_mp4(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    req = wan(seed=1234, webhook_url=WEBHOOK)
    backend.validate(req)

    job = backend.submit(req, ctx)

    assert fake.create_count() == 1
    call = fake.calls[0]
    assert call.path == "/models/wan-video/wan-2.2-t2v-fast/predictions"
    assert call.headers["authorization"] == "Bearer sk-test"
    assert call.json() == {
        "input": {
            "prompt": req.prompt,
            "num_frames": 81,  # 5 s at 16 fps, raised to the model's minimum of 81 frames
            "frames_per_second": 16,
            "aspect_ratio": "16:9",
            "resolution": "480p",
            "seed": 1234,
        },
        "webhook": WEBHOOK,
        "webhook_events_filter": ["completed"],
    }
    assert job.state == "queued" and job.poll_after == 5.0

    final, seen = poll_until_done(backend, job.provider_job_id, ctx)
    assert states(seen) == [("queued", None), ("running", 30), ("running", 70), ("succeeded", 100)]
    [output] = final.outputs
    assert output.content_type == "video/mp4" and not output.filtered
    assert_mp4(backend.download(output, ctx, tmp_path / "take.mp4"))


def test_no_webhook_fields_without_a_webhook_url(fake, backend, tmp_path):
    backend.submit(wan(), ctx_for(fake, tmp_path))
    assert set(fake.calls[0].json()) == {"input"}


def test_image_to_video_sends_the_image_as_url_or_data_uri(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    image = png_input(tmp_path)
    req = video_request(kind="image_to_video", model="kwaivgi/kling-v2.1", seconds=10, image=image, negative_prompt="blur", seed=5)
    backend.validate(req)
    job = backend.submit(req, ctx)
    assert fake.jobs[job.provider_job_id]["input"] == {
        "prompt": req.prompt,
        "start_image": data_uri(image.path, "image/png"),
        "duration": 10,
        "mode": "standard",
        "negative_prompt": "blur",
    }
    assert job.raw["input"]["start_image"] == "data:…" and job.raw["seed_ignored"] is True

    stored = png_input(tmp_path, url="https://media.example.com/f.png")
    job = backend.submit(video_request(kind="image_to_video", model="minimax/video-01", seconds=6, image=stored), ctx)
    assert fake.jobs[job.provider_job_id]["input"]["first_frame_image"] == "https://media.example.com/f.png"
    assert fake.create_count() == 2


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"model": "minimax/video-01", "seconds": 5}, "duration_frames"),
        ({"model": "minimax/video-01", "seconds": 6, "width": 720, "height": 1280}, "size"),
        ({"model": "kwaivgi/kling-v2.1", "kind": "image_to_video", "seconds": 5}, "input_image"),
        ({"model": "kwaivgi/kling-v2.1", "seconds": 5}, "kind"),
        ({"model": "wan-video/wan-2.2-t2v-fast", "seconds": 8, "width": 832, "height": 480}, "duration_frames"),
        ({"model": "wan-video/wan-2.2-t2v-fast", "seconds": 5, "width": 1920, "height": 1080}, "size"),
        ({"model": "wan-video/wan-2.2-t2v-fast", "seconds": 5, "width": 832, "height": 480, "prompt": ""}, "prompt"),
        ({"model": "stability-ai/sdxl", "seconds": 5}, "model"),
    ],
)
def test_invalid_requests_are_refused_before_any_call(fake, backend, kwargs, field):
    with pytest.raises(BackendValidationError) as err:
        backend.validate(video_request(**kwargs))
    assert err.value.field == field
    assert fake.calls == []


def test_rate_limit_is_retryable_after_the_advertised_delay(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    fake.scenario["rate_limit_once"] = True
    with pytest.raises(RateLimited) as err:
        backend.submit(wan(), ctx)
    assert err.value.retryable and err.value.retry_after == 2.0
    job = backend.submit(wan(), ctx)
    assert list(fake.jobs) == [job.provider_job_id]


def test_insufficient_credit_is_a_quota_error(fake, backend, tmp_path):
    fake.scenario["quota"] = True
    with pytest.raises(QuotaExhausted) as err:
        backend.submit(wan(), ctx_for(fake, tmp_path))
    assert not err.value.retryable and "credit" in err.value.message


def test_server_error_is_transient(fake, backend, tmp_path):
    fake.scenario["server_error_once"] = True
    with pytest.raises(TransientError):
        backend.submit(wan(), ctx_for(fake, tmp_path))


def test_refused_token_is_an_auth_error(fake, backend, tmp_path):
    with pytest.raises(AuthError) as err:
        backend.submit(wan(), ctx_for(fake, tmp_path, api_key="r8_wrong_token"))
    assert_secret_hidden(err.value, "r8_wrong_token")


@pytest.mark.parametrize(
    "flag, words",
    [("fail_after_running", "CUDA error"), ("all_filtered", "safety filter flagged")],
)
def test_failed_prediction_is_a_readable_failure(fake, backend, tmp_path, flag, words):
    ctx = ctx_for(fake, tmp_path)
    job = backend.submit(wan(), ctx)
    fake.scenario[flag] = True
    final, seen = poll_until_done(backend, job.provider_job_id, ctx)
    assert [s for s, _ in states(seen)] == ["queued", "running", "running", "failed"]
    assert words in final.error and final.error.startswith("Replicate")
    assert final.billable is False


def test_nsfw_flags_mark_outputs_filtered(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    job = backend.submit(wan(), ctx)
    fake.scenario["nsfw_output"] = True
    final, _ = poll_until_done(backend, job.provider_job_id, ctx)
    assert final.state == "succeeded"
    assert [o.filtered for o in final.outputs] == [True]
    assert "safety filter" in final.error


def test_deleted_output_is_a_readable_error(fake, backend, tmp_path):
    check_expired_output(backend, fake, ctx_for(fake, tmp_path), wan(), tmp_path)


def test_lost_prediction_raises_job_lost(fake, backend, tmp_path):
    check_lost_job(backend, fake, ctx_for(fake, tmp_path), wan())


def test_cancel(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    job = backend.submit(wan(), ctx)
    backend.cancel(job.provider_job_id, ctx)
    assert fake.count("POST", f"/predictions/{job.provider_job_id}/cancel") == 1
    assert backend.poll(job.provider_job_id, ctx).state == "cancelled"
    backend.cancel("gone", ctx)  # 404: nothing to cancel


def test_cost_estimate(backend, tmp_path):
    assert backend.estimate_cost(video_request(model="minimax/video-01", seconds=6)) == Decimal("0.5100")
    image = png_input(tmp_path)
    kling = {"kind": "image_to_video", "model": "kwaivgi/kling-v2.1", "seconds": 10, "image": image}
    assert backend.estimate_cost(video_request(**kling)) == Decimal("0.5000")
    assert backend.estimate_cost(video_request(**kling, width=1920, height=1080)) == Decimal("0.9000")
    assert backend.estimate_cost(wan(variations=2)) == Decimal("0.2000")


# -- webhooks ----------------------------------------------------------------------------


def webhook_ctx(fake, tmp_path, **kwargs):
    return ctx_for(fake, tmp_path, webhook_secret=fake.webhook_secret, **kwargs)


def test_webhook_secret_can_be_fetched(fake, backend, tmp_path):
    assert backend.webhook_secret(ctx_for(fake, tmp_path)) == fake.webhook_secret


def test_signed_completion_webhook_carries_the_result(fake, backend, tmp_path):
    ctx = webhook_ctx(fake, tmp_path)
    job = backend.submit(wan(webhook_url=WEBHOOK), ctx)
    fake.finish(job.provider_job_id)
    headers, body = fake.signed_webhook(job.provider_job_id)

    event = backend.parse_webhook(headers, body, ctx)

    assert event.delivery_id == headers["webhook-id"]
    assert event.provider_job_id == job.provider_job_id
    assert event.result.state == "succeeded"
    assert_mp4(backend.download(event.result.outputs[0], ctx, tmp_path / "hook.mp4"))


def test_a_retried_delivery_has_the_same_delivery_id(fake, backend, tmp_path):
    ctx = webhook_ctx(fake, tmp_path)
    job = backend.submit(wan(), ctx)
    fake.finish(job.provider_job_id)
    first = backend.parse_webhook(*fake.signed_webhook(job.provider_job_id), ctx)
    again = backend.parse_webhook(*fake.signed_webhook(job.provider_job_id, timestamp=int(time.time()) + 1), ctx)
    assert again.delivery_id == first.delivery_id
    assert again.provider_job_id == first.provider_job_id and again.result.state == first.result.state


def test_failed_prediction_webhook(fake, backend, tmp_path):
    ctx = webhook_ctx(fake, tmp_path)
    job = backend.submit(wan(), ctx)
    fake.scenario["all_filtered"] = True
    fake.finish(job.provider_job_id)
    event = backend.parse_webhook(*fake.signed_webhook(job.provider_job_id), ctx)
    assert event.result.state == "failed" and "E005" in event.result.error


def test_webhook_headers_are_case_insensitive(fake, backend, tmp_path):
    ctx = webhook_ctx(fake, tmp_path)
    job = backend.submit(wan(), ctx)
    headers, body = fake.signed_webhook(job.provider_job_id)
    event = backend.parse_webhook({k.upper(): v for k, v in headers.items()}, body, ctx)
    assert event.provider_job_id == job.provider_job_id and event.result.state == "queued"


@pytest.mark.parametrize("tamper", ["body", "secret", "stale", "unsigned", "no_secret_configured"])
def test_unverifiable_webhooks_are_refused(fake, backend, tmp_path, tamper):
    ctx = webhook_ctx(fake, tmp_path)
    job = backend.submit(wan(), ctx)
    fake.finish(job.provider_job_id)
    headers, body = fake.signed_webhook(job.provider_job_id)
    if tamper == "body":
        body = body.replace(b'"succeeded"', b'"failed"')
    elif tamper == "secret":
        headers, body = fake.signed_webhook(job.provider_job_id, secret="whsec_" + "QUFBQUFBQUFBQUFBQUFBQQ==")
    elif tamper == "stale":
        headers, body = fake.signed_webhook(job.provider_job_id, timestamp=int(time.time()) - 3600)
    elif tamper == "unsigned":
        headers = {"Content-Type": "application/json"}
    else:
        ctx.webhook_secret = ""
    with pytest.raises(ProviderError) as err:
        backend.parse_webhook(headers, body, ctx)
    assert err.value.status in (400, 401)
