"""Replicate (official video models, addressed as ``owner/name``).

    POST /models/{owner}/{name}/predictions  {input, webhook?, webhook_events_filter: ["completed"]}
    GET  /predictions/{id}                   id, status, output, error, logs, metrics, urls
    POST /predictions/{id}/cancel
    GET  /webhooks/default/secret            {"key": "whsec_..."} — the webhook signing secret

Statuses starting → queued, processing → running, succeeded, failed, canceled/aborted →
cancelled. Outputs are deleted about an hour after the prediction: copy them at once.

Webhooks follow Standard Webhooks: ``webhook-id`` (the same on retries of one delivery),
``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}">`` keyed with the base64 part of ``whsec_…``.

Model inputs from the models' API pages on replicate.com. Not confirmed: whether failed
predictions of these official (per-output priced) models are billed (we assume not), and
the prices (approximate).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mimetypes
import re
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import requests

from ..registry import register
from .base import (
    Backend,
    BackendContext,
    BackendValidationError,
    GenerationRequest,
    InputFile,
    ModelSpec,
    Output,
    PollResult,
    ProviderError,
    SubmitResult,
    TransientError,
    WebhookEvent,
)
from .http import provider_reason, raise_for_status, send

PROVIDER = "Replicate"
STATES = {
    "starting": "queued",
    "processing": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "cancelled",
    "aborted": "cancelled",
}
POLL_AFTER = 5.0
WEBHOOK_TOLERANCE = 5 * 60  # seconds; older (or future) deliveries are refused as replays
MAX_DATA_URI = 10 * 1024 * 1024  # unconfirmed; Replicate recommends URLs for large files
WAN_FPS = 16
WAN_FRAMES = (81, 100)
PERCENT_RE = re.compile(r"(\d{1,3})%\|")  # tqdm progress lines in the logs


def _redact(text: str, ctx: BackendContext) -> str:
    return text.replace(ctx.api_key, "***") if ctx.api_key else text


def _send(ctx: BackendContext, method: str, url: str, *, lost_on_404: bool = False, **kwargs):
    """429 → RateLimited (Retry-After), 402 → QuotaExhausted, 5xx → TransientError, … via
    ``raise_for_status``; Replicate's throttling body ("Request was throttled …") has no
    quota words, so it stays a rate limit."""
    kwargs.setdefault("timeout", ctx.timeout)
    try:
        response = send(ctx, method, url, provider=PROVIDER, **kwargs)
    except requests.RequestException as exc:
        raise TransientError(f"{PROVIDER}: could not reach the service ({exc.__class__.__name__}).")
    try:
        raise_for_status(response, provider=PROVIDER, lost_on_404=lost_on_404)
    except ProviderError as exc:
        exc.message = _redact(exc.message, ctx)
        exc.args = (exc.message,)
        raise
    return response


def _file_input(media: InputFile, fallback_type: str) -> str:
    if media.url and media.url.startswith(("https://", "http://")):
        return media.url
    content_type = media.content_type or mimetypes.guess_type(Path(media.path).name)[0] or fallback_type
    return f"data:{content_type};base64,{base64.b64encode(Path(media.path).read_bytes()).decode()}"


def _aspect(req: GenerationRequest) -> str:
    return "16:9" if req.width >= req.height else "9:16"


def _kling_mode(req: GenerationRequest) -> str:
    return "pro" if min(req.width, req.height) >= 1080 else "standard"  # pro = 1080p, standard = 720p


def _failure_text(error: str) -> str:
    lowered = error.lower()
    if "e005" in lowered or "sensitive" in lowered or "nsfw" in lowered:
        return f"{PROVIDER}'s safety filter flagged the input or output; change the prompt or image ({error})."
    return f"{PROVIDER}: {error or 'the prediction failed without a reason'}"


def verify_signature(secret: str, msg_id: str, timestamp: str, body: bytes, signature_header: str) -> bool:
    """Standard Webhooks signature check (any of the space-separated ``v1,`` signatures)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for candidate in signature_header.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


@register
class ReplicateBackend(Backend):
    name = "replicate"
    title = "Replicate"
    sends_webhooks = True
    default_base_url = "https://api.replicate.com/v1"
    default_concurrency = 4
    models = (
        # Prices approximate (replicate.com model pages): MiniMax $0.50 per 6 s clip,
        # Kling 2.1 $0.05/s standard (720p) and $0.09/s pro (1080p), Wan 2.2 fast ≈ $0.02/s.
        ModelSpec(
            name="minimax/video-01",
            kinds=("text_to_video", "image_to_video"),
            title="MiniMax Video-01 (Hailuo), 6 s 720p",
            durations=(6,),
            cost_per_second=Decimal("0.085"),
        ),
        ModelSpec(
            name="kwaivgi/kling-v2.1",
            kinds=("image_to_video",),
            title="Kling 2.1 (720p standard, 1080p pro)",
            durations=(5, 10),
            cost_per_second=Decimal("0.05"),
        ),
        ModelSpec(
            name="wan-video/wan-2.2-t2v-fast",
            kinds=("text_to_video",),
            title="Wan 2.2 text-to-video (fast)",
            min_seconds=5.0,
            max_seconds=WAN_FRAMES[1] / WAN_FPS,
            sizes=((832, 480), (480, 832), (1280, 720), (720, 1280)),
            cost_per_second=Decimal("0.02"),
        ),
    )

    # -- checks and costs ------------------------------------------------------------------
    def validate(self, req: GenerationRequest) -> None:
        super().validate(req)
        spec = self.model_spec(req.model)
        if not req.prompt.strip() and spec.name != "minimax/video-01":
            raise BackendValidationError("Write a prompt.", field="prompt")
        if spec.name == "minimax/video-01" and req.kind == "text_to_video" and (req.width, req.height) != (1280, 720):
            raise BackendValidationError("MiniMax Video-01 makes 1280×720 clips from text.", field="size")
        if req.reference_images:
            raise BackendValidationError(f"The {PROVIDER} models here take no reference images.", field="reference_images")
        image = req.input_image
        if req.kind == "image_to_video" and image is not None and not (image.url and image.url.startswith(("https://", "http://"))):
            if not Path(image.path).is_file():
                raise BackendValidationError("The input image file is missing.", field="input_image")
            if Path(image.path).stat().st_size * 4 / 3 > MAX_DATA_URI:
                raise BackendValidationError(f"The input image is too large to send inline to {PROVIDER}; it needs a stored copy.", field="input_image")

    def estimate_cost(self, req: GenerationRequest) -> Decimal:
        spec = self.model_spec(req.model)
        if spec.name == "kwaivgi/kling-v2.1" and _kling_mode(req) == "pro":
            seconds = Decimal(str(req.duration_seconds or 0))
            return (Decimal("0.09") * seconds * max(1, req.variations)).quantize(Decimal("0.0001"))
        return super().estimate_cost(req)

    # -- the provider conversation -----------------------------------------------------------
    def _base(self, ctx: BackendContext) -> str:
        return (ctx.base_url or self.default_base_url).rstrip("/")

    def _headers(self, ctx: BackendContext) -> dict[str, str]:
        return {"Authorization": f"Bearer {ctx.api_key}"}

    def _input(self, req: GenerationRequest, spec: ModelSpec) -> dict:
        seconds = req.duration_seconds or 0
        if spec.name == "minimax/video-01":
            data: dict = {"prompt": req.prompt, "prompt_optimizer": bool(req.params.get("prompt_optimizer", True))}
            if req.kind == "image_to_video" and req.input_image is not None:
                data["first_frame_image"] = _file_input(req.input_image, "image/png")
            return data
        if spec.name == "kwaivgi/kling-v2.1":
            assert req.input_image is not None
            data = {
                "prompt": req.prompt,
                "start_image": _file_input(req.input_image, "image/png"),
                "duration": round(seconds),
                "mode": _kling_mode(req),
            }
            if req.negative_prompt:
                data["negative_prompt"] = req.negative_prompt
            return data
        # wan-video/wan-2.2-t2v-fast: length is a frame count at 16 fps (81–100 frames).
        frames = min(max(round(seconds * WAN_FPS), WAN_FRAMES[0]), WAN_FRAMES[1])
        data = {
            "prompt": req.prompt,
            "num_frames": frames,
            "frames_per_second": WAN_FPS,
            "aspect_ratio": _aspect(req),
            "resolution": "720p" if min(req.width, req.height) >= 720 else "480p",
        }
        if req.seed is not None:
            data["seed"] = req.seed
        return data

    def submit(self, req: GenerationRequest, ctx: BackendContext) -> SubmitResult:
        spec = self.model_spec(req.model)
        body: dict = {"input": self._input(req, spec)}
        if req.webhook_url:
            body["webhook"] = req.webhook_url
            body["webhook_events_filter"] = ["completed"]
        response = _send(ctx, "POST", f"{self._base(ctx)}/models/{spec.name}/predictions", headers=self._headers(ctx), json=body)
        prediction = response.json() or {}
        prediction_id = str(prediction.get("id") or "")
        if not prediction_id:
            raise ProviderError(f"{PROVIDER} accepted the request but returned no prediction id.")
        summary = {k: ("data:…" if isinstance(v, str) and v.startswith("data:") else v) for k, v in body["input"].items()}
        return SubmitResult(
            provider_job_id=prediction_id,
            state=STATES.get(str(prediction.get("status")), "queued"),
            poll_after=POLL_AFTER,
            raw={
                "model": spec.name,
                "input": summary,
                "urls": prediction.get("urls") or {},
                "webhook": bool(req.webhook_url),
                "seed_ignored": req.seed is not None and "seed" not in body["input"],  # the model has no seed input
            },
        )

    def poll(self, provider_job_id: str, ctx: BackendContext) -> PollResult:
        response = _send(ctx, "GET", f"{self._base(ctx)}/predictions/{provider_job_id}", headers=self._headers(ctx), lost_on_404=True)
        return self._result(response.json() or {}, ctx)

    def _result(self, prediction: dict, ctx: BackendContext) -> PollResult:
        status = str(prediction.get("status") or "")
        state = STATES.get(status, "running")
        metrics = prediction.get("metrics") or {}
        raw = {"status": status, "metrics": metrics, "model": prediction.get("model"), "error": prediction.get("error")}
        result = PollResult(state=state, poll_after=POLL_AFTER, raw=raw)
        if state == "running":
            found = PERCENT_RE.findall(str(prediction.get("logs") or ""))
            result.progress = min(99, int(found[-1])) if found else None
        elif state == "succeeded":
            result.progress = 100
            result.outputs = self._outputs(prediction.get("output"))
            if not result.outputs:
                result.state = "failed"
                result.error = f"{PROVIDER} reported success but returned no output."
            elif all(o.filtered for o in result.outputs):
                result.error = f"{PROVIDER}'s safety filter removed every output."
        elif state == "failed":
            result.error = _redact(_failure_text(provider_reason(ctx, str(prediction.get("error") or ""))), ctx)
            result.billable = False  # official models are priced per output; see module docstring
        return result

    def _outputs(self, output) -> list[Output]:
        """``output`` is a URL, a list of URLs, or (some models) a dict with the URLs and
        a ``has_nsfw_concepts`` list parallel to them."""
        flags: list = []
        if isinstance(output, dict):
            flags = list(output.get("has_nsfw_concepts") or [])
            found = next((output[k] for k in ("video", "videos", "images", "image", "output") if output.get(k)), None)
            output = found if found is not None else [v for v in output.values() if isinstance(v, str) and "://" in v]
        urls = [output] if isinstance(output, str) else [u for u in output or [] if isinstance(u, str)]
        outputs = []
        for i, url in enumerate(urls):
            filename = Path(urlsplit(url).path).name
            outputs.append(
                Output(
                    url=url,
                    content_type=mimetypes.guess_type(filename)[0] or "",
                    filename=filename,
                    filtered=bool(flags[i]) if i < len(flags) else False,
                    meta={"expires": "about an hour after the prediction"},
                )
            )
        return outputs

    def cancel(self, provider_job_id: str, ctx: BackendContext) -> None:
        try:
            _send(ctx, "POST", f"{self._base(ctx)}/predictions/{provider_job_id}/cancel", headers=self._headers(ctx))
        except ProviderError as exc:
            if exc.status != 404:
                raise

    # -- webhooks ----------------------------------------------------------------------------
    def webhook_secret(self, ctx: BackendContext) -> str:
        """The account's signing secret (``whsec_…``), to store as ``ctx.webhook_secret``."""
        response = _send(ctx, "GET", f"{self._base(ctx)}/webhooks/default/secret", headers=self._headers(ctx))
        return str((response.json() or {}).get("key") or "")

    def parse_webhook(self, headers: dict[str, str], body: bytes, ctx: BackendContext) -> WebhookEvent:
        h = {k.lower(): v for k, v in headers.items()}
        msg_id, timestamp, signature = h.get("webhook-id", ""), h.get("webhook-timestamp", ""), h.get("webhook-signature", "")
        if not (msg_id and timestamp and signature):
            raise ProviderError(f"{PROVIDER} webhook without webhook-id/-timestamp/-signature headers.", status=400)
        if not ctx.webhook_secret:
            raise ProviderError(f"No {PROVIDER} webhook secret is configured; refusing an unverifiable webhook.", status=401)
        try:
            age = abs(time.time() - int(timestamp))
        except ValueError:
            raise ProviderError(f"{PROVIDER} webhook with a malformed timestamp.", status=400)
        try:
            valid = verify_signature(ctx.webhook_secret, msg_id, timestamp, body, signature)
        except (ValueError, TypeError):  # secret not base64
            raise ProviderError(f"The {PROVIDER} webhook secret is malformed (expected whsec_…).", status=401)
        if not valid:
            raise ProviderError(f"{PROVIDER} webhook signature does not match.", status=401)
        if age > WEBHOOK_TOLERANCE:
            raise ProviderError(f"{PROVIDER} webhook timestamp is too far from now (a replay?).", status=401)
        try:
            prediction = json.loads(body)
        except ValueError:
            raise ProviderError(f"{PROVIDER} webhook body is not JSON.", status=400)
        prediction_id = str(prediction.get("id") or "")
        if not prediction_id:
            raise ProviderError(f"{PROVIDER} webhook without a prediction id.", status=400)
        return WebhookEvent(delivery_id=msg_id, provider_job_id=prediction_id, result=self._result(prediction, ctx))
