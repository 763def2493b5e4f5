"""ElevenLabs: speech, sound effects and music. Synchronous - the audio comes back in the answer.

The contract (see /work/shared/design/PROVIDERS.md; ElevenLabs API reference and error docs):

    base  https://api.elevenlabs.io                       header xi-api-key: KEY
    POST  /v1/text-to-speech/{voice_id}?output_format=mp3_44100_128
          {text, model_id, voice_settings?, seed?, previous_text?, next_text?, language_code?}
    POST  /v1/sound-generation?output_format=mp3_44100_128
          {text, duration_seconds? (0.5-30), prompt_influence? (0-1), model_id?}
    POST  /v1/music?output_format=mp3_44100_128 {prompt, music_length_ms?, model_id?}
    -> audio bytes (audio/mpeg)

``submit`` writes the bytes into ``ctx.workdir`` and returns a finished ``SubmitResult``
(state "succeeded", one ``Output(path=...)``). ``poll`` only exists for a worker that died
between the call and recording it: it finds the file again or reports ``JobLost``.

Errors: ``{"detail": {"type", "code", "message", "status" (legacy), "request_id", "param"}}``
(older answers carry only ``status`` + ``message``; validation errors a list).
  * 429 ``too_many_concurrent_requests`` / ``concurrent_limit_exceeded`` / ``rate_limit_exceeded``
    / ``system_busy`` -> RateLimited (Retry-After when given, else a short default);
  * ``quota_exceeded`` (documented as HTTP 401, seen as 429/402 elsewhere) -> QuotaExhausted,
    whatever the status: it must never be retried;
  * 401 ``invalid_api_key`` and other 401/403 -> AuthError; 5xx -> TransientError.

Not confirmed (marked where used):
  * the default voice ``JBFqnCBsd6RMkjVDRZzb`` ("George", a premade voice used in the docs);
  * per-model text limits (10,000 characters for Multilingual v2, 40,000 for Flash v2.5,
    5,000 for v3) and the music length range (10 s to 5 min);
  * ``model_id`` on sound-generation (``eleven_text_to_sound_v2``) and music (``music_v1``);
  * prices, from credit-based plans: roughly $0.18 / 1k characters (Multilingual v2, v3),
    $0.09 (Flash), $0.01 / second of sound effect, $0.015 / second of music.
"""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..registry import register
from .base import (
    AuthError,
    Backend,
    BackendContext,
    BackendValidationError,
    GenerationRequest,
    JobLost,
    ModelSpec,
    Output,
    PollResult,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    SubmitResult,
    TransientError,
)
from .http import body_trusted, retry_after_seconds, send, status_line

PROVIDER = "ElevenLabs"
OUTPUT_FORMAT = "mp3_44100_128"
DEFAULT_VOICE_ID = "JBFqnCBsd6RMkjVDRZzb"  # "George", premade (unconfirmed as a lasting default)
TEXT_LIMITS = {"eleven_multilingual_v2": 10_000, "eleven_flash_v2_5": 40_000, "eleven_v3": 5_000}  # unconfirmed
SFX_SECONDS = (0.5, 30.0)
MUSIC_SECONDS = (10.0, 300.0)  # unconfirmed range
_VOICE_ID = re.compile(r"^[A-Za-z0-9]{8,64}$")
# Premade voices named in ElevenLabs' documentation and examples, offered until the account's
# own list has been read (GET /v1/voices with the project's key). Unconfirmed: that every
# account keeps all of them.
DEFAULT_VOICES = (
    ("JBFqnCBsd6RMkjVDRZzb", "George", "en"),
    ("21m00Tcm4TlvDq8ikWAM", "Rachel", "en"),
    ("EXAVITQu4vr4xnSDxMaL", "Sarah", "en"),
    ("pNInz6obpgDQGcFmaJgB", "Adam", "en"),
    ("ErXwobaYiN019PkySvjV", "Antoni", "en"),
    ("TxGEqnHWrfWFTfGW9XjX", "Josh", "en"),
)
VOICES_CACHE_SECONDS = 600.0
_voices_cache: dict[tuple[str, str], tuple[float, list[dict[str, str]]]] = {}
_SAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")
_RATE_CODES = {"too_many_concurrent_requests", "concurrent_limit_exceeded", "rate_limit_exceeded", "system_busy"}
_QUOTA_CODES = {"quota_exceeded", "insufficient_credits", "payment_required", "credits_exhausted"}


@register
class ElevenLabsBackend(Backend):
    name = "elevenlabs"
    title = "ElevenLabs"
    needs_credentials = True
    default_base_url = "https://api.elevenlabs.io"
    default_concurrency = 3  # plan limits are 2 (free) to 15 concurrent requests
    models = (
        ModelSpec(name="eleven_multilingual_v2", title="Multilingual v2", kinds=("speech",), cost_per_1k_chars=Decimal("0.18")),
        ModelSpec(name="eleven_flash_v2_5", title="Flash v2.5", kinds=("speech",), cost_per_1k_chars=Decimal("0.09")),
        ModelSpec(name="eleven_v3", title="Eleven v3", kinds=("speech",), cost_per_1k_chars=Decimal("0.18")),
        ModelSpec(
            name="eleven_text_to_sound_v2",
            title="Sound effects",
            kinds=("sound_effect",),
            min_seconds=SFX_SECONDS[0],
            max_seconds=SFX_SECONDS[1],
            cost_per_second=Decimal("0.01"),
        ),
        ModelSpec(
            name="music_v1",
            title="Music",
            kinds=("music",),
            min_seconds=MUSIC_SECONDS[0],
            max_seconds=MUSIC_SECONDS[1],
            cost_per_second=Decimal("0.015"),
        ),
    )

    # -- voices ----------------------------------------------------------------------------
    def voices(self, ctx: BackendContext | None = None) -> tuple[list[dict[str, str]], bool]:
        """With a key: the account's voices (GET /v1/voices, cached for 10 minutes) - the
        complete list. Without one, or when the call fails: the premade voices of the docs,
        not complete (custom and cloned voice ids are still accepted)."""
        defaults = [{"id": vid, "name": name, "language": lang} for vid, name, lang in DEFAULT_VOICES]
        if ctx is None or not ctx.api_key:
            return defaults, False
        import hashlib
        import time

        base = (ctx.base_url or self.default_base_url).rstrip("/")
        key = (base, hashlib.sha256(ctx.api_key.encode()).hexdigest())
        cached = _voices_cache.get(key)
        if cached and time.monotonic() - cached[0] < VOICES_CACHE_SECONDS:
            return cached[1], True
        try:
            found = self._fetch_voices(ctx, base)
        except ProviderError:
            return defaults, False
        _voices_cache[key] = (time.monotonic(), found)
        return found, True

    def _fetch_voices(self, ctx: BackendContext, base: str) -> list[dict[str, str]]:
        import requests

        try:
            response = send(ctx, "GET", f"{base}/v1/voices", provider=PROVIDER, headers={"xi-api-key": ctx.api_key}, timeout=min(ctx.timeout, 10))
        except requests.RequestException as exc:
            raise TransientError(f"ElevenLabs: could not list the voices ({exc.__class__.__name__}).") from None
        if response.status_code >= 400:
            raise_elevenlabs_error(response, ctx.api_key)
        try:
            items = response.json().get("voices") or []
        except (ValueError, AttributeError):
            raise ProviderError("ElevenLabs answered the voice list with something that is not JSON.") from None
        out = []
        for item in items:
            if not isinstance(item, dict) or not _VOICE_ID.match(str(item.get("voice_id") or "")):
                continue
            labels = item.get("labels") if isinstance(item.get("labels"), dict) else {}
            voice = {"id": str(item["voice_id"]), "name": str(item.get("name") or item["voice_id"])[:80]}
            language = labels.get("language")
            if language:
                voice["language"] = str(language)[:16]
            out.append(voice)
        return out

    def test_connection(self, ctx: BackendContext) -> dict[str, Any]:
        """GET /v1/voices with the key: the cheapest authenticated call."""
        if not ctx.api_key:
            return {"ok": False, "detail": "No API key is stored for ElevenLabs.", "info": {}}
        base = (ctx.base_url or self.default_base_url).rstrip("/")
        try:
            voices = self._fetch_voices(ctx, base)
        except ProviderError as exc:
            return {"ok": False, "detail": _clean(exc.message, ctx.api_key), "info": {}}
        return {
            "ok": True, "detail": f"ElevenLabs accepted the key; the account has {len(voices)} voice{'s' if len(voices) != 1 else ''}.",
            "info": {"voices": len(voices)},
        }

    # -- checks and costs ------------------------------------------------------------------
    @staticmethod
    def text_of(req: GenerationRequest) -> str:
        return (req.text or req.prompt or "").strip()

    @staticmethod
    def seconds_of(req: GenerationRequest) -> float | None:
        """Audio length: params["duration_seconds"] or the request's duration."""
        value = req.params.get("duration_seconds")
        if value is None:
            return req.duration_seconds
        try:
            return float(value)
        except (TypeError, ValueError):
            raise BackendValidationError("duration_seconds must be a number.", field="duration_frames") from None

    @staticmethod
    def voice_of(req: GenerationRequest) -> str:
        return str(req.voice or req.params.get("voice_id") or DEFAULT_VOICE_ID)

    def validate(self, req: GenerationRequest) -> None:
        super().validate(req)
        spec = self.model_spec(req.model)
        text = self.text_of(req)
        seconds = self.seconds_of(req)
        if req.kind == "speech":
            limit = TEXT_LIMITS.get(spec.name, 5_000)
            if len(text) > limit:
                raise BackendValidationError(f"{spec.title} speaks up to {limit:,} characters at once; this text has {len(text):,}.", field="text")
            if not _VOICE_ID.match(self.voice_of(req)):
                raise BackendValidationError("That is not an ElevenLabs voice id.", field="voice")
            if req.seed is not None and not 0 <= int(req.seed) <= 4_294_967_295:
                raise BackendValidationError("ElevenLabs seeds are 0 to 4294967295.", field="seed")
        elif req.kind == "sound_effect":
            if seconds is not None and not SFX_SECONDS[0] <= seconds <= SFX_SECONDS[1]:
                raise BackendValidationError("Sound effects last 0.5 to 30 seconds.", field="duration_frames")
            influence = req.params.get("prompt_influence")
            if influence is not None and not (isinstance(influence, (int, float)) and 0 <= influence <= 1):
                raise BackendValidationError("prompt_influence is between 0 and 1.", field="params")
        elif req.kind == "music" and seconds is not None and not MUSIC_SECONDS[0] <= seconds <= MUSIC_SECONDS[1]:
            raise BackendValidationError("Music lasts 10 seconds to 5 minutes.", field="duration_frames")

    def estimate_cost(self, req: GenerationRequest) -> Decimal:
        spec = self.model_spec(req.model)
        if req.kind == "speech":
            per_call = spec.cost_per_1k_chars * Decimal(len(self.text_of(req))) / 1000
        else:
            try:
                seconds = self.seconds_of(req)
            except BackendValidationError:
                seconds = None
            # Without a length the model chooses one: reserve for a long-ish clip.
            seconds = seconds if seconds is not None else (10.0 if req.kind == "sound_effect" else 60.0)
            per_call = spec.cost_per_second * Decimal(str(seconds))
        return (per_call * max(1, req.variations)).quantize(Decimal("0.0001"))

    # -- the call --------------------------------------------------------------------------
    def build_call(self, req: GenerationRequest) -> tuple[str, dict[str, Any]]:
        """(path with query, JSON body) for the request's kind."""
        spec = self.model_spec(req.model)
        text = self.text_of(req)
        if req.kind == "speech":
            body: dict[str, Any] = {"text": text, "model_id": spec.name}
            if isinstance(req.params.get("voice_settings"), dict):
                body["voice_settings"] = req.params["voice_settings"]
            if req.seed is not None:
                body["seed"] = int(req.seed)
            for key in ("previous_text", "next_text", "language_code"):
                if req.params.get(key):
                    body[key] = str(req.params[key])
            return f"/v1/text-to-speech/{self.voice_of(req)}?output_format={OUTPUT_FORMAT}", body
        seconds = self.seconds_of(req)
        if req.kind == "sound_effect":
            body = {"text": text, "model_id": spec.name}  # model_id: unconfirmed field
            if seconds is not None:
                body["duration_seconds"] = round(seconds, 2)
            if req.params.get("prompt_influence") is not None:
                body["prompt_influence"] = float(req.params["prompt_influence"])
            if isinstance(req.params.get("loop"), bool):
                body["loop"] = req.params["loop"]
            return f"/v1/sound-generation?output_format={OUTPUT_FORMAT}", body
        if req.kind == "music":
            body = {"prompt": text, "model_id": spec.name}  # model_id: unconfirmed field
            if seconds is not None:
                body["music_length_ms"] = round(seconds * 1000)
            if isinstance(req.params.get("force_instrumental"), bool):
                body["force_instrumental"] = req.params["force_instrumental"]
            return f"/v1/music?output_format={OUTPUT_FORMAT}", body
        raise BackendValidationError(f"ElevenLabs cannot do {req.kind.replace('_', ' ')}.", field="kind")

    def submit(self, req: GenerationRequest, ctx: BackendContext) -> SubmitResult:
        import requests

        self.validate(req)
        if not ctx.api_key:
            raise AuthError("ElevenLabs needs an API key: add one in the project's provider settings.")
        path, body = self.build_call(req)
        url = (ctx.base_url or self.default_base_url).rstrip("/") + path
        headers = {"xi-api-key": ctx.api_key, "Accept": "audio/mpeg", "Content-Type": "application/json"}
        # Long texts and music take a while to render; the answer is the whole file.
        timeout = max(ctx.timeout, 300 if req.kind == "music" else 120)
        folder = _workdir(ctx)
        partial = folder / f".elevenlabs-{uuid.uuid4().hex}.part"
        try:
            with send(ctx, "POST", url, provider=PROVIDER, data=json.dumps(body), headers=headers, stream=True, timeout=timeout) as response:
                if response.status_code >= 400:
                    raise_elevenlabs_error(response, ctx.api_key)
                with open(partial, "wb") as fh:
                    fh.writelines(response.iter_content(256 * 1024))
                request_id = response.headers.get("request-id") or response.headers.get("x-request-id") or ""
                characters = response.headers.get("x-character-count")
        except requests.RequestException as exc:
            partial.unlink(missing_ok=True)
            raise TransientError(f"ElevenLabs: the call failed ({exc.__class__.__name__}).") from None
        except ProviderError:
            partial.unlink(missing_ok=True)
            raise
        if not looks_like_mp3(partial):
            partial.unlink(missing_ok=True)  # what it sent instead is not shown (it is not a message)
            raise ProviderError("ElevenLabs answered without audio (the reply was not an MP3 file).", billable=True)
        provider_job_id = request_id or f"el-{req.idempotency_key or uuid.uuid4().hex}"
        path = folder / _filename(provider_job_id)
        partial.replace(path)
        meta: dict[str, Any] = {"kind": req.kind, "model": body.get("model_id")}
        if characters and characters.isdigit():
            meta["characters"] = int(characters)
        output = Output(path=path, content_type="audio/mpeg", filename=path.name, meta=meta)
        return SubmitResult(provider_job_id=provider_job_id, state="succeeded", outputs=[output], raw={"request_id": request_id, **meta})

    def poll(self, provider_job_id: str, ctx: BackendContext) -> PollResult:
        # Only reached when a worker died after the call: the file is all there is to find.
        path = _workdir(ctx, create=False) / _filename(provider_job_id or "")
        if provider_job_id and path.is_file() and looks_like_mp3(path):
            return PollResult(state="succeeded", progress=100, outputs=[Output(path=path, content_type="audio/mpeg", filename=path.name)])
        raise JobLost("ElevenLabs answers at once and keeps nothing to fetch later; the audio of this job was not saved. Generate again.")


# -- helpers -----------------------------------------------------------------------------------


def raise_elevenlabs_error(response, secret: str = "") -> None:
    status = response.status_code
    try:
        body = json.loads(response.content or b"null") if body_trusted(response) else None
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    code, message = "", ""
    if isinstance(detail, dict):
        code = str(detail.get("code") or detail.get("status") or "")
        message = str(detail.get("message") or code)
    elif isinstance(detail, list) and detail:  # FastAPI validation errors
        first = detail[0] if isinstance(detail[0], dict) else {}
        where = ".".join(str(x) for x in first.get("loc") or [] if x != "body")
        message = f"{where}: {first.get('msg')}" if where else str(first.get("msg") or detail[0])
    elif isinstance(detail, str):
        message = detail
    if not message:
        message = status_line(response)
    message = _clean(message, secret)
    lowered = (code + " " + message).lower()
    if code in _QUOTA_CODES or status == 402 or "quota_exceeded" in lowered:
        raise QuotaExhausted(f"ElevenLabs says the account is out of credits: {message}", status=status)
    if status == 429 or code in _RATE_CODES:
        retry = retry_after_seconds(response.headers)
        if retry is None:
            retry = 5.0 if code == "system_busy" else 2.0
        raise RateLimited(f"ElevenLabs is busy ({code or 'rate limited'}): {message}", retry_after=retry, status=status)
    if status in (401, 403):
        raise AuthError(f"ElevenLabs refused the API key ({code or status}): {message}", status=status)
    if status >= 500:
        raise TransientError(f"ElevenLabs: {message}", retry_after=retry_after_seconds(response.headers), status=status)
    raise ProviderError(f"ElevenLabs: {message}", status=status)


def looks_like_mp3(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    return head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _workdir(ctx: BackendContext, create: bool = True) -> Path:
    import tempfile

    if ctx.workdir is not None:
        folder = Path(ctx.workdir)
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        return folder
    return Path(tempfile.mkdtemp(prefix="elevenlabs-")) if create else Path(tempfile.gettempdir())


def _filename(provider_job_id: str) -> str:
    return f"elevenlabs-{_SAFE_ID.sub('_', provider_job_id)[:100]}.mp3"


def _clean(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text
