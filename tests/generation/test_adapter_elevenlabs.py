"""ElevenLabs adapter against the fake ElevenLabs API (no database)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from apps.generation.backends.base import (
    AuthError,
    BackendContext,
    BackendValidationError,
    GenerationRequest,
    JobLost,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from apps.generation.backends.elevenlabs import (
    DEFAULT_VOICE_ID,
    ElevenLabsBackend,
    looks_like_mp3,
)
from tests.fakes.elevenlabs import FakeElevenLabs


@pytest.fixture
def fake():
    with FakeElevenLabs() as server:
        yield server


@pytest.fixture
def backend():
    return ElevenLabsBackend()


@pytest.fixture
def ctx(fake, tmp_path):
    return BackendContext(api_key="k-test", base_url=fake.url, workdir=tmp_path / "job", config={}, timeout=5)


def speech(**kw) -> GenerationRequest:
    defaults = {"kind": "speech", "model": "eleven_multilingual_v2", "text": "The tide is coming in.", "idempotency_key": "job-1"}
    defaults.update(kw)
    return GenerationRequest(**defaults)


def sfx(**kw) -> GenerationRequest:
    defaults = {"kind": "sound_effect", "model": "eleven_text_to_sound_v2", "prompt": "a door creaks open", "duration_frames": 72, "fps": Fraction(24)}
    defaults.update(kw)
    return GenerationRequest(**defaults)


def music(**kw) -> GenerationRequest:
    defaults = {"kind": "music", "model": "music_v1", "prompt": "slow ambient piano, melancholic", "params": {"duration_seconds": 30}}
    defaults.update(kw)
    return GenerationRequest(**defaults)


def is_mp3(data: bytes) -> bool:
    return data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


# -- description and validation --------------------------------------------------------------


def test_registered_and_described(backend):
    from apps.generation.registry import get_backend

    assert isinstance(get_backend("elevenlabs"), ElevenLabsBackend)
    assert backend.kinds == ["speech", "sound_effect", "music"]
    assert backend.default_model("speech") == "eleven_multilingual_v2"
    assert backend.default_model("sound_effect") == "eleven_text_to_sound_v2"
    assert backend.default_model("music") == "music_v1"


def test_validate(backend):
    backend.validate(speech())
    backend.validate(sfx())
    backend.validate(music())
    with pytest.raises(BackendValidationError, match="10,000 characters"):
        backend.validate(speech(text="a" * 10_001))
    backend.validate(speech(model="eleven_flash_v2_5", text="a" * 10_001))
    with pytest.raises(BackendValidationError, match="voice id"):
        backend.validate(speech(voice="../../v1/user"))
    with pytest.raises(BackendValidationError, match="0.5 to 30"):
        backend.validate(sfx(duration_frames=24 * 31))
    with pytest.raises(BackendValidationError, match="0.5 to 30"):
        backend.validate(sfx(params={"duration_seconds": 0.2}))
    with pytest.raises(BackendValidationError, match="prompt_influence"):
        backend.validate(sfx(params={"prompt_influence": 2}))
    with pytest.raises(BackendValidationError, match="10 seconds to 5 minutes"):
        backend.validate(music(params={"duration_seconds": 600}))
    with pytest.raises(BackendValidationError):
        backend.validate(speech(text="", prompt=""))
    with pytest.raises(BackendValidationError, match="cannot do"):
        backend.validate(speech(model="music_v1"))


def test_costs(backend):
    assert backend.estimate_cost(speech(text="x" * 1000)) == Decimal("0.1800")
    assert backend.estimate_cost(speech(text="x" * 1000, model="eleven_flash_v2_5")) == Decimal("0.0900")
    assert backend.estimate_cost(sfx()) == Decimal("0.0300")  # 3 s
    assert backend.estimate_cost(music()) == Decimal("0.4500")  # 30 s
    assert backend.estimate_cost(music(params={})) > 0  # no length given: reserve for one


# -- the calls ---------------------------------------------------------------------------------


def test_speech_is_synchronous_and_written_to_the_workdir(fake, backend, ctx, tmp_path):
    req = speech(seed=7, params={"voice_settings": {"stability": 0.5, "similarity_boost": 0.75}, "previous_text": "Look."})
    result = backend.submit(req, ctx)
    assert result.state == "succeeded" and result.provider_job_id.startswith("req")
    [output] = result.outputs
    assert output.path.parent == tmp_path / "job" and output.path.is_file()
    assert output.content_type == "audio/mpeg" and output.meta["characters"] == len(req.text)
    assert is_mp3(output.path.read_bytes())
    assert not list((tmp_path / "job").glob("*.part"))

    [call] = fake.calls
    assert call.path == f"/v1/text-to-speech/{DEFAULT_VOICE_ID}"
    assert call.query == {"output_format": ["mp3_44100_128"]}
    assert call.headers["xi-api-key"] == "k-test"
    assert call.json() == {
        "text": "The tide is coming in.",
        "model_id": "eleven_multilingual_v2",
        "voice_settings": {"stability": 0.5, "similarity_boost": 0.75},
        "seed": 7,
        "previous_text": "Look.",
    }

    dest = backend.download(output, ctx, tmp_path / "copy.mp3")
    assert is_mp3(dest.read_bytes()) and looks_like_mp3(dest)
    # A worker that died after the call finds the file again by the provider id.
    again = backend.poll(result.provider_job_id, ctx)
    assert again.state == "succeeded" and again.outputs[0].path == output.path


def test_voice_comes_from_request_or_params(fake, backend, ctx):
    backend.submit(speech(voice="21m00Tcm4TlvDq8ikWAM"), ctx)
    backend.submit(speech(params={"voice_id": "pNInz6obpgDQGcFmaJgB"}), ctx)
    assert [c.path for c in fake.calls] == ["/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM", "/v1/text-to-speech/pNInz6obpgDQGcFmaJgB"]


def test_sound_effect(fake, backend, ctx):
    result = backend.submit(sfx(params={"prompt_influence": 0.6}), ctx)
    assert result.state == "succeeded" and is_mp3(result.outputs[0].path.read_bytes())
    [call] = fake.calls
    assert call.path == "/v1/sound-generation" and call.query["output_format"] == ["mp3_44100_128"]
    assert call.json() == {"text": "a door creaks open", "model_id": "eleven_text_to_sound_v2", "duration_seconds": 3.0, "prompt_influence": 0.6}


def test_music(fake, backend, ctx):
    result = backend.submit(music(), ctx)
    assert result.state == "succeeded" and is_mp3(result.outputs[0].path.read_bytes())
    [call] = fake.calls
    assert call.path == "/v1/music"
    assert call.json() == {"prompt": "slow ambient piano, melancholic", "model_id": "music_v1", "music_length_ms": 30000}


def test_concurrency_429_is_rate_limited(fake, backend, ctx):
    fake.scenario["rate_limit_once"] = True
    with pytest.raises(RateLimited) as err:
        backend.submit(speech(), ctx)
    assert err.value.retry_after == 3 and err.value.retryable
    assert "too_many_concurrent_requests" in err.value.message
    assert backend.submit(speech(), ctx).state == "succeeded"
    assert fake.served == 1  # one real (billed) generation


def test_system_busy_gets_a_default_wait(fake, backend, ctx):
    fake.scenario["system_busy_once"] = True
    with pytest.raises(RateLimited) as err:
        backend.submit(sfx(), ctx)
    assert err.value.retry_after == 5


def test_quota_exceeded_401_is_quota_not_auth(fake, backend, ctx):
    fake.scenario["quota"] = True
    with pytest.raises(QuotaExhausted) as err:
        backend.submit(speech(), ctx)
    assert not err.value.retryable and "12 credits remaining" in err.value.message


def test_bad_key(fake, backend, tmp_path):
    ctx = BackendContext(api_key="sk_wrong_secret", base_url=fake.url, workdir=tmp_path)
    with pytest.raises(AuthError) as err:
        backend.submit(speech(), ctx)
    assert "sk_wrong_secret" not in str(err.value)
    with pytest.raises(AuthError):
        backend.submit(speech(), BackendContext(api_key="", base_url=fake.url, workdir=tmp_path))


def test_server_error_is_transient(fake, backend, ctx):
    fake.scenario["server_error_once"] = True
    with pytest.raises(TransientError):
        backend.submit(music(), ctx)


def test_an_answer_without_audio_fails(fake, backend, ctx, tmp_path):
    fake.scenario["fail_after_running"] = True
    with pytest.raises(ProviderError, match="without audio") as err:
        backend.submit(speech(), ctx)
    assert not err.value.retryable
    assert list((tmp_path / "job").iterdir()) == []


def test_validation_error_from_the_api_is_readable(fake, backend, ctx):
    with pytest.raises(ProviderError, match="voice_id .* was not found"):
        backend.submit(speech(voice="AAAAAAAAAAAAAAAAAAAA"), ctx)


def test_poll_without_a_file_is_lost(backend, ctx):
    with pytest.raises(JobLost):
        backend.poll("req-gone", ctx)
