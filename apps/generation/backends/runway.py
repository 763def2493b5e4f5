"""Runway API (Gen-4 Turbo, Gen-4.5, Gen-4 Image, Upscale v1).

    POST   /v1/image_to_video   {model, promptImage, promptText, ratio, duration, seed}
    POST   /v1/text_to_video    {model, promptText, ratio, duration, seed}
    POST   /v1/text_to_image    {model, promptText, ratio, referenceImages: [{uri, tag}], seed}
    POST   /v1/video_upscale    {model: "upscale_v1", videoUri}
    GET    /v1/tasks/{id}       status PENDING|THROTTLED|RUNNING|SUCCEEDED|FAILED|CANCELLED,
                                progress 0..1, output [url], failure, failureCode
    DELETE /v1/tasks/{id}       cancel (or delete a finished task)

Every call carries ``Authorization: Bearer KEY`` and ``X-Runway-Version: 2024-11-06``.
Checked against runwayml/sdk-python (``types/*_create_params.py``, ``task_retrieve_response``)
and docs.dev.runwayml.com (errors, task failures, usage tiers). Not confirmed: the body of
the daily-quota 429 and of the out-of-credits error (we decide from words in the body),
the reference-image tag rule, and the data-URI size limit for videos.
"""

from __future__ import annotations

import base64
import mimetypes
import random
import re
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
    QuotaExhausted,
    RateLimited,
    SubmitResult,
    TransientError,
)
from .http import error_message, provider_reason, raise_for_status, retry_after_seconds, send

PROVIDER = "Runway"
API_VERSION = "2024-11-06"
CREDIT = Decimal("0.01")  # USD per credit (Runway's published API rate)

VIDEO_RATIOS = ((1280, 720), (720, 1280), (1104, 832), (832, 1104), (960, 960), (1584, 672))
TEXT_TO_VIDEO_RATIOS = ((1280, 720), (720, 1280))  # gen4.5 without an image
IMAGE_RATIOS_720P = ((1280, 720), (720, 1280), (720, 720), (960, 720), (720, 960), (1680, 720))
IMAGE_RATIOS = IMAGE_RATIOS_720P + (
    (1920, 1080),
    (1080, 1920),
    (1024, 1024),
    (1080, 1080),
    (1360, 768),
    (1168, 880),
    (1440, 1080),
    (1080, 1440),
    (1808, 768),
    (2112, 912),
)
MAX_PROMPT = 1000  # UTF-16 code units
MAX_REFERENCES = 3
# Runway docs: a tag is 3–16 letters, digits or underscores and starts with a letter (unconfirmed).
TAG_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,15}$")
MAX_IMAGE_DATA_URI = 5 * 1024 * 1024  # SDK: data URIs "up to 5MB"
MAX_VIDEO_DATA_URI = 16 * 1024 * 1024  # unconfirmed; prefer a stored URL for videos
MAX_UPSCALE_SECONDS = 40
MAX_SEED = 4294967295

STATES = {
    "PENDING": "queued",
    "THROTTLED": "queued",  # over the concurrency limit: stored, waits its turn
    "RUNNING": "running",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "CANCELLED": "cancelled",
}
ENDPOINTS = {
    "image_to_video": "/v1/image_to_video",
    "text_to_video": "/v1/text_to_video",
    "text_to_image": "/v1/text_to_image",
    "upscale": "/v1/video_upscale",
}
# A 429 or 400 whose body talks about these is the daily quota / credits, not a rate limit.
QUOTA_HINTS = ("daily", "quota", "credit", "24-hour", "24 hour", "generation limit", "balance")


def _redact(text: str, ctx: BackendContext) -> str:
    return text.replace(ctx.api_key, "***") if ctx.api_key else text


def _check(response, ctx: BackendContext, *, lost_on_404: bool = False) -> None:
    status = response.status_code
    if status < 400:
        return
    try:
        message = error_message(response)
        lowered = message.lower()
        if status == 429:
            # Runway has no per-minute limit; a 429 is normally the daily generation limit.
            # We only call it quota when the body says so (the exact wording is unconfirmed).
            if any(hint in lowered for hint in QUOTA_HINTS):
                raise QuotaExhausted(f"{PROVIDER} daily limit or credits exhausted: {message}", status=status)
            raise RateLimited(f"{PROVIDER} rate limit: {message}", retry_after=retry_after_seconds(response.headers), status=status)
        if status == 400 and "credit" in lowered:
            raise QuotaExhausted(f"{PROVIDER} says the account is out of credits: {message}", status=status)
        raise_for_status(response, provider=PROVIDER, lost_on_404=lost_on_404)
    except ProviderError as exc:
        exc.message = _redact(exc.message, ctx)
        exc.args = (exc.message,)
        raise


def _send(ctx: BackendContext, method: str, url: str, *, lost_on_404: bool = False, **kwargs):
    kwargs.setdefault("timeout", ctx.timeout)
    try:
        response = send(ctx, method, url, provider=PROVIDER, **kwargs)
    except requests.RequestException as exc:
        raise TransientError(f"{PROVIDER}: could not reach the service ({exc.__class__.__name__}).")
    _check(response, ctx, lost_on_404=lost_on_404)
    return response


def _content_type(media: InputFile, fallback: str) -> str:
    return media.content_type or mimetypes.guess_type(Path(media.path).name)[0] or fallback


def _encoded_size(path: Path, content_type: str) -> int:
    raw = Path(path).stat().st_size
    return len(f"data:{content_type};base64,") + 4 * ((raw + 2) // 3)


def _uri(media: InputFile, fallback_type: str) -> str:
    """A stored HTTPS URL when there is one (Runway fetches it), else a data URI."""
    if media.url and media.url.startswith("https://"):
        return media.url
    content_type = _content_type(media, fallback_type)
    data = base64.b64encode(Path(media.path).read_bytes()).decode()
    return f"data:{content_type};base64,{data}"


def _check_sendable(media: InputFile | None, limit: int, fallback_type: str, field: str) -> None:
    """A file without a stored HTTPS copy goes inline as a data URI: it must exist and fit."""
    if media is None or (media.url and media.url.startswith("https://")):
        return
    if not Path(media.path).is_file():
        raise BackendValidationError(f"The input file {Path(media.path).name} is missing.", field=field)
    if _encoded_size(media.path, _content_type(media, fallback_type)) > limit:
        raise BackendValidationError(
            f"{Path(media.path).name} is too large to send inline to {PROVIDER} ({limit // 2**20} MB); it needs a stored (HTTPS) copy.",
            field=field,
        )


def _failure_text(failure: str, code: str) -> str:
    if code.startswith("SAFETY."):
        where = "input" if ".INPUT." in code else "output" if ".OUTPUT." in code else "request"
        return f"{PROVIDER}'s content moderation rejected the {where}; change the prompt or image and try again ({code})."
    if code.startswith("INTERNAL.BAD_OUTPUT"):
        return f"{PROVIDER} discarded the result for quality reasons (text or graphics in the image can cause this); try again ({code})."
    text = failure or "the task failed without a reason"
    return f"{PROVIDER}: {text}" + (f" ({code})" if code else "")


@register
class RunwayBackend(Backend):
    name = "runway"
    title = "Runway"
    accepts_references = True
    default_base_url = "https://api.dev.runwayml.com"
    default_concurrency = 2  # tier-1 concurrency; more tasks wait as THROTTLED
    models = (
        # Credits per second / per image from Runway's API pricing, at $0.01 a credit:
        # approximate, check the developer portal.
        ModelSpec(
            name="gen4_turbo",
            kinds=("image_to_video",),
            title="Gen-4 Turbo",
            durations=(5, 10),
            sizes=VIDEO_RATIOS,
            cost_per_second=5 * CREDIT,
        ),
        ModelSpec(
            name="gen4.5",
            kinds=("text_to_video", "image_to_video"),
            title="Gen-4.5",
            durations=tuple(range(2, 11)),
            sizes=VIDEO_RATIOS,
            cost_per_second=12 * CREDIT,
        ),
        ModelSpec(
            name="gen4_image",
            kinds=("text_to_image",),
            title="Gen-4 Image",
            sizes=IMAGE_RATIOS,
            cost_per_output=8 * CREDIT,  # 1080p; 720p ratios cost 5 credits (estimate_cost)
        ),
        ModelSpec(
            name="upscale_v1",
            kinds=("upscale",),
            title="Upscale v1 (4×, up to 4K)",
            max_seconds=MAX_UPSCALE_SECONDS,
            cost_per_second=2 * CREDIT,
        ),
    )

    # -- checks and costs ------------------------------------------------------------------
    def validate(self, req: GenerationRequest) -> None:
        super().validate(req)
        spec = self.model_spec(req.model)
        if len(req.prompt.encode("utf-16-le")) // 2 > MAX_PROMPT:
            raise BackendValidationError(f"{PROVIDER} prompts are at most {MAX_PROMPT} characters.", field="prompt")
        if req.seed is not None and not 0 <= req.seed <= MAX_SEED:
            raise BackendValidationError(f"{PROVIDER} seeds run from 0 to {MAX_SEED}.", field="seed")
        if req.kind == "text_to_video" and (req.width, req.height) not in TEXT_TO_VIDEO_RATIOS:
            raise BackendValidationError(
                f"{spec.name} makes text-to-video clips at 1280×720 or 720×1280; {req.width}×{req.height} was asked.", field="size"
            )
        if req.kind == "text_to_image":
            if (req.width, req.height) not in IMAGE_RATIOS:
                allowed = ", ".join(f"{w}×{h}" for w, h in IMAGE_RATIOS)
                raise BackendValidationError(f"{spec.name} makes {allowed}; {req.width}×{req.height} was asked.", field="size")
            if not req.prompt.strip():
                raise BackendValidationError("Write a prompt.", field="prompt")
        if spec.name == "gen4.5" and not req.prompt.strip():
            raise BackendValidationError("Gen-4.5 needs a prompt, even with an image.", field="prompt")
        if req.reference_images:
            if req.kind != "text_to_image":
                raise BackendValidationError(
                    f"{PROVIDER} uses reference images for text to image (gen4_image) only.", field="reference_images"
                )
            if len(req.reference_images) > MAX_REFERENCES:
                raise BackendValidationError(f"{PROVIDER} takes at most {MAX_REFERENCES} reference images.", field="reference_images")
            for ref in req.reference_images:
                if not ref.tag or not TAG_RE.match(ref.tag):
                    raise BackendValidationError(
                        f"Reference tag {ref.tag!r} won't work with {PROVIDER}: use 3–16 letters, digits or _ , starting with a letter.",
                        field="reference_images",
                    )
        inline = [(req.input_image, MAX_IMAGE_DATA_URI, "image/png", "input_image")]
        inline += [(ref, MAX_IMAGE_DATA_URI, "image/png", "reference_images") for ref in req.reference_images]
        if req.kind == "upscale":
            inline.append((req.input_video, MAX_VIDEO_DATA_URI, "video/mp4", "parent_take"))
        for media, limit, fallback, field in inline:
            _check_sendable(media, limit, fallback, field)
        if req.kind == "upscale" and req.duration_seconds is not None and req.duration_seconds > MAX_UPSCALE_SECONDS:
            raise BackendValidationError(f"{PROVIDER} upscales videos of up to {MAX_UPSCALE_SECONDS} seconds.", field="parent_take")

    def estimate_cost(self, req: GenerationRequest) -> Decimal:
        spec = self.model_spec(req.model)
        n = max(1, req.variations)
        if spec.name == "gen4_image" and (req.width, req.height) in IMAGE_RATIOS_720P:
            return (5 * CREDIT * n).quantize(Decimal("0.0001"))
        if spec.kinds == ("upscale",):
            # The source length may be unknown here: reserve for the longest accepted clip.
            seconds = Decimal(str(req.duration_seconds or MAX_UPSCALE_SECONDS))
            return (spec.cost_per_second * seconds * n).quantize(Decimal("0.0001"))
        return super().estimate_cost(req)

    # -- the provider conversation -----------------------------------------------------------
    def _base(self, ctx: BackendContext) -> str:
        return (ctx.base_url or self.default_base_url).rstrip("/")

    def _headers(self, ctx: BackendContext) -> dict[str, str]:
        return {"Authorization": f"Bearer {ctx.api_key}", "X-Runway-Version": API_VERSION}

    def _body(self, req: GenerationRequest, spec: ModelSpec) -> dict:
        ratio = f"{req.width}:{req.height}"
        if req.kind == "upscale":
            assert req.input_video is not None
            return {"model": spec.name, "videoUri": _uri(req.input_video, "video/mp4")}
        body: dict = {"model": spec.name, "promptText": req.prompt, "ratio": ratio}
        if req.kind == "image_to_video":
            assert req.input_image is not None
            body["promptImage"] = _uri(req.input_image, "image/png")
            if not req.prompt:
                body.pop("promptText")  # optional for gen4_turbo; must be non-empty when sent
        if req.kind in ("image_to_video", "text_to_video"):
            body["duration"] = round(req.duration_seconds or 0)
        if req.kind == "text_to_image" and req.reference_images:
            body["referenceImages"] = [{"uri": _uri(ref, "image/png"), "tag": ref.tag} for ref in req.reference_images]
        if req.seed is not None:
            body["seed"] = req.seed
        return body

    def test_connection(self, ctx: BackendContext) -> dict:
        """GET /v1/organization: the key works, and how many credits are left."""
        if not ctx.api_key:
            return {"ok": False, "detail": f"No API key is stored for {PROVIDER}.", "info": {}}
        try:
            balance = self.credit_balance(ctx)
        except ProviderError as exc:
            return {"ok": False, "detail": exc.message, "info": {}}
        if balance is None:
            return {"ok": True, "detail": f"{PROVIDER} accepted the key.", "info": {"credit_balance": None}}
        dollars = (balance * CREDIT).quantize(Decimal("0.01"))
        return {
            "ok": True, "detail": f"{PROVIDER} accepted the key; {balance:g} credits left (about ${dollars}).",
            "info": {"credit_balance": str(balance)},
        }

    def submit(self, req: GenerationRequest, ctx: BackendContext) -> SubmitResult:
        spec = self.model_spec(req.model)
        body = self._body(req, spec)
        response = _send(ctx, "POST", self._base(ctx) + ENDPOINTS[req.kind], headers=self._headers(ctx), json=body)
        task_id = str((response.json() or {}).get("id") or "")
        if not task_id:
            raise ProviderError(f"{PROVIDER} accepted the request but returned no task id.")
        # Keep the request for provider_data, without inline image/video bytes.
        summary = {k: (v if not (isinstance(v, str) and v.startswith("data:")) else "data:…") for k, v in body.items()}
        if "referenceImages" in summary:
            summary["referenceImages"] = [{"tag": r["tag"]} for r in body["referenceImages"]]
        return SubmitResult(provider_job_id=task_id, state="queued", poll_after=self._poll_after(), raw={"request": summary, "endpoint": ENDPOINTS[req.kind]})

    def _poll_after(self) -> float:
        return 6.0 + random.uniform(0, 1.5)  # the SDK polls every ~6 s with jitter

    def poll(self, provider_job_id: str, ctx: BackendContext) -> PollResult:
        response = _send(ctx, "GET", f"{self._base(ctx)}/v1/tasks/{provider_job_id}", headers=self._headers(ctx), lost_on_404=True)
        task = response.json() or {}
        status = str(task.get("status") or "")
        state = STATES.get(status, "running")
        raw = {k: task.get(k) for k in ("status", "progress", "failure", "failureCode", "createdAt")}
        result = PollResult(state=state, poll_after=self._poll_after(), raw=raw)
        progress = task.get("progress")
        if isinstance(progress, (int, float)):
            result.progress = max(0, min(100, round(progress * 100)))
        if state == "succeeded":
            result.progress = 100
            result.outputs = [self._output(url) for url in task.get("output") or [] if isinstance(url, str)]
            if not result.outputs:
                result.state, result.billable = "failed", True
                result.error = f"{PROVIDER} reported success but returned no output."
        elif state == "failed":
            failure, code = str(task.get("failure") or ""), str(task.get("failureCode") or "")
            if ctx.address_from_project:
                failure, code = provider_reason(ctx, failure or code), ""
            result.error = _redact(_failure_text(failure, code), ctx)
            result.billable = False  # Runway does not charge credits for failed tasks
        return result

    def _output(self, url: str) -> Output:
        filename = Path(urlsplit(url).path).name
        content_type = mimetypes.guess_type(filename)[0] or ""
        # Output URLs are signed and expire within 24–48 hours: copy them at once.
        return Output(url=url, content_type=content_type, filename=filename, meta={"expires": "24-48h"})

    def cancel(self, provider_job_id: str, ctx: BackendContext) -> None:
        try:
            _send(ctx, "DELETE", f"{self._base(ctx)}/v1/tasks/{provider_job_id}", headers=self._headers(ctx))
        except ProviderError as exc:
            if exc.status != 404:  # already gone: nothing to cancel
                raise

    def credit_balance(self, ctx: BackendContext) -> Decimal | None:
        """Credits left on the organisation (``GET /v1/organization`` → creditBalance)."""
        response = _send(ctx, "GET", f"{self._base(ctx)}/v1/organization", headers=self._headers(ctx))
        balance = (response.json() or {}).get("creditBalance")
        return None if balance is None else Decimal(str(balance))
