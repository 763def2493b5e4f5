"""OpenAI videos (Sora 2).

OpenAI announced the Videos API and the Sora 2 models for shutdown on 2026-09-24, so this
adapter stays deliberately small: create, poll, download, best-effort delete.

    POST   /videos                   JSON, or multipart when there is a first-frame image
    GET    /videos/{id}              status, progress, error, expires_at (+ openai-poll-after-ms)
    GET    /videos/{id}/content      the MP4 (needs the API key)
    DELETE /videos/{id}

Checked against openai-python (``resources/videos.py``, ``types/video.py``): sizes, seconds
and statuses as below. Not confirmed: whether DELETE stops an in-progress render (there is
no cancel endpoint), and the exact prices (see ``models``).
"""

from __future__ import annotations

import io
import mimetypes
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
    ModelSpec,
    Output,
    PollResult,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    SubmitResult,
    TransientError,
)
from .http import body_trusted, error_message, provider_reason, raise_for_status, retry_after_seconds, send, stream_to_file

PROVIDER = "OpenAI"
SIZES_720P = ((1280, 720), (720, 1280))
SIZES_PRO = SIZES_720P + ((1792, 1024), (1024, 1792))
IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp"}
STATES = {"queued": "queued", "in_progress": "running", "completed": "succeeded", "failed": "failed"}
DEFAULT_POLL_AFTER = 5.0
# Approximate list prices (USD per second of video); sora-2-pro costs more above 720p.
PRO_HIGH_RES_PER_SECOND = Decimal("0.50")


def _redact(text: str, ctx: BackendContext) -> str:
    return text.replace(ctx.api_key, "***") if ctx.api_key else text


def _error_body(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    err = body.get("error") if isinstance(body, dict) else None
    return err if isinstance(err, dict) else {}


def _check(response, ctx: BackendContext, *, lost_on_404: bool = False) -> None:
    """HTTP status → ProviderError. OpenAI's 429 is either a rate limit (retry after
    ``retry-after-ms`` / ``retry-after``) or ``insufficient_quota`` (never retry)."""
    if response.status_code < 400:
        return
    try:
        if response.status_code == 429:
            err = _error_body(response)
            message = str((err.get("message") if body_trusted(response) else "") or error_message(response))
            if "insufficient_quota" in (str(err.get("code") or ""), str(err.get("type") or "")):
                raise QuotaExhausted(f"{PROVIDER} says the account is out of quota: {message}", status=429)
            raise RateLimited(f"{PROVIDER} rate limit: {message}", retry_after=retry_after_seconds(response.headers), status=429)
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


def _poll_after(response) -> float:
    value = response.headers.get("openai-poll-after-ms")
    try:
        return max(1.0, float(value) / 1000) if value else DEFAULT_POLL_AFTER
    except ValueError:
        return DEFAULT_POLL_AFTER


def _image_type(path: Path, content_type: str) -> str:
    return content_type or mimetypes.guess_type(path.name)[0] or ""


@register
class OpenAIVideosBackend(Backend):
    name = "openai"
    title = "OpenAI Sora 2"
    default_base_url = "https://api.openai.com/v1"
    default_concurrency = 2
    models = (
        # Prices are approximate (OpenAI list prices at launch): sora-2 $0.10/s,
        # sora-2-pro $0.30/s at 720p and $0.50/s at 1792×1024 / 1024×1792.
        ModelSpec(
            name="sora-2",
            kinds=("text_to_video", "image_to_video"),
            title="Sora 2",
            durations=(4, 8, 12),
            sizes=SIZES_720P,
            max_variations=1,
            cost_per_second=Decimal("0.10"),
        ),
        ModelSpec(
            name="sora-2-pro",
            kinds=("text_to_video", "image_to_video"),
            title="Sora 2 Pro",
            durations=(4, 8, 12),
            sizes=SIZES_PRO,
            max_variations=1,
            cost_per_second=Decimal("0.30"),
        ),
    )

    # -- checks and costs ------------------------------------------------------------------
    def validate(self, req: GenerationRequest) -> None:
        super().validate(req)
        if not req.prompt.strip():
            raise BackendValidationError("Sora needs a prompt, even with a first-frame image.", field="prompt")
        if req.input_image is not None:
            path = Path(req.input_image.path)
            if not path.is_file():
                raise BackendValidationError("The first-frame image file is missing.", field="input_image")
            if _image_type(path, req.input_image.content_type) not in IMAGE_TYPES:
                raise BackendValidationError("Sora takes a PNG, JPEG or WebP first frame.", field="input_image")
            from PIL import Image, UnidentifiedImageError

            try:
                with Image.open(path) as img:  # a readable image, not just a .png name
                    img.verify()
            except (OSError, UnidentifiedImageError):
                raise BackendValidationError("The first-frame image cannot be read.", field="input_image")

    def estimate_cost(self, req: GenerationRequest) -> Decimal:
        spec = self.model_spec(req.model)
        if spec.name == "sora-2-pro" and max(req.width, req.height) > 1280:
            seconds = Decimal(str(req.duration_seconds or 0))
            return (PRO_HIGH_RES_PER_SECOND * seconds * max(1, req.variations)).quantize(Decimal("0.0001"))
        return super().estimate_cost(req)

    # -- the provider conversation -----------------------------------------------------------
    def _base(self, ctx: BackendContext) -> str:
        return (ctx.base_url or self.default_base_url).rstrip("/")

    def _auth(self, ctx: BackendContext) -> dict[str, str]:
        return {"Authorization": f"Bearer {ctx.api_key}"}

    def _first_frame(self, req: GenerationRequest) -> tuple[str, bytes, str, bool]:
        """The first-frame image as (filename, bytes, content type, resized).

        Sora wants the reference at exactly the output size; a different size is scaled
        and centre-cropped here rather than refused by the API after the upload.
        """
        from PIL import Image, ImageOps

        image = req.input_image
        assert image is not None
        path = Path(image.path)
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as img:
            if img.size == (req.width, req.height):
                return path.name, data, _image_type(path, image.content_type), False
            fitted = ImageOps.fit(img.convert("RGB"), (req.width, req.height), Image.LANCZOS)
        buf = io.BytesIO()
        fitted.save(buf, format="PNG")
        return f"{path.stem}.png", buf.getvalue(), "image/png", True

    def submit(self, req: GenerationRequest, ctx: BackendContext) -> SubmitResult:
        spec = self.model_spec(req.model)
        fields = {
            "model": spec.name,
            "prompt": req.prompt,
            "seconds": str(round(req.duration_seconds or 0)),
            "size": f"{req.width}x{req.height}",
        }
        url = f"{self._base(ctx)}/videos"
        resized = False
        if req.input_image is not None:
            # Multipart upload of the file: the form every SDK version sends. (Newer API
            # revisions also take JSON ``input_reference: {image_url}``.)
            filename, data, content_type, resized = self._first_frame(req)
            response = _send(
                ctx, "POST", url, headers=self._auth(ctx), data=fields, files={"input_reference": (filename, data, content_type)}
            )
        else:
            response = _send(ctx, "POST", url, headers=self._auth(ctx), json=fields)
        body = response.json()
        video_id = str(body.get("id") or "")
        if not video_id:
            raise ProviderError(f"{PROVIDER} accepted the request but returned no video id.")
        raw = {"request": fields, "status": body.get("status"), "input_reference_resized": resized}
        if req.seed is not None:
            raw["seed_ignored"] = True  # the Videos API has no seed
        return SubmitResult(
            provider_job_id=video_id,
            state=STATES.get(str(body.get("status")), "queued"),
            poll_after=_poll_after(response),
            raw=raw,
        )

    def poll(self, provider_job_id: str, ctx: BackendContext) -> PollResult:
        base = self._base(ctx)
        response = _send(ctx, "GET", f"{base}/videos/{provider_job_id}", headers=self._auth(ctx), lost_on_404=True)
        body = response.json()
        status = str(body.get("status") or "")
        state = STATES.get(status, "running")
        raw = {k: body.get(k) for k in ("status", "progress", "model", "seconds", "size", "expires_at", "error")}
        progress = body.get("progress")
        result = PollResult(
            state=state,
            progress=int(progress) if isinstance(progress, (int, float)) else None,
            poll_after=_poll_after(response),
            raw=raw,
        )
        if state == "succeeded":
            result.progress = 100
            result.outputs = [
                Output(
                    url=f"{base}/videos/{provider_job_id}/content?variant=video",
                    content_type="video/mp4",
                    filename=f"{provider_job_id}.mp4",
                    # The content URL needs the API key: ``download`` adds it at fetch time,
                    # so the key never sits in an Output that may be stored.
                    meta={"expires_at": body.get("expires_at"), "needs_auth": True, "seconds": body.get("seconds"), "size": body.get("size")},
                )
            ]
        elif state == "failed":
            err = body.get("error") or {}
            message = err.get("message") if isinstance(err, dict) else str(err)
            code = err.get("code") if isinstance(err, dict) else ""
            text = provider_reason(ctx, str(message or "")) or "the render failed without a reason"
            code = "" if ctx.address_from_project else code
            result.error = _redact(f"{PROVIDER}: {text}" + (f" ({code})" if code else ""), ctx)
            result.billable = False  # failed renders are not charged (OpenAI bills completed seconds)
        return result

    def cancel(self, provider_job_id: str, ctx: BackendContext) -> None:
        """No cancel endpoint: delete the video. Unconfirmed whether this stops a render in
        progress; a refusal (4xx) is ignored so the job can still be marked cancelled."""
        try:
            _send(ctx, "DELETE", f"{self._base(ctx)}/videos/{provider_job_id}", headers=self._auth(ctx))
        except ProviderError as exc:
            if type(exc) is not ProviderError:  # auth, rate limit, 5xx: let the caller see it
                raise

    def download(self, output: Output, ctx: BackendContext, dest: Path) -> Path:
        if output.path is not None or not output.url:
            return super().download(output, ctx, dest)
        headers = dict(output.headers)
        # Only our own API host gets the key (never a redirect target or a foreign URL).
        if urlsplit(output.url).netloc == urlsplit(self._base(ctx)).netloc:
            headers.update(self._auth(ctx))
        try:
            stream_to_file(ctx, output.url, dest, headers=headers, provider=PROVIDER)
        except ProviderError as exc:
            exc.message = _redact(exc.message, ctx)
            exc.args = (exc.message,)
            raise
        return dest
