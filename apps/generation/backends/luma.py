"""Luma Dream Machine (Ray 2, Ray Flash 2): text to video and image to video.

The contract (see /work/shared/design/PROVIDERS.md), checked against Luma's official Python
SDK (github.com/lumalabs/lumaai-python: ``types/generations/video_create_params.py``,
``types/generation.py``) and the "Callbacks & Credits Balance" changelog:

    base  https://api.lumalabs.ai/dream-machine/v1       Authorization: Bearer KEY
    POST  /generations/video  {model: ray-2|ray-flash-2, prompt, aspect_ratio, duration: "5s"|"9s",
                               resolution: 540p|720p|1080p|4k, loop,
                               keyframes: {frame0: {type: "image", url}}, callback_url}
          -> Generation {id, state, failure_reason, assets: {video, image, progress_video}}
    GET   /generations/{id}  -> Generation; state: queued | dreaming | completed | failed

Callbacks: Luma POSTs the whole Generation object to ``callback_url`` on every state change
(dreaming, completed, failed) and retries 3 times when we do not answer 200. The callback
carries no signature and no delivery id, so ``parse_webhook`` never trusts its body: it
returns "go poll" (``result=None``) and a delivery id built from (generation id, state), which
is the same on Luma's retries of one update.

Not confirmed (marked where used):
  * how Luma reports an empty credit balance (we map any 4xx whose ``detail`` talks about
    credits/balance/quota to QuotaExhausted, and 402 via the shared helper);
  * whether failed generations are billed (we assume not: ``billable=False``);
  * prices: estimated from Luma's published per-pixel rate for Ray 2 (about $0.0064 per
    million pixels, Ray Flash 2 about $0.0022) at 24 fps - approximate;
  * the pixel size of each resolution tier for non-16:9 ratios (we scale from the short side).

Luma has no cancel endpoint (``DELETE /generations/{id}`` deletes the record; it is not
documented to stop the work), so ``cancel`` is a no-op. Upscaling (``POST
/generations/{id}/upscale``) is not offered: it needs the parent's Luma generation id, which
our requests do not carry.
"""

from __future__ import annotations

import json
import re
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
    SubmitResult,
    TransientError,
    WebhookEvent,
)
from .http import error_message, provider_reason, raise_for_status, send, stream_to_file

PROVIDER = "Luma"

ASPECT_RATIOS: dict[str, float] = {
    "16:9": 16 / 9,
    "9:16": 9 / 16,
    "1:1": 1.0,
    "4:3": 4 / 3,
    "3:4": 3 / 4,
    "21:9": 21 / 9,
    "9:21": 9 / 21,
}
RESOLUTIONS = ("540p", "720p", "1080p", "4k")
_SHORT_SIDE = {"540p": 540, "720p": 720, "1080p": 1080, "4k": 2160}
# Approximate price per million output pixels (USD), at Luma's ~24 fps output. Unconfirmed.
_PRICE_PER_MPX = {"ray-2": Decimal("0.0064"), "ray-flash-2": Decimal("0.0022")}
_FPS = 24

_STATES = {"queued": "queued", "dreaming": "running", "completed": "succeeded", "failed": "failed"}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_QUOTA_WORDS = ("credit", "balance", "quota", "insufficient funds", "payment", "billing")


def _per_second(model: str) -> Decimal:
    # The 720p 16:9 rate, for the model card; estimate_cost scales by the real pixel count.
    return (_PRICE_PER_MPX[model] * 1280 * 720 * _FPS / 1_000_000).quantize(Decimal("0.0001"))


def nearest_aspect_ratio(width: int, height: int, tolerance: float = 0.02) -> str | None:
    """The Luma aspect ratio within 2% of width/height (2560×1080 is "21:9"), else None."""
    if width <= 0 or height <= 0:
        return None
    ratio = width / height
    name, value = min(ASPECT_RATIOS.items(), key=lambda item: abs(item[1] - ratio))
    return name if abs(value - ratio) / value <= tolerance else None


def resolution_for(width: int, height: int) -> str:
    """The smallest Luma resolution tier that covers the short side of the frame."""
    short = min(width, height)
    for name in RESOLUTIONS:
        if short <= _SHORT_SIDE[name]:
            return name
    return "4k"


@register
class LumaBackend(Backend):
    name = "luma"
    title = "Luma Dream Machine"
    needs_credentials = True
    sends_webhooks = True
    default_base_url = "https://api.lumalabs.ai/dream-machine/v1"
    default_concurrency = 4
    models = (
        ModelSpec(
            name="ray-2",
            title="Ray 2",
            kinds=("text_to_video", "image_to_video"),
            durations=(5.0, 9.0),
            cost_per_second=_per_second("ray-2"),
        ),
        ModelSpec(
            name="ray-flash-2",
            title="Ray Flash 2",
            kinds=("text_to_video", "image_to_video"),
            durations=(5.0, 9.0),
            cost_per_second=_per_second("ray-flash-2"),
        ),
    )

    # -- checks and costs ------------------------------------------------------------------
    def _resolution(self, req: GenerationRequest) -> str:
        wanted = req.params.get("resolution")
        if wanted in (None, ""):
            return resolution_for(req.width, req.height)
        wanted = str(wanted).lower()
        if wanted not in RESOLUTIONS:
            raise BackendValidationError(
                f"Luma renders at {', '.join(RESOLUTIONS)}; {wanted!r} was asked.", field="resolution"
            )
        return wanted

    def validate(self, req: GenerationRequest) -> None:
        super().validate(req)
        if nearest_aspect_ratio(req.width, req.height) is None:
            raise BackendValidationError(
                f"Luma makes {', '.join(ASPECT_RATIOS)} frames; {req.width}×{req.height} is none of them.",
                field="size",
            )
        self._resolution(req)
        if req.kind == "image_to_video":
            url = (req.input_image.url or "") if req.input_image else ""
            if not url.startswith(("https://", "http://")):
                raise BackendValidationError(
                    "Luma fetches the start image from a URL, and this image has none. Keep media in "
                    "object storage (S3) so Luma can reach it, or use another backend.",
                    field="input_image",
                )
        if "loop" in req.params and not isinstance(req.params["loop"], bool):
            raise BackendValidationError("loop must be true or false.", field="params")

    def estimate_cost(self, req: GenerationRequest) -> Decimal:
        spec = self.model_spec(req.model)
        try:
            resolution = self._resolution(req)
        except BackendValidationError:
            return super().estimate_cost(req)
        aspect = ASPECT_RATIOS.get(nearest_aspect_ratio(req.width, req.height) or "16:9", 16 / 9)
        short = _SHORT_SIDE[resolution]
        pixels = Decimal(short) * Decimal(round(short * max(aspect, 1 / aspect)))
        seconds = Decimal(str(req.duration_seconds or 0))
        per_call = _PRICE_PER_MPX.get(spec.name, Decimal("0.0064")) * pixels * _FPS * seconds / 1_000_000
        return (per_call * max(1, req.variations)).quantize(Decimal("0.0001"))

    # -- HTTP ------------------------------------------------------------------------------
    def _base(self, ctx: BackendContext) -> str:
        return (ctx.base_url or self.default_base_url).rstrip("/")

    def _call(self, ctx: BackendContext, method: str, path: str, *, lost_on_404: bool = False, **kwargs: Any):
        import requests

        if not ctx.api_key:
            raise AuthError("Luma needs an API key: add one in the project's provider settings.")
        headers = {"Authorization": f"Bearer {ctx.api_key}", "Accept": "application/json"}
        kwargs.setdefault("timeout", ctx.timeout)
        try:
            response = send(ctx, method, self._base(ctx) + path, provider=PROVIDER, headers=headers, **kwargs)
        except requests.RequestException as exc:
            raise TransientError(f"Luma: could not reach the service ({exc.__class__.__name__}).") from None
        if response.status_code >= 400:
            try:
                self._raise(response, lost_on_404=lost_on_404)
            except ProviderError as exc:
                raise _scrubbed(exc, ctx.api_key) from None
        return response

    @staticmethod
    def _raise(response, *, lost_on_404: bool) -> None:
        status = response.status_code
        message = error_message(response)
        # Unconfirmed: Luma's wording for an empty balance. Treat any client error that talks
        # about credits as "out of credits" (never retried) rather than a bad request.
        if 400 <= status < 500 and status not in (401, 404) and any(w in message.lower() for w in _QUOTA_WORDS):
            raise QuotaExhausted(f"Luma says the account is out of credits: {message}", status=status)
        raise_for_status(response, provider=PROVIDER, lost_on_404=lost_on_404)

    def test_connection(self, ctx: BackendContext) -> dict[str, Any]:
        """GET /credits: the key works, and the balance (field name unconfirmed: credit_balance)."""
        try:
            body = self._call(ctx, "GET", "/credits", timeout=min(ctx.timeout, 10)).json()
        except ProviderError as exc:
            return {"ok": False, "detail": exc.message, "info": {}}
        except ValueError:
            return {"ok": False, "detail": "Luma answered with something that is not JSON.", "info": {}}
        balance = body.get("credit_balance") if isinstance(body, dict) else None
        detail = "Luma accepted the key" + (f"; {balance:g} credits left." if isinstance(balance, (int, float)) else ".")
        return {"ok": True, "detail": detail, "info": {"credit_balance": balance}}

    # -- the conversation ------------------------------------------------------------------
    def build_body(self, req: GenerationRequest) -> dict[str, Any]:
        spec = self.model_spec(req.model)
        body: dict[str, Any] = {
            "generation_type": "video",
            "model": spec.name,
            "prompt": req.prompt,
            "aspect_ratio": nearest_aspect_ratio(req.width, req.height),
            "duration": f"{round(req.duration_seconds or 5)}s",
            "resolution": self._resolution(req),
        }
        if isinstance(req.params.get("loop"), bool):
            body["loop"] = req.params["loop"]
        if req.kind == "image_to_video" and req.input_image is not None:
            body["keyframes"] = {"frame0": {"type": "image", "url": req.input_image.url}}
        if req.webhook_url:
            body["callback_url"] = req.webhook_url
        return body

    def submit(self, req: GenerationRequest, ctx: BackendContext) -> SubmitResult:
        self.validate(req)
        response = self._call(ctx, "POST", "/generations/video", json=self.build_body(req))
        generation = _json(response)
        gen_id = str(generation.get("id") or "")
        if not _ID.match(gen_id):
            raise ProviderError("Luma accepted the request but returned no generation id.")
        state = _STATES.get(str(generation.get("state") or "queued"), "queued")
        return SubmitResult(provider_job_id=gen_id, state=state, poll_after=5.0, raw=_summary(generation))

    def poll(self, provider_job_id: str, ctx: BackendContext) -> PollResult:
        if not _ID.match(provider_job_id or ""):
            raise JobLost(f"Luma: {provider_job_id!r} is not a Luma generation id.")
        response = self._call(ctx, "GET", f"/generations/{provider_job_id}", lost_on_404=True)
        return self.result_from_generation(_json(response), ctx)

    def result_from_generation(self, generation: dict[str, Any], ctx: BackendContext | None = None) -> PollResult:
        raw = _summary(generation)
        state = str(generation.get("state") or "")
        if state == "completed":
            video = ((generation.get("assets") or {}).get("video")) or ""
            if not video:
                return PollResult(state="failed", error="Luma finished without a video.", billable=False, raw=raw)
            gen_id = str(generation.get("id") or "luma")
            output = Output(url=video, content_type="video/mp4", filename=f"luma-{gen_id}.mp4", meta={"generation_id": gen_id})
            return PollResult(state="succeeded", progress=100, outputs=[output], raw=raw)
        if state == "failed":
            reason = str(generation.get("failure_reason") or "")
            reason = (provider_reason(ctx, reason) if ctx is not None else reason) or "no reason given"
            # Unconfirmed: Luma does not appear to charge for failed (incl. moderated) generations.
            return PollResult(state="failed", error=f"Luma could not make this clip: {reason}", billable=False, raw=raw)
        if state == "queued":
            return PollResult(state="queued", progress=0, poll_after=5.0, raw=raw)
        # dreaming, or a state we do not know yet: keep polling.
        return PollResult(state="running", poll_after=5.0, raw=raw)

    def cancel(self, provider_job_id: str, ctx: BackendContext) -> None:
        # Luma has no cancel endpoint; the generation finishes (and is billed) regardless.
        return None

    def download(self, output: Output, ctx: BackendContext, dest: Path) -> Path:
        if output.path is not None or not output.url:
            return super().download(output, ctx, dest)
        # Luma's asset URLs are public CDN links: never send the API key there.
        stream_to_file(ctx, output.url, dest, headers={}, provider=PROVIDER)
        return dest

    def parse_webhook(self, headers: dict[str, str], body: bytes, ctx: BackendContext) -> WebhookEvent:
        try:
            generation = json.loads(body or b"null")
        except ValueError:
            raise ProviderError("Luma callback: the body is not JSON.") from None
        if not isinstance(generation, dict):
            raise ProviderError("Luma callback: expected a generation object.")
        gen_id = str(generation.get("id") or "")
        if not _ID.match(gen_id):
            raise ProviderError("Luma callback: no generation id.")
        state = str(generation.get("state") or "unknown")[:32]
        # Unsigned callback: identify the delivery, but let the job machinery poll for the truth.
        return WebhookEvent(delivery_id=f"luma:{gen_id}:{state}", provider_job_id=gen_id, result=None)


def _json(response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise ProviderError("Luma answered with something that is not JSON.") from None
    if not isinstance(data, dict):
        raise ProviderError("Luma answered with an unexpected JSON shape.")
    return data


def _summary(generation: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "state", "failure_reason", "model", "created_at", "generation_type")
    return {k: generation.get(k) for k in keep if k in generation}


def _scrubbed(exc: ProviderError, secret: str) -> ProviderError:
    if secret and secret in exc.message:
        exc.message = exc.message.replace(secret, "***")
        exc.args = (exc.message,)
    return exc
