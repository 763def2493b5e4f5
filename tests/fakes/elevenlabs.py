"""A fake ElevenLabs API (see apps/generation/backends/elevenlabs.py for the contract).

``GET /v1/voices`` lists ``VOICES`` (``{"voices": [{voice_id, name, category, labels}]}``).
Every other route answers synchronously with real MP3 bytes (``tiny_mp3``) and the headers
``request-id`` and (speech) ``x-character-count``. Errors use ElevenLabs' shape
``{"detail": {"type", "code", "status", "message", "request_id"}}``.

Scenario flags:
  rate_limit_once     next call: 429 too_many_concurrent_requests with ``Retry-After: 3``
  system_busy_once    next call: 429 system_busy without Retry-After
  quota               calls: 401 quota_exceeded (as ElevenLabs documents it)
  server_error_once   next call: 500
  fail_after_running  calls: 200 with a JSON body instead of audio (a broken answer)
  lose_job / expire_outputs: nothing to lose or expire - outputs are local files
"""

from __future__ import annotations

from .luma import QuickFake
from .server import Call, Reply, route, tiny_mp3

VOICES = {"JBFqnCBsd6RMkjVDRZzb", "21m00Tcm4TlvDq8ikWAM", "pNInz6obpgDQGcFmaJgB"}
SPEECH_MODELS = {"eleven_multilingual_v2", "eleven_flash_v2_5", "eleven_v3"}


def _detail(status: int, code: str, message: str, type_: str = "invalid_request") -> Reply:
    return Reply(status, {"detail": {"type": type_, "code": code, "status": code, "message": message, "request_id": "req-err"}})


class FakeElevenLabs(QuickFake):
    def __init__(self, api_key: str = "k-test") -> None:
        super().__init__()
        self.api_key = api_key
        self.served = 0

    def _gate(self, call: Call) -> Reply | None:
        if call.headers.get("xi-api-key") != self.api_key:
            return _detail(401, "invalid_api_key", "Invalid API key", "authentication_error")
        if self.take("rate_limit_once"):
            reply = _detail(429, "too_many_concurrent_requests", "Too many concurrent requests for your plan.", "rate_limit_error")
            reply.headers["Retry-After"] = "3"
            return reply
        if self.take("system_busy_once"):
            return _detail(429, "system_busy", "The system is experiencing heavy traffic, please try again.", "rate_limit_error")
        if self.scenario.get("quota"):
            return _detail(
                401,
                "quota_exceeded",
                "This request exceeds your quota of 10000. You have 12 credits remaining, while 200 credits are required for this request.",
                "authentication_error",
            )
        if self.take("server_error_once"):
            return Reply(500, {"detail": {"status": "internal_error", "message": "Internal server error"}})
        if call.query.get("output_format", [""])[0] != "mp3_44100_128":
            return _detail(400, "invalid_output_format", "Unsupported output_format.")
        return None

    def _audio(self, call: Call, seconds: float = 1.0, characters: int | None = None) -> Reply:
        if self.scenario.get("fail_after_running"):
            return Reply(200, {"detail": {"status": "generation_failed", "message": "Audio generation failed."}})
        self.served += 1
        headers = {"request-id": f"req{self.served:04d}{self.new_id()[:8]}"}
        if characters is not None:
            headers["x-character-count"] = str(characters)
        return Reply(200, tiny_mp3(min(seconds, 1.0)), headers=headers, content_type="audio/mpeg")

    @route("POST", r"/v1/text-to-speech/(?P<voice_id>[^/]+)")
    def speech(self, call: Call, voice_id: str):
        denied = self._gate(call)
        if denied:
            return denied
        if voice_id not in VOICES:
            return _detail(400, "voice_not_found", f"A voice with voice_id {voice_id} was not found.")
        body = call.json() or {}
        if not body.get("text"):
            return Reply(422, {"detail": [{"loc": ["body", "text"], "msg": "Field required", "type": "missing"}]})
        if body.get("model_id", "eleven_multilingual_v2") not in SPEECH_MODELS:
            return _detail(400, "model_not_found", "Model not found.")
        return self._audio(call, characters=len(body["text"]))

    @route("GET", r"/v1/voices")
    def voices(self, call: Call):
        if call.headers.get("xi-api-key") != self.api_key:
            return _detail(401, "invalid_api_key", "Invalid API key", "authentication_error")
        names = {"JBFqnCBsd6RMkjVDRZzb": "George", "21m00Tcm4TlvDq8ikWAM": "Rachel", "pNInz6obpgDQGcFmaJgB": "Adam"}
        return Reply(200, {"voices": [
            {"voice_id": vid, "name": names[vid], "category": "premade", "labels": {"accent": "american", "language": "en"}}
            for vid in sorted(VOICES)
        ]})

    @route("POST", r"/v1/sound-generation")
    def sound(self, call: Call):
        denied = self._gate(call)
        if denied:
            return denied
        body = call.json() or {}
        seconds = body.get("duration_seconds")
        if not body.get("text"):
            return Reply(422, {"detail": [{"loc": ["body", "text"], "msg": "Field required", "type": "missing"}]})
        if seconds is not None and not 0.5 <= seconds <= 30:
            return Reply(422, {"detail": [{"loc": ["body", "duration_seconds"], "msg": "Input should be between 0.5 and 30", "type": "range"}]})
        influence = body.get("prompt_influence", 0.3)
        if not 0 <= influence <= 1:
            return Reply(422, {"detail": [{"loc": ["body", "prompt_influence"], "msg": "Input should be between 0 and 1", "type": "range"}]})
        return self._audio(call, seconds or 1.0)

    @route("POST", r"/v1/music")
    def music(self, call: Call):
        denied = self._gate(call)
        if denied:
            return denied
        body = call.json() or {}
        if not body.get("prompt"):
            return _detail(400, "missing_prompt", "Give a prompt or a composition plan.")
        length = body.get("music_length_ms")
        if length is not None and not 10_000 <= length <= 300_000:
            return _detail(400, "invalid_music_length", "music_length_ms must be between 10000 and 300000.")
        return self._audio(call, (length or 1000) / 1000)
