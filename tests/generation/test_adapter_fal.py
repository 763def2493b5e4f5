"""fal.ai adapter against a fake fal queue, webhooks included."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from apps.generation.backends.base import (
    AuthError,
    BackendValidationError,
    JobLost,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from apps.generation.backends.fal import FalBackend, decode_job_id, encode_job_id
from apps.generation.registry import get_backend
from tests.fakes.fal import FakeFal
from tests.generation.adapter_cases import (
    assert_mp4,
    assert_png,
    assert_secret_hidden,
    check_expired_output,
    check_lost_job,
    ctx_for,
    data_uri,
    png_input,
    poll_until_done,
    reset,
    states,
    video_request,
)

KLING_T2V = "fal-ai/kling-video/v2.1/master/text-to-video"
KLING_I2V = "fal-ai/kling-video/v2.1/standard/image-to-video"
WEBHOOK = "https://studio.example.com/api/webhooks/fal/"


@pytest.fixture(scope="module")
def server():
    with FakeFal() as fake:
        yield fake


@pytest.fixture
def fake(server):
    return reset(server)


@pytest.fixture
def backend(server):
    backend = FalBackend()
    backend.jwks_url = server.jwks_url  # the fake's signing keys (an instance override)
    return backend


def kling(**kwargs):
    kwargs.setdefault("model", KLING_T2V)
    kwargs.setdefault("seconds", 5)
    return video_request(**kwargs)


def test_registered_under_its_name():
    backend = get_backend("fal")
    assert isinstance(backend, FalBackend)
    assert backend.title == "fal.ai" and backend.sends_webhooks


def test_text_to_video_from_submit_to_a_real_mp4(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    req = kling(negative_prompt="blur", params={"cfg_scale": 0.6}, webhook_url=WEBHOOK)
    backend.validate(req)

    job = backend.submit(req, ctx)

    assert fake.submit_count() == 1
    call = fake.calls[0]
    assert call.path == f"/{KLING_T2V}"
    assert call.query["fal_webhook"] == [WEBHOOK]
    assert call.headers["authorization"] == "Key sk-test"
    assert call.json() == {"prompt": req.prompt, "duration": "5", "aspect_ratio": "16:9", "negative_prompt": "blur", "cfg_scale": 0.6}

    request_id, status_url, response_url, cancel_url = decode_job_id(job.provider_job_id)
    assert FalBackend.request_id(job.provider_job_id) == request_id == job.raw["request_id"]
    assert (status_url, response_url, cancel_url) == (job.raw["status_url"], job.raw["response_url"], job.raw["cancel_url"])
    assert status_url == f"{fake.url}/fal-ai/kling-video/requests/{request_id}/status"

    final, seen = poll_until_done(backend, job.provider_job_id, ctx)
    assert [s for s, _ in states(seen)] == ["queued", "running", "running", "succeeded"]
    assert seen[0].raw["queue_position"] == 2
    [output] = final.outputs
    assert output.content_type == "video/mp4" and output.filename == "output.mp4"
    assert_mp4(backend.download(output, ctx, tmp_path / "take.mp4"))
    # The status and result were fetched from the URLs fal returned.
    assert fake.count("GET", f"/fal-ai/kling-video/requests/{request_id}/status") == 4
    assert fake.count("GET", f"/fal-ai/kling-video/requests/{request_id}") == 1


def test_provider_job_id_round_trips_and_fits_the_column():
    rid = "8f0e3a52-3c8d-4bd8-9a1c-0d5c7e2f4b11"
    base = f"https://queue.fal.run/fal-ai/kling-video/requests/{rid}"
    encoded = encode_job_id(rid, f"{base}/status", base, f"{base}/cancel")
    assert decode_job_id(encoded) == (rid, f"{base}/status", base, f"{base}/cancel")
    assert len(encoded) < 255
    with pytest.raises(JobLost):
        decode_job_id(rid)  # a bare request id carries no URLs


def test_image_to_video_sends_the_image(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    image = png_input(tmp_path)
    req = video_request(kind="image_to_video", model=KLING_I2V, seconds=10, image=image, seed=3)
    backend.validate(req)
    job = backend.submit(req, ctx)
    assert fake.calls[-1].json() == {"prompt": req.prompt, "duration": "10", "image_url": data_uri(image.path, "image/png")}
    assert job.raw["input"]["image_url"] == "data:…" and job.raw["seed_ignored"] is True

    stored = png_input(tmp_path, url="https://media.example.com/f.png")
    backend.submit(video_request(kind="image_to_video", model=KLING_I2V, seconds=5, image=stored), ctx)
    assert fake.calls[-1].json()["image_url"] == "https://media.example.com/f.png"


def test_veo3_input(fake, backend, tmp_path):
    req = video_request(model="fal-ai/veo3", seconds=8, width=1080, height=1920, seed=9, params={"generate_audio": False})
    backend.validate(req)
    backend.submit(req, ctx_for(fake, tmp_path))
    assert fake.calls[-1].json() == {
        "prompt": req.prompt,
        "aspect_ratio": "9:16",
        "duration": "8s",
        "resolution": "1080p",
        "generate_audio": False,
        "seed": 9,
    }


def test_flux_images_and_the_safety_checker(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    req = video_request(kind="text_to_image", model="fal-ai/flux/dev", seconds=None, width=1024, height=768, variations=2, seed=11)
    backend.validate(req)
    job = backend.submit(req, ctx)
    assert fake.calls[-1].json() == {
        "prompt": req.prompt,
        "image_size": {"width": 1024, "height": 768},
        "num_images": 2,
        "enable_safety_checker": True,
        "seed": 11,
    }
    final, _ = poll_until_done(backend, job.provider_job_id, ctx)
    assert [o.filtered for o in final.outputs] == [False, False]
    assert_png(backend.download(final.outputs[1], ctx, tmp_path / "b.png"))

    fake.scenario["all_filtered"] = True
    job = backend.submit(req, ctx)
    final, _ = poll_until_done(backend, job.provider_job_id, ctx)
    assert final.state == "succeeded"
    assert [o.filtered for o in final.outputs] == [True, True]
    assert "safety checker" in final.error


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"model": KLING_T2V, "seconds": 6}, "duration_frames"),
        ({"model": KLING_T2V, "seconds": 5, "width": 1600, "height": 1200}, "size"),
        ({"model": KLING_T2V, "seconds": 5, "prompt": ""}, "prompt"),
        ({"model": KLING_T2V, "seconds": 5, "prompt": "x" * 2501}, "prompt"),
        ({"model": KLING_T2V, "seconds": 5, "params": {"cfg_scale": 3}}, "params"),
        ({"model": KLING_I2V, "kind": "image_to_video", "seconds": 5}, "input_image"),
        ({"model": "fal-ai/veo3", "seconds": 5}, "duration_frames"),
        ({"model": "fal-ai/veo3", "seconds": 8, "width": 960, "height": 960}, "size"),
        ({"model": "fal-ai/flux/dev", "kind": "text_to_image", "seconds": None, "width": 4096, "height": 4096}, "size"),
        ({"model": "fal-ai/flux/dev", "kind": "text_to_image", "seconds": None, "seed": -5}, "seed"),
        ({"model": "fal-ai/sora", "seconds": 5}, "model"),
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
        backend.submit(kling(), ctx)
    assert err.value.retryable and err.value.retry_after == 2.0
    job = backend.submit(kling(), ctx)
    assert list(fake.jobs) == [FalBackend.request_id(job.provider_job_id)]


def test_exhausted_balance_is_a_quota_error(fake, backend, tmp_path):
    fake.scenario["quota"] = True
    with pytest.raises(QuotaExhausted) as err:
        backend.submit(kling(), ctx_for(fake, tmp_path))
    assert not err.value.retryable and "balance" in err.value.message


def test_server_error_is_transient(fake, backend, tmp_path):
    fake.scenario["server_error_once"] = True
    with pytest.raises(TransientError):
        backend.submit(kling(), ctx_for(fake, tmp_path))


def test_refused_key_is_an_auth_error(fake, backend, tmp_path):
    with pytest.raises(AuthError) as err:
        backend.submit(kling(), ctx_for(fake, tmp_path, api_key="fal-wrong-key"))
    assert_secret_hidden(err.value, "fal-wrong-key")


def test_a_422_at_submit_is_billable(fake, backend, tmp_path):
    # validate() stops this request; should fal refuse an input anyway, it may charge for it.
    with pytest.raises(ProviderError) as err:
        backend.submit(kling(prompt=""), ctx_for(fake, tmp_path))
    assert err.value.status == 422 and err.value.billable and not err.value.retryable
    assert "prompt: field required" in err.value.message


@pytest.mark.parametrize(
    "mode, billable, words",
    [
        ("422", True, "prompt: The prompt could not be processed"),
        ("result", True, "duration: unsupported duration"),
        ("status", False, "timed out"),
        ("500", False, "Internal server error"),
    ],
)
def test_completed_with_an_error_is_a_failed_job(fake, backend, tmp_path, mode, billable, words):
    ctx = ctx_for(fake, tmp_path)
    job = backend.submit(kling(), ctx)
    fake.scenario.update(fail_after_running=True, fail_mode=mode)
    final, seen = poll_until_done(backend, job.provider_job_id, ctx)
    assert [s for s, _ in states(seen)] == ["queued", "running", "running", "failed"]
    assert words in final.error and final.error.startswith("fal.ai")
    assert final.billable is billable
    assert final.outputs == []


def test_content_policy_refusal_of_a_video(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    job = backend.submit(kling(), ctx)
    fake.scenario["all_filtered"] = True
    final, _ = poll_until_done(backend, job.provider_job_id, ctx)
    assert final.state == "failed" and "content checker" in final.error


def test_expired_output_is_a_readable_error(fake, backend, tmp_path):
    check_expired_output(backend, fake, ctx_for(fake, tmp_path), kling(), tmp_path)


def test_lost_request_raises_job_lost(fake, backend, tmp_path):
    check_lost_job(backend, fake, ctx_for(fake, tmp_path), kling())


def test_cancel_uses_the_cancel_url(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    job = backend.submit(kling(), ctx)
    request_id = FalBackend.request_id(job.provider_job_id)
    backend.cancel(job.provider_job_id, ctx)
    assert fake.count("PUT", f"/fal-ai/kling-video/requests/{request_id}/cancel") == 1
    assert backend.poll(job.provider_job_id, ctx).state == "cancelled"
    backend.cancel(job.provider_job_id, ctx)  # ALREADY_COMPLETED: no error


def test_cost_estimate(backend, tmp_path):
    assert backend.estimate_cost(kling(seconds=10)) == Decimal("2.8000")
    i2v = video_request(kind="image_to_video", model=KLING_I2V, seconds=5, image=png_input(tmp_path))
    assert backend.estimate_cost(i2v) == Decimal("0.2500")
    veo = {"model": "fal-ai/veo3", "seconds": 8}
    assert backend.estimate_cost(video_request(**veo)) == Decimal("3.2000")
    assert backend.estimate_cost(video_request(**veo, params={"generate_audio": False})) == Decimal("1.6000")
    flux = {"kind": "text_to_image", "model": "fal-ai/flux/dev", "seconds": None}
    assert backend.estimate_cost(video_request(**flux, width=1024, height=768)) == Decimal("0.0250")
    assert backend.estimate_cost(video_request(**flux, width=1920, height=1080, variations=4)) == Decimal("0.3000")


# -- webhooks ----------------------------------------------------------------------------


def submitted(fake, backend, tmp_path, **scenario):
    ctx = ctx_for(fake, tmp_path)
    fake.scenario.update(scenario)
    job = backend.submit(kling(webhook_url=WEBHOOK), ctx)
    request_id = FalBackend.request_id(job.provider_job_id)
    fake.finish(request_id)
    return ctx, job, request_id


def test_signed_ok_webhook_carries_the_result(fake, backend, tmp_path):
    ctx, job, request_id = submitted(fake, backend, tmp_path)
    assert fake.jobs[request_id]["webhook"] == WEBHOOK
    event = backend.parse_webhook(*fake.signed_webhook(request_id), ctx)
    assert event.provider_job_id == request_id == FalBackend.request_id(job.provider_job_id)
    assert event.result.state == "succeeded"
    assert_mp4(backend.download(event.result.outputs[0], ctx, tmp_path / "hook.mp4"))


def test_a_retried_delivery_has_the_same_delivery_id(fake, backend, tmp_path):
    ctx, _, request_id = submitted(fake, backend, tmp_path)
    first = backend.parse_webhook(*fake.signed_webhook(request_id), ctx)
    again = backend.parse_webhook(*fake.signed_webhook(request_id, timestamp=int(time.time()) + 2), ctx)
    assert again.delivery_id == first.delivery_id
    assert again.result.state == first.result.state == "succeeded"


def test_error_webhook_is_a_failed_job(fake, backend, tmp_path):
    ctx, _, request_id = submitted(fake, backend, tmp_path, fail_after_running=True)
    headers, body = fake.signed_webhook(request_id)
    event = backend.parse_webhook({k.lower(): v for k, v in headers.items()}, body, ctx)
    assert event.result.state == "failed"
    assert "Invalid status code: 422" in event.result.error and "prompt" in event.result.error
    assert event.result.billable is True


@pytest.mark.parametrize("tamper", ["body", "key", "stale", "unsigned"])
def test_unverifiable_webhooks_are_refused(fake, backend, tmp_path, tamper):
    ctx, _, request_id = submitted(fake, backend, tmp_path)
    headers, body = fake.signed_webhook(request_id)
    if tamper == "body":
        body = body.replace(b'"OK"', b'"ERROR"')
    elif tamper == "key":
        headers, body = fake.signed_webhook(request_id, key=Ed25519PrivateKey.generate())
    elif tamper == "stale":
        headers, body = fake.signed_webhook(request_id, timestamp=int(time.time()) - 3600)
    else:
        headers = {"Content-Type": "application/json"}
    with pytest.raises(ProviderError) as err:
        backend.parse_webhook(headers, body, ctx)
    assert err.value.status in (400, 401)
