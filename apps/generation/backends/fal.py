"""fal.ai queue API.

    POST {base}/{model_id}[?fal_webhook=URL]   the model's own input
         → {request_id, status_url, response_url, cancel_url}   (use these, never build them)
    GET  status_url     → {status: IN_QUEUE|IN_PROGRESS|COMPLETED, queue_position, error?}
    GET  response_url   → the model's output (shape per model), or an error body
    PUT  cancel_url

A failed request still reaches COMPLETED: the result (or its HTTP status) says it failed.
Validation errors (422) may be billed, 5xx are not, so inputs are checked strictly here
before anything is sent.

**provider_job_id** — ``poll``/``cancel`` get only this string, so it carries the three
URLs fal returned, losslessly and compactly (the field is 255 characters):

    {request_id}|{common prefix of the 3 URLs}|{status suffix}|{response suffix}|{cancel suffix}

e.g. ``1d2…|https://queue.fal.run/fal-ai/kling-video/requests/1d2…|/status||/cancel``.
The request id comes first, so a webhook (which only knows the request id, see
``parse_webhook``) matches a job by ``provider_job_id.split("|")[0]`` — use
``FalBackend.request_id(provider_job_id)``. The full URLs are also in SubmitResult.raw.

Webhooks (``?fal_webhook=``): POST {request_id, gateway_request_id, status: OK|ERROR,
payload, error?, payload_error?}, signed with Ed25519: headers X-Fal-Webhook-Request-Id,
-User-Id, -Timestamp, -Signature (hex) over "request_id\\nuser_id\\ntimestamp\\nsha256hex(body)",
verified with the public keys at ``jwks_url``.

Checked: queue contract and webhook format/signature (fal docs, fal-ai/fal issues for the
403 "Exhausted balance" body). Not confirmed: the exact error shapes of a failed request
(``detail`` list / ``error`` / ``error_type`` — all are handled), fal's per-model input
limits beyond the model pages (prompt lengths, FLUX sizes), and the prices (approximate).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import mimetypes
import os
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests

from ..registry import register
from .base import (
    AuthError,
    Backend,
    BackendContext,
    BackendValidationError,
    GenerationRequest,
    InputFile,
    JobLost,
    ModelSpec,
    Output,
    PollResult,
    ProviderError,
    QuotaExhausted,
    SubmitResult,
    TransientError,
    WebhookEvent,
)
from .http import error_message, provider_reason, raise_for_status, send, trusted_json

PROVIDER = "fal.ai"
STATES = {"IN_QUEUE": "queued", "IN_PROGRESS": "running"}
POLL_AFTER = 5.0
WEBHOOK_TOLERANCE = 5 * 60
JWKS_TTL = 24 * 3600
MAX_DATA_URI = 10 * 1024 * 1024  # unconfirmed; fal's clients upload larger files to its storage

KLING_T2V = "fal-ai/kling-video/v2.1/master/text-to-video"
KLING_I2V = "fal-ai/kling-video/v2.1/standard/image-to-video"
VEO3 = "fal-ai/veo3"
FLUX_DEV = "fal-ai/flux/dev"
KLING_ASPECTS = ("16:9", "9:16", "1:1")
KLING_MAX_PROMPT = 2500
VEO_SIZES = ((1280, 720), (720, 1280), (1920, 1080), (1080, 1920))
FLUX_SIDE = (256, 2048)  # unconfirmed bounds for a custom image_size
FLUX_PER_MEGAPIXEL = Decimal("0.025")
VEO_NO_AUDIO_PER_SECOND = Decimal("0.20")

_jwks_cache: dict[str, tuple[float, list]] = {}
_jwks_lock = threading.Lock()


def _redact(text: str, ctx: BackendContext) -> str:
    return text.replace(ctx.api_key, "***") if ctx.api_key else text


def _detail_text(body: Any) -> str:
    """fal/pydantic error bodies → one readable line ("prompt: field required; …")."""
    if isinstance(body, dict):
        for key in ("detail", "error", "message", "payload_error"):
            if body.get(key):
                return _detail_text(body[key])
        return ""  # no error field: nothing of the body is shown
    if isinstance(body, list):
        parts = []
        for item in body:
            if isinstance(item, dict):
                loc = [str(p) for p in item.get("loc") or [] if p != "body"]
                msg = str(item.get("msg") or item.get("message") or item.get("type") or item)
                parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
            else:
                parts.append(str(item))
        return "; ".join(parts)[:500]
    if isinstance(body, (str, int, float)) and not isinstance(body, bool):
        return str(body)[:500]
    return ""  # no body (not JSON, or not the provider's)


def _result_error(result: Any) -> str:
    """The error inside a COMPLETED result, or "" when it has none."""
    if not isinstance(result, dict):
        return ""
    if result.get("detail") or result.get("error"):
        return _detail_text(result)
    return ""


def _json(response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _check(response, ctx: BackendContext, *, lost_on_404: bool = False) -> None:
    status = response.status_code
    if status < 400:
        return
    try:
        message = error_message(response)
        if status == 403 and ("exhausted balance" in message.lower() or "top_up" in message.lower()):
            raise QuotaExhausted(f"{PROVIDER} says the account is out of balance: {message}", status=status)
        if status == 403 and "locked" in message.lower():
            raise AuthError(f"{PROVIDER} has locked the account: {message}", status=status)
        if status == 422:
            body = trusted_json(response)
            detail = (_detail_text(body) if body is not None else "") or message
            raise ProviderError(f"{PROVIDER} refused the input (may be billed): {detail}", status=status, billable=True)
        raise_for_status(response, provider=PROVIDER, lost_on_404=lost_on_404)
    except ProviderError as exc:
        exc.message = _redact(exc.message, ctx)
        exc.args = (exc.message,)
        raise


def _send(ctx: BackendContext, method: str, url: str, *, check: bool = True, lost_on_404: bool = False, **kwargs):
    kwargs.setdefault("timeout", ctx.timeout)
    try:
        response = send(ctx, method, url, provider=PROVIDER, **kwargs)
    except requests.RequestException as exc:
        raise TransientError(f"{PROVIDER}: could not reach the service ({exc.__class__.__name__}).")
    if check:
        _check(response, ctx, lost_on_404=lost_on_404)
    return response


def _file_input(media: InputFile, fallback_type: str) -> str:
    if media.url and media.url.startswith(("https://", "http://")):
        return media.url
    content_type = media.content_type or mimetypes.guess_type(Path(media.path).name)[0] or fallback_type
    return f"data:{content_type};base64,{base64.b64encode(Path(media.path).read_bytes()).decode()}"


# -- provider_job_id ------------------------------------------------------------------------


def encode_job_id(request_id: str, status_url: str, response_url: str, cancel_url: str) -> str:
    urls = [u.replace("|", "%7C") for u in (status_url, response_url, cancel_url)]
    prefix = os.path.commonprefix(urls)
    return "|".join([request_id.replace("|", ""), prefix] + [u[len(prefix) :] for u in urls])


def decode_job_id(provider_job_id: str) -> tuple[str, str, str, str]:
    """(request_id, status_url, response_url, cancel_url)."""
    parts = provider_job_id.split("|")
    if len(parts) != 5:
        raise JobLost(f"{PROVIDER}: job id {provider_job_id[:60]!r} does not carry the queue URLs; it cannot be polled.")
    request_id, prefix, *suffixes = parts
    status_url, response_url, cancel_url = (prefix + s for s in suffixes)
    return request_id, status_url, response_url, cancel_url


# -- per-model inputs --------------------------------------------------------------------------


def _kling_input(req: GenerationRequest) -> dict:
    data: dict = {"prompt": req.prompt, "duration": str(round(req.duration_seconds or 0))}
    if req.kind == "image_to_video":
        assert req.input_image is not None
        data["image_url"] = _file_input(req.input_image, "image/png")
    else:
        data["aspect_ratio"] = req.aspect_ratio
    if req.negative_prompt:
        data["negative_prompt"] = req.negative_prompt
    if "cfg_scale" in req.params:
        data["cfg_scale"] = float(req.params["cfg_scale"])
    return data


def _veo_input(req: GenerationRequest) -> dict:
    data: dict = {
        "prompt": req.prompt,
        "aspect_ratio": req.aspect_ratio,
        "duration": f"{round(req.duration_seconds or 0)}s",
        "resolution": "1080p" if min(req.width, req.height) >= 1080 else "720p",
        "generate_audio": bool(req.params.get("generate_audio", True)),
    }
    if req.negative_prompt:
        data["negative_prompt"] = req.negative_prompt
    if req.seed is not None:
        data["seed"] = req.seed
    return data


def _flux_input(req: GenerationRequest) -> dict:
    data: dict = {
        "prompt": req.prompt,
        "image_size": {"width": req.width, "height": req.height},
        "num_images": min(max(1, req.variations), 4),
        "enable_safety_checker": True,
    }
    if req.seed is not None:
        data["seed"] = req.seed
    return data


INPUTS = {KLING_T2V: _kling_input, KLING_I2V: _kling_input, VEO3: _veo_input, FLUX_DEV: _flux_input}


@register
class FalBackend(Backend):
    name = "fal"
    title = "fal.ai"
    sends_webhooks = True
    default_base_url = "https://queue.fal.run"
    default_concurrency = 4
    # Where fal publishes its webhook signing keys. A class attribute, not a per-project
    # setting, so no project can point verification at keys of its own (tests override it).
    jwks_url: ClassVar[str] = "https://rest.alpha.fal.ai/.well-known/jwks.json"
    models = (
        # Prices approximate (fal.ai model pages): Kling 2.1 master $0.28/s, standard $0.05/s,
        # Veo 3 $0.40/s with audio ($0.20/s without), FLUX.1 [dev] $0.025 per megapixel.
        ModelSpec(name=KLING_T2V, kinds=("text_to_video",), title="Kling 2.1 Master (text to video)", durations=(5, 10), cost_per_second=Decimal("0.28")),
        ModelSpec(name=KLING_I2V, kinds=("image_to_video",), title="Kling 2.1 Standard (image to video)", durations=(5, 10), cost_per_second=Decimal("0.05")),
        ModelSpec(name=VEO3, kinds=("text_to_video",), title="Veo 3", durations=(8,), sizes=VEO_SIZES, cost_per_second=Decimal("0.40")),
        ModelSpec(name=FLUX_DEV, kinds=("text_to_image",), title="FLUX.1 [dev]", max_variations=4, cost_per_output=FLUX_PER_MEGAPIXEL),
    )

    # -- checks and costs ------------------------------------------------------------------
    def validate(self, req: GenerationRequest) -> None:
        super().validate(req)
        spec = self.model_spec(req.model)
        if not req.prompt.strip():
            raise BackendValidationError(f"{spec.title} needs a prompt.", field="prompt")
        if req.reference_images:
            raise BackendValidationError(f"The {PROVIDER} models here take no reference images.", field="reference_images")
        if spec.name in (KLING_T2V, KLING_I2V):
            if len(req.prompt) > KLING_MAX_PROMPT or len(req.negative_prompt) > KLING_MAX_PROMPT:
                raise BackendValidationError(f"Kling prompts are at most {KLING_MAX_PROMPT} characters.", field="prompt")
            if spec.name == KLING_T2V and req.aspect_ratio not in KLING_ASPECTS:
                raise BackendValidationError(
                    f"Kling makes 16:9, 9:16 or 1:1 clips; {req.width}×{req.height} is {req.aspect_ratio}.", field="size"
                )
            if "cfg_scale" in req.params:
                try:
                    cfg = float(req.params["cfg_scale"])
                except (TypeError, ValueError):
                    cfg = -1.0
                if not 0.0 <= cfg <= 1.0:
                    raise BackendValidationError("Kling's cfg_scale runs from 0 to 1.", field="params")
        if spec.name == FLUX_DEV:
            lo, hi = FLUX_SIDE
            if not (lo <= req.width <= hi and lo <= req.height <= hi):
                raise BackendValidationError(f"FLUX images are {lo} to {hi} pixels a side; {req.width}×{req.height} was asked.", field="size")
        if req.seed is not None and spec.name in (VEO3, FLUX_DEV) and req.seed < 0:
            raise BackendValidationError("The seed must be zero or more.", field="seed")
        if req.kind == "image_to_video" and req.input_image is not None:
            image = req.input_image
            if not (image.url and image.url.startswith(("https://", "http://"))):
                if not Path(image.path).is_file():
                    raise BackendValidationError("The input image file is missing.", field="input_image")
                if Path(image.path).stat().st_size * 4 / 3 > MAX_DATA_URI:
                    raise BackendValidationError(f"The input image is too large to send inline to {PROVIDER}; it needs a stored copy.", field="input_image")

    def estimate_cost(self, req: GenerationRequest) -> Decimal:
        spec = self.model_spec(req.model)
        if spec.name == FLUX_DEV:
            megapixels = max(1, math.ceil(req.width * req.height / 1_000_000))
            return (FLUX_PER_MEGAPIXEL * megapixels * max(1, req.variations)).quantize(Decimal("0.0001"))
        if spec.name == VEO3 and not req.params.get("generate_audio", True):
            seconds = Decimal(str(req.duration_seconds or 0))
            return (VEO_NO_AUDIO_PER_SECOND * seconds * max(1, req.variations)).quantize(Decimal("0.0001"))
        return super().estimate_cost(req)

    # -- the provider conversation -----------------------------------------------------------
    def _base(self, ctx: BackendContext) -> str:
        return (ctx.base_url or self.default_base_url).rstrip("/")

    def _headers(self, ctx: BackendContext) -> dict[str, str]:
        return {"Authorization": f"Key {ctx.api_key}"}

    @staticmethod
    def request_id(provider_job_id: str) -> str:
        """The fal request id inside a provider_job_id (what a webhook names)."""
        return provider_job_id.split("|", 1)[0]

    def submit(self, req: GenerationRequest, ctx: BackendContext) -> SubmitResult:
        spec = self.model_spec(req.model)
        data = INPUTS[spec.name](req)
        params = {"fal_webhook": req.webhook_url} if req.webhook_url else None
        response = _send(ctx, "POST", f"{self._base(ctx)}/{spec.name}", headers=self._headers(ctx), json=data, params=params)
        body = _json(response) or {}
        request_id = str(body.get("request_id") or "")
        urls = {k: str(body.get(k) or "") for k in ("status_url", "response_url", "cancel_url")}
        if not request_id or not all(urls.values()):
            raise ProviderError(f"{PROVIDER} accepted the request but did not return its queue URLs.")
        summary = {k: ("data:…" if isinstance(v, str) and v.startswith("data:") else v) for k, v in data.items()}
        seed_used = "seed" in data
        return SubmitResult(
            provider_job_id=encode_job_id(request_id, urls["status_url"], urls["response_url"], urls["cancel_url"]),
            state="queued",
            poll_after=POLL_AFTER,
            raw={
                "request_id": request_id,
                **urls,
                "model": spec.name,
                "input": summary,
                "webhook": bool(req.webhook_url),
                "seed_ignored": req.seed is not None and not seed_used,
            },
        )

    def poll(self, provider_job_id: str, ctx: BackendContext) -> PollResult:
        request_id, status_url, response_url, _ = decode_job_id(provider_job_id)
        response = _send(ctx, "GET", status_url, headers=self._headers(ctx), lost_on_404=True)
        body = _json(response) or {}
        status = str(body.get("status") or "")
        raw = {"status": status, "queue_position": body.get("queue_position"), "request_id": request_id}
        if status != "COMPLETED":
            return PollResult(state=STATES.get(status, "running"), poll_after=POLL_AFTER, raw=raw)
        if body.get("error"):
            return self._failure(provider_reason(ctx, _detail_text(body)) or "the request failed", raw, ctx, billable="422" in str(body.get("error_type") or body.get("error")))
        return self._fetch_result(response_url, raw, ctx)

    def _fetch_result(self, response_url: str, raw: dict, ctx: BackendContext) -> PollResult:
        response = _send(ctx, "GET", response_url, headers=self._headers(ctx), check=False)
        status = response.status_code
        body = _json(response) if status < 400 else trusted_json(response)
        raw = {**raw, "http_status": status}
        if status < 400:
            return self._completed(body, raw, ctx)
        if status == 422:
            # The model refused its input; fal may bill it.
            return self._failure(_detail_text(body) or "the input was refused", raw, ctx, billable=True)
        if status == 500 and isinstance(body, dict) and (body.get("detail") or body.get("error_type")):
            return self._failure(_detail_text(body), raw, ctx, billable=False)
        if 400 <= status < 500 and status not in (401, 403, 404, 429):
            return self._failure(_detail_text(body) or f"HTTP {status}", raw, ctx, billable=False)
        _check(response, ctx, lost_on_404=True)  # auth, 404 (lost), 429, 5xx → the usual errors
        raise ProviderError(f"{PROVIDER}: unexpected HTTP {status} for the result.", status=status)

    def _failure(self, message: str, raw: dict, ctx: BackendContext, *, billable: bool) -> PollResult:
        if "cancel" in message.lower():
            return PollResult(state="cancelled", error=_redact(f"{PROVIDER}: {message}", ctx), billable=False, raw=raw)
        return PollResult(state="failed", error=_redact(f"{PROVIDER}: {message}", ctx), billable=billable, raw=raw)

    def _completed(self, result: Any, raw: dict, ctx: BackendContext) -> PollResult:
        error = provider_reason(ctx, _result_error(result))
        if error:
            # A validation-style ``detail`` list is a refused input (may be billed, like a 422).
            return self._failure(error, raw, ctx, billable=isinstance(result.get("detail"), list))
        outputs = self._outputs(result)
        if not outputs:
            return self._failure("the request completed without any output", raw, ctx, billable=True)
        res = PollResult(state="succeeded", progress=100, outputs=outputs, raw={**raw, "seed": (result or {}).get("seed")})
        if all(o.filtered for o in outputs):
            res.error = f"{PROVIDER}'s safety checker flagged every output."
        return res

    def _outputs(self, result: Any) -> list[Output]:
        """Per-model shapes: ``video: {url}``, ``videos: [{url}]``, ``images: [{url}]``,
        ``image: {url}``; ``has_nsfw_concepts`` runs parallel to the list."""
        if not isinstance(result, dict):
            return []
        files: list[dict] = []
        for key in ("video", "videos", "images", "image"):
            value = result.get(key)
            if isinstance(value, dict):
                files.append(value)
            elif isinstance(value, list):
                files.extend(v for v in value if isinstance(v, dict))
        flags = result.get("has_nsfw_concepts") or []
        outputs = []
        for i, f in enumerate(files):
            url = f.get("url")
            if not isinstance(url, str) or not url:
                continue
            filename = f.get("file_name") or Path(urlsplit(url).path).name
            outputs.append(
                Output(
                    url=url,
                    content_type=f.get("content_type") or mimetypes.guess_type(filename)[0] or "",
                    filename=filename,
                    filtered=bool(flags[i]) if i < len(flags) else False,
                    meta={k: f[k] for k in ("width", "height", "file_size") if k in f},
                )
            )
        return outputs

    def cancel(self, provider_job_id: str, ctx: BackendContext) -> None:
        try:
            _, _, _, cancel_url = decode_job_id(provider_job_id)
        except JobLost:
            return  # no cancel URL to call: nothing we can stop
        response = _send(ctx, "PUT", cancel_url, headers=self._headers(ctx), check=False)
        if response.status_code in (400, 404):  # ALREADY_COMPLETED, or gone
            return
        _check(response, ctx)

    # -- webhooks ----------------------------------------------------------------------------
    def _public_keys(self, ctx: BackendContext, *, refresh: bool = False) -> list:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        url = self.jwks_url
        with _jwks_lock:
            cached = _jwks_cache.get(url)
            if cached and not refresh and time.time() - cached[0] < JWKS_TTL:
                return cached[1]
        response = _send(ctx, "GET", url, check=False)
        if response.status_code != 200:
            raise TransientError(f"{PROVIDER}: could not fetch the webhook signing keys (HTTP {response.status_code}).")
        keys = []
        for jwk in (_json(response) or {}).get("keys") or []:
            if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and jwk.get("x"):
                x = jwk["x"] + "=" * (-len(jwk["x"]) % 4)
                keys.append(Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x)))
        with _jwks_lock:
            _jwks_cache[url] = (time.time(), keys)
        return keys

    def _verify(self, message: bytes, signature: bytes, ctx: BackendContext) -> bool:
        from cryptography.exceptions import InvalidSignature

        for refresh in (False, True):  # a miss with cached keys may be a key rotation
            for key in self._public_keys(ctx, refresh=refresh):
                try:
                    key.verify(signature, message)
                    return True
                except InvalidSignature:
                    continue
        return False

    def parse_webhook(self, headers: dict[str, str], body: bytes, ctx: BackendContext) -> WebhookEvent:
        h = {k.lower(): v for k, v in headers.items()}
        request_id = h.get("x-fal-webhook-request-id", "")
        user_id = h.get("x-fal-webhook-user-id", "")
        timestamp = h.get("x-fal-webhook-timestamp", "")
        signature_hex = h.get("x-fal-webhook-signature", "")
        if not (request_id and timestamp and signature_hex):
            raise ProviderError(f"{PROVIDER} webhook without its X-Fal-Webhook-* signature headers.", status=400)
        try:
            age = abs(time.time() - int(timestamp))
            signature = bytes.fromhex(signature_hex)
        except ValueError:
            raise ProviderError(f"{PROVIDER} webhook with a malformed timestamp or signature.", status=400)
        message = "\n".join([request_id, user_id, timestamp, hashlib.sha256(body).hexdigest()]).encode()
        if not self._verify(message, signature, ctx):
            raise ProviderError(f"{PROVIDER} webhook signature does not match.", status=401)
        if age > WEBHOOK_TOLERANCE:
            raise ProviderError(f"{PROVIDER} webhook timestamp is too far from now (a replay?).", status=401)
        try:
            event = json.loads(body)
        except ValueError:
            raise ProviderError(f"{PROVIDER} webhook body is not JSON.", status=400)
        event_request_id = str(event.get("request_id") or request_id)
        status = str(event.get("status") or "")
        raw = {"request_id": event_request_id, "webhook_status": status, "gateway_request_id": event.get("gateway_request_id")}
        result: PollResult | None
        if status == "ERROR":
            text = str(event.get("error") or "the request failed")
            detail = _detail_text(event.get("payload")) if event.get("payload") else ""
            # "Invalid status code: 422" → the model refused its input (may be billed).
            result = self._failure(f"{text}: {detail}" if detail else text, raw, ctx, billable="422" in text)
        elif status == "OK" and event.get("payload") is not None:
            result = self._completed(event["payload"], raw, ctx)
        else:
            result = None  # payload too big to embed (payload_error) or not final: go poll
        # The delivery id must be the same on fal's retries of this delivery.
        return WebhookEvent(delivery_id=f"{event_request_id}:{status}", provider_job_id=event_request_id, result=result)
