"""OpenAI Sora 2 adapter against a fake Videos API."""

from __future__ import annotations

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
from apps.generation.backends.openai_videos import OpenAIVideosBackend
from apps.generation.registry import get_backend
from tests.fakes.openai_videos import FakeOpenAIVideos
from tests.generation.adapter_cases import (
    assert_mp4,
    assert_secret_hidden,
    check_expired_output,
    check_lost_job,
    ctx_for,
    png_input,
    poll_until_done,
    provider_fixtures,
    states,
    video_request,
)

server, fake, backend = provider_fixtures(FakeOpenAIVideos, OpenAIVideosBackend)


def test_registered_under_its_name():
    backend = get_backend("openai")
    assert isinstance(backend, OpenAIVideosBackend)
    assert backend.title == "OpenAI Sora 2"
    assert backend.default_base_url == "https://api.openai.com/v1"


def test_text_to_video_from_submit_to_a_real_mp4(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    req = video_request(model="sora-2", seconds=8, width=1280, height=720, seed=7)
    backend.validate(req)

    job = backend.submit(req, ctx)

    assert fake.create_count() == 1
    call = fake.calls[0]
    assert call.headers["authorization"] == "Bearer sk-test"
    assert call.json() == {"model": "sora-2", "prompt": req.prompt, "seconds": "8", "size": "1280x720"}
    assert job.state == "queued"
    assert job.raw["seed_ignored"] is True

    final, seen = poll_until_done(backend, job.provider_job_id, ctx)
    assert states(seen) == [("queued", 0), ("running", 30), ("running", 70), ("succeeded", 100)]
    assert seen[0].poll_after == 2.0  # openai-poll-after-ms: 2000
    [output] = final.outputs
    assert output.url.endswith(f"/videos/{job.provider_job_id}/content?variant=video")
    assert output.meta["expires_at"] > 0
    assert "authorization" not in {k.lower() for k in output.headers}  # the key is added at download time

    path = backend.download(output, ctx, tmp_path / "take.mp4")
    assert_mp4(path)
    content_call = fake.calls[-1]
    assert content_call.headers["authorization"] == "Bearer sk-test"
    assert content_call.query["variant"] == ["video"]


def test_image_to_video_uploads_the_first_frame_at_the_output_size(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    image = png_input(tmp_path, (640, 360))  # not 1280×720: scaled and cropped before upload
    req = video_request(kind="image_to_video", model="sora-2-pro", seconds=4, image=image)
    backend.validate(req)

    job = backend.submit(req, ctx)

    job_data = fake.jobs[job.provider_job_id]
    assert job_data["fields"] == {"model": "sora-2-pro", "prompt": req.prompt, "seconds": "4", "size": "1280x720"}
    _filename, data, content_type = job_data["reference"]
    assert content_type == "image/png" and data[:8] == b"\x89PNG\r\n\x1a\n"
    from io import BytesIO

    from PIL import Image

    assert Image.open(BytesIO(data)).size == (1280, 720)
    assert job.raw["input_reference_resized"] is True


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"model": "sora-2", "seconds": 5}, "duration_frames"),
        ({"model": "sora-2", "width": 1792, "height": 1024, "seconds": 4}, "size"),
        ({"model": "sora-2", "kind": "image_to_video", "seconds": 4}, "input_image"),
        ({"model": "sora-3", "seconds": 4}, "model"),
        ({"model": "sora-2", "seconds": 4, "prompt": ""}, "prompt"),
        ({"model": "sora-2", "kind": "text_to_image", "seconds": None}, "kind"),
    ],
)
def test_invalid_requests_are_refused_before_any_call(fake, backend, kwargs, field):
    with pytest.raises(BackendValidationError) as err:
        backend.validate(video_request(**kwargs))
    assert err.value.field == field
    assert fake.calls == []


def test_unreadable_first_frame_is_refused(fake, backend, tmp_path):
    image = png_input(tmp_path)
    image.path.write_bytes(b"not a png at all")
    with pytest.raises(BackendValidationError, match="cannot be read"):
        backend.validate(video_request(kind="image_to_video", model="sora-2", seconds=4, image=image))
    assert fake.calls == []


def test_sora_2_pro_takes_the_large_sizes(backend):
    backend.validate(video_request(model="sora-2-pro", seconds=12, width=1024, height=1792))


def test_rate_limit_is_retryable_after_the_advertised_delay(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    fake.scenario["rate_limit_once"] = True
    with pytest.raises(RateLimited) as err:
        backend.submit(video_request(model="sora-2", seconds=4), ctx)
    assert err.value.retryable and err.value.retry_after == 2.0
    job = backend.submit(video_request(model="sora-2", seconds=4), ctx)
    assert list(fake.jobs) == [job.provider_job_id]


def test_insufficient_quota_is_never_retried(fake, backend, tmp_path):
    fake.scenario["quota"] = True
    with pytest.raises(QuotaExhausted) as err:
        backend.submit(video_request(model="sora-2", seconds=4), ctx_for(fake, tmp_path))
    assert not err.value.retryable
    assert "quota" in err.value.message
    assert fake.jobs == {}


def test_server_error_is_transient(fake, backend, tmp_path):
    fake.scenario["server_error_once"] = True
    with pytest.raises(TransientError):
        backend.submit(video_request(model="sora-2", seconds=4), ctx_for(fake, tmp_path))


def test_refused_key_is_an_auth_error_that_does_not_repeat_the_key(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path, api_key="sk-wrong-key-123")
    with pytest.raises(AuthError) as err:
        backend.submit(video_request(model="sora-2", seconds=4), ctx)
    assert_secret_hidden(err.value, "sk-wrong-key-123")


@pytest.mark.parametrize(
    "flag, words",
    [("fail_after_running", "Video generation failed"), ("all_filtered", "moderation")],
)
def test_failed_render_is_a_readable_unbilled_failure(fake, backend, tmp_path, flag, words):
    ctx = ctx_for(fake, tmp_path)
    job = backend.submit(video_request(model="sora-2", seconds=4), ctx)
    fake.scenario[flag] = True
    final, seen = poll_until_done(backend, job.provider_job_id, ctx)
    assert [s for s, _ in states(seen)] == ["queued", "running", "running", "failed"]
    assert words in final.error and final.error.startswith("OpenAI")
    assert final.billable is False
    assert final.outputs == []


def test_expired_content_is_a_readable_error(fake, backend, tmp_path):
    check_expired_output(backend, fake, ctx_for(fake, tmp_path), video_request(model="sora-2", seconds=4), tmp_path)


def test_lost_job_raises_job_lost(fake, backend, tmp_path):
    check_lost_job(backend, fake, ctx_for(fake, tmp_path), video_request(model="sora-2", seconds=4))


def test_cancel_deletes_the_video_and_tolerates_a_gone_one(fake, backend, tmp_path):
    ctx = ctx_for(fake, tmp_path)
    job = backend.submit(video_request(model="sora-2", seconds=4), ctx)
    backend.cancel(job.provider_job_id, ctx)
    assert fake.count("DELETE", f"/videos/{job.provider_job_id}") == 1
    backend.cancel(job.provider_job_id, ctx)  # already deleted: no error


def test_key_is_only_sent_to_the_api_host(fake, backend, tmp_path):
    from apps.generation.backends.base import Output

    ctx = ctx_for(fake, tmp_path)
    # Same host as the API: the key goes along; a foreign host (here: another port) gets none.
    other = f"http://localhost:{fake.url.rsplit(':', 1)[1]}/videos/x/content"
    with pytest.raises(ProviderError):
        backend.download(Output(url=other), ctx, tmp_path / "x.mp4")
    assert "authorization" not in fake.calls[-1].headers


def test_cost_estimate(backend):
    assert backend.estimate_cost(video_request(model="sora-2", seconds=8)) == Decimal("0.8000")
    assert backend.estimate_cost(video_request(model="sora-2-pro", seconds=4)) == Decimal("1.2000")
    assert backend.estimate_cost(video_request(model="sora-2-pro", seconds=12, width=1792, height=1024)) == Decimal("6.0000")
    assert backend.calls_for(video_request(model="sora-2", seconds=4, variations=3)) == 3
