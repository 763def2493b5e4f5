"""Google Veo through the Gemini API: text to video and image to video.

The contract (see /work/shared/design/PROVIDERS.md), checked against Google's Gen AI SDK
(github.com/googleapis/python-genai, ``models.py``: ``_GenerateVideosParameters_to_mldev``,
``_GenerateVideosConfig_to_mldev``, ``_GenerateVideosOperation_from_mldev``):

    base  https://generativelanguage.googleapis.com          header x-goog-api-key: KEY
    POST  /v1beta/models/{model}:predictLongRunning
          {instances: [{prompt, image?: {bytesBase64Encoded, mimeType}}],
           parameters: {aspectRatio, resolution, durationSeconds, negativePrompt, sampleCount}}
          -> operation {name: "models/{model}/operations/{id}"}
    GET   /v1beta/{operation name} -> {name, done, error?, response?: {generateVideoResponse:
          {generatedSamples: [{video: {uri}}], raiMediaFilteredCount, raiMediaFilteredReasons}}}
    The sample URIs are downloaded with the same x-goog-api-key header.

Decisions:
  * The API key is added at download time (``download``) rather than stored in
    ``Output.headers``, so it never lands in job records; it is sent only to Google hosts
    (or the configured base URL's host) and is dropped when a redirect leaves that host.
  * A finished operation whose every sample was safety-filtered is a failed job with the
    filter's reason (not billed, unconfirmed); partly filtered results succeed, with one
    ``Output(filtered=True)`` per removed sample.
  * Google's 429 RESOURCE_EXHAUSTED says "quota" for per-minute limits too, so it is read
    from the structured details: a per-day quota (or a limit of 0, i.e. no access on this
    plan) is QuotaExhausted; anything else is RateLimited after ``RetryInfo.retryDelay``.

Not confirmed (marked where used):
  * model ids: ``veo-3.1-generate-preview`` and ``veo-3.1-fast-generate-preview`` appear in
    Google's Veo 3.1 docs and examples; ``veo-3.0-fast-generate-001`` in the Veo 3 docs;
  * durations: 4/6/8 s for Veo 3.1, and 8 s only for Veo 3.0 on the Gemini API (Vertex
    documents 4/6/8); 1080p only at 8 s on Veo 3.1; 1080p portrait not on Veo 3.0;
  * ``sampleCount`` up to 4 (Vertex documents 4 videos per request; the Gemini API may
    allow fewer - lower ``max_variations`` if it refuses);
  * ``seed``: the SDK refuses it for the Gemini API (Vertex only), so it is never sent;
  * ``metadata.progressPercent`` for progress (read if present);
  * prices: about $0.40/s for Veo 3.1, $0.15/s for the fast models (with audio);
  * whether filtered or failed operations are billed (we assume not).
"""

from __future__ import annotations

import base64
import re
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

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
from .http import body_trusted, error_message, provider_reason, retry_after_seconds
from .http import send as send_request

PROVIDER = "Google Veo"
API_VERSION = "v1beta"
KEY_HEADER = "x-goog-api-key"

_LANDSCAPE_720 = (1280, 720)
_PORTRAIT_720 = (720, 1280)
_LANDSCAPE_1080 = (1920, 1080)
_PORTRAIT_1080 = (1080, 1920)
MAX_SAMPLES = 4  # unconfirmed for the Gemini API (Vertex: 4)
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # inline request limit of the Gemini API
_OPERATION = re.compile(r"^(?:models/[A-Za-z0-9._-]+/)?operations/[A-Za-z0-9._-]+$")


def _spec(name: str, title: str, durations, sizes, per_second: str) -> ModelSpec:
    return ModelSpec(
        name=name,
        title=title,
        kinds=("text_to_video", "image_to_video"),
        durations=durations,
        sizes=sizes,
        max_variations=MAX_SAMPLES,
        cost_per_second=Decimal(per_second),
    )


@register
class VeoBackend(Backend):
    name = "veo"
    title = "Google Veo"
    needs_credentials = True
    default_base_url = "https://generativelanguage.googleapis.com"
    default_concurrency = 2
    models = (
        _spec(
            "veo-3.1-generate-preview",
            "Veo 3.1",
            (4.0, 6.0, 8.0),
            (_LANDSCAPE_720, _PORTRAIT_720, _LANDSCAPE_1080, _PORTRAIT_1080),
            "0.40",
        ),
        _spec(
            "veo-3.1-fast-generate-preview",
            "Veo 3.1 Fast",
            (4.0, 6.0, 8.0),
            (_LANDSCAPE_720, _PORTRAIT_720, _LANDSCAPE_1080, _PORTRAIT_1080),
            "0.15",
        ),
        _spec("veo-3.0-fast-generate-001", "Veo 3 Fast", (8.0,), (_LANDSCAPE_720, _PORTRAIT_720, _LANDSCAPE_1080), "0.15"),
    )

    # -- checks ------------------------------------------------------------------------------
    def validate(self, req: GenerationRequest) -> None:
        super().validate(req)
        spec = self.model_spec(req.model)
        if req.variations < 1 or req.variations > 64:
            raise BackendValidationError("Ask for 1 to 64 variations.", field="variations")
        if _resolution(req) == "1080p" and spec.name.startswith("veo-3.1") and abs((req.duration_seconds or 0) - 8) > 1e-6:
            raise BackendValidationError(f"{spec.name} makes 1080p clips only at 8 seconds.", field="duration_frames")
        if req.kind == "image_to_video" and req.input_image is not None:
            ctype = req.input_image.content_type or _guess_image_type(req.input_image.path)
            if ctype not in ("image/png", "image/jpeg", "image/webp"):
                raise BackendValidationError("Veo takes PNG, JPEG or WebP start images.", field="input_image")
        person = req.params.get("person_generation")
        if person is not None and person not in ("allow_all", "allow_adult", "dont_allow"):
            raise BackendValidationError("person_generation is allow_all, allow_adult or dont_allow.", field="params")

    # -- HTTP ------------------------------------------------------------------------------
    def _root(self, ctx: BackendContext) -> str:
        root = (ctx.base_url or self.default_base_url).rstrip("/")
        if root.endswith("/" + API_VERSION):
            root = root[: -len(API_VERSION) - 1]
        return root

    def _call(self, ctx: BackendContext, method: str, path: str, *, lost_on_404: bool = False, **kwargs: Any):
        import requests

        if not ctx.api_key:
            raise AuthError("Google Veo needs a Gemini API key: add one in the project's provider settings.")
        headers = {KEY_HEADER: ctx.api_key, "Accept": "application/json"}
        kwargs.setdefault("timeout", ctx.timeout)
        try:
            response = send_request(ctx, method, f"{self._root(ctx)}/{API_VERSION}/{path}", provider=PROVIDER, headers=headers, **kwargs)
        except requests.RequestException as exc:
            raise TransientError(f"Google Veo: could not reach the service ({exc.__class__.__name__}).") from None
        if response.status_code >= 400:
            try:
                raise_google_error(response, lost_on_404=lost_on_404)
            except ProviderError as exc:
                raise _scrubbed(exc, ctx.api_key) from None
        return response

    # -- the conversation ------------------------------------------------------------------
    def build_body(self, req: GenerationRequest) -> dict[str, Any]:
        spec = self.model_spec(req.model)
        instance: dict[str, Any] = {"prompt": req.prompt}
        if req.kind == "image_to_video" and req.input_image is not None:
            path = Path(req.input_image.path)
            try:
                data = path.read_bytes()
            except OSError:
                raise ProviderError("The start image could not be read from local storage.") from None
            if len(data) > MAX_IMAGE_BYTES:
                raise ProviderError("The start image is over 20 MB; Veo takes inline images up to 20 MB.")
            instance["image"] = {
                "bytesBase64Encoded": base64.b64encode(data).decode("ascii"),
                "mimeType": req.input_image.content_type or _guess_image_type(path),
            }
        parameters: dict[str, Any] = {
            "aspectRatio": "16:9" if req.width >= req.height else "9:16",
            "resolution": _resolution(req),
            "durationSeconds": round(req.duration_seconds or 8),
            "sampleCount": max(1, min(req.variations, spec.max_variations)),
        }
        if req.negative_prompt:
            parameters["negativePrompt"] = req.negative_prompt
        if req.params.get("person_generation"):
            parameters["personGeneration"] = req.params["person_generation"]
        # seed: not sent - the Gemini API refuses it for Veo (Vertex AI only). Unconfirmed for 3.1.
        return {"instances": [instance], "parameters": parameters}

    def submit(self, req: GenerationRequest, ctx: BackendContext) -> SubmitResult:
        self.validate(req)
        spec = self.model_spec(req.model)
        response = self._call(ctx, "POST", f"models/{spec.name}:predictLongRunning", json=self.build_body(req))
        operation = _json(response)
        name = str(operation.get("name") or "")
        if not _OPERATION.match(name):
            raise ProviderError("Google Veo accepted the request but returned no operation name.")
        return SubmitResult(provider_job_id=name, state="queued", poll_after=10.0, raw={"name": name})

    def poll(self, provider_job_id: str, ctx: BackendContext) -> PollResult:
        if not _OPERATION.match(provider_job_id or ""):
            raise JobLost(f"Google Veo: {provider_job_id!r} is not an operation name.")
        response = self._call(ctx, "GET", provider_job_id, lost_on_404=True)
        return self.result_from_operation(_json(response), ctx)

    def result_from_operation(self, operation: dict[str, Any], ctx: BackendContext) -> PollResult:
        name = str(operation.get("name") or "")
        raw: dict[str, Any] = {"name": name, "done": bool(operation.get("done"))}
        if not operation.get("done"):
            progress = (operation.get("metadata") or {}).get("progressPercent")  # unconfirmed field
            progress = int(progress) if isinstance(progress, (int, float)) else None
            return PollResult(state="running", progress=progress, poll_after=10.0, raw=raw)
        error = operation.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else str(error)
            raw["error"] = error
            message = provider_reason(ctx, str(message or "")) or "no reason given"
            return PollResult(state="failed", error=f"Google Veo could not make this clip: {message}", billable=False, raw=raw)
        response = operation.get("response") or {}
        result = response.get("generateVideoResponse") or response
        samples = result.get("generatedSamples") or result.get("generated_samples") or []
        filtered = int(result.get("raiMediaFilteredCount") or 0)
        reasons = [str(r) for r in (result.get("raiMediaFilteredReasons") or []) if r]
        raw.update(samples=len(samples), filtered=filtered, reasons=reasons)
        op_id = name.rsplit("/", 1)[-1] or "veo"
        outputs: list[Output] = []
        for index, sample in enumerate(samples):
            video = (sample or {}).get("video") or {}
            filename = f"veo-{op_id}-{index + 1}.mp4"
            if video.get("uri"):
                outputs.append(Output(url=video["uri"], content_type=video.get("mimeType") or "video/mp4", filename=filename, meta={"auth": KEY_HEADER}))
            elif video.get("encodedVideo") or video.get("videoBytes"):
                outputs.append(self._inline_output(video, filename, ctx))
        reason_text = provider_reason(ctx, "; ".join(reasons)) or "no reason given"
        if not outputs:
            if filtered:
                return PollResult(
                    state="failed",
                    error=f"Google's safety filters removed every video ({filtered}): {reason_text}. Change the prompt or image.",
                    billable=False,  # unconfirmed: filtered videos do not seem to be charged
                    raw=raw,
                )
            return PollResult(state="failed", error="Google Veo finished without a video.", billable=False, raw=raw)
        for _ in range(filtered):
            outputs.append(Output(filtered=True, meta={"reason": reason_text}))
        return PollResult(state="succeeded", progress=100, outputs=outputs, raw=raw)

    @staticmethod
    def _inline_output(video: dict[str, Any], filename: str, ctx: BackendContext) -> Output:
        import tempfile

        folder = Path(ctx.workdir) if ctx.workdir else Path(tempfile.mkdtemp(prefix="veo-"))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / filename
        path.write_bytes(base64.b64decode(video.get("encodedVideo") or video.get("videoBytes")))
        return Output(path=path, content_type=video.get("encoding") or video.get("mimeType") or "video/mp4", filename=filename)

    def cancel(self, provider_job_id: str, ctx: BackendContext) -> None:
        # The Gemini API documents no cancel for Veo operations; the clip finishes and is billed.
        return None

    def download(self, output: Output, ctx: BackendContext, dest: Path) -> Path:
        if output.path is not None or not output.url:
            return super().download(output, ctx, dest)
        return self._stream(ctx, output.url, dest, dict(output.headers))

    def _trusted(self, url: str, ctx: BackendContext) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        root_host = (urlsplit(self._root(ctx)).hostname or "").lower()
        return bool(host) and (host == root_host or host == "googleapis.com" or host.endswith(".googleapis.com"))

    def _stream(self, ctx: BackendContext, url: str, dest: Path, headers: dict[str, str]) -> Path:
        """GET ``url`` into ``dest``, with the key only while on a trusted host (redirects are
        followed by hand, so the key never travels to a storage host it was not meant for)."""
        import requests

        for _hop in range(6):
            send = dict(headers)
            if ctx.api_key and self._trusted(url, ctx):
                send[KEY_HEADER] = ctx.api_key
            try:
                with send_request(
                    ctx, "GET", url, provider=PROVIDER, trusted=False, headers=send, stream=True, allow_redirects=False,
                    timeout=max(ctx.timeout, 60),
                ) as response:
                    if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("location"):
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code in (403, 404, 410):
                        raise ProviderError(
                            f"The Google Veo video link has expired or is gone (HTTP {response.status_code}); generate again.",
                            status=response.status_code,
                        )
                    if response.status_code >= 400:
                        try:
                            raise_google_error(response, lost_on_404=False)
                        except ProviderError as exc:
                            raise _scrubbed(exc, ctx.api_key) from None
                    with open(dest, "wb") as fh:
                        fh.writelines(response.iter_content(1024 * 1024))
                    return dest
            except requests.RequestException as exc:
                raise TransientError(f"Google Veo: the download failed ({exc.__class__.__name__}).") from None
        raise ProviderError("Google Veo: too many redirects while downloading the video.")


# -- errors ------------------------------------------------------------------------------------


def raise_google_error(response, *, lost_on_404: bool) -> None:
    """Map a Google API error ({"error": {code, message, status, details}}) to a ProviderError."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    err = body.get("error") if isinstance(body, dict) else None
    err = err if isinstance(err, dict) else {}
    message = str((err.get("message") if body_trusted(response) else "") or error_message(response))
    details = err.get("details") if isinstance(err.get("details"), list) else []
    reasons = {str(d.get("reason") or "") for d in details if isinstance(d, dict)}
    if status == 429 or err.get("status") == "RESOURCE_EXHAUSTED":
        violations = [
            v for d in details if isinstance(d, dict) and "QuotaFailure" in str(d.get("@type", "")) for v in d.get("violations") or []
        ]
        daily = any("perday" in (str(v.get("quotaId", "")) + str(v.get("quotaMetric", ""))).lower().replace("_", "") for v in violations)
        no_access = bool(re.search(r"limit:\s*0\b", message)) or any(str(v.get("quotaValue", "")) == "0" for v in violations)
        if daily or no_access:
            raise QuotaExhausted(f"Google Veo: the API key's quota is used up for now ({message}).", status=status)
        retry = None
        for d in details:
            if isinstance(d, dict) and "RetryInfo" in str(d.get("@type", "")):
                retry = _duration_seconds(d.get("retryDelay"))
        if retry is None:
            retry = retry_after_seconds(response.headers)
        raise RateLimited(f"Google Veo: rate limited ({message}).", retry_after=retry, status=status)
    if status == 400 and ("API_KEY_INVALID" in reasons or "API key not valid" in message):
        raise AuthError(f"Google Veo refused the API key: {message}", status=status)
    if status in (401, 403):
        raise AuthError(f"Google Veo refused the API key ({status}): {message}", status=status)
    if status == 404 and lost_on_404:
        raise JobLost(f"Google Veo no longer knows this operation: {message}", status=status)
    if status >= 500:
        raise TransientError(f"Google Veo: {message}", retry_after=retry_after_seconds(response.headers), status=status)
    raise ProviderError(f"Google Veo: {message}", status=status)


def _duration_seconds(value: Any) -> float | None:
    """Protobuf Duration JSON ("7s", "1.5s") to seconds."""
    if isinstance(value, str) and value.endswith("s"):
        try:
            return float(value[:-1])
        except ValueError:
            return None
    return None


# -- small helpers -----------------------------------------------------------------------------


def _resolution(req: GenerationRequest) -> str:
    return "1080p" if min(req.width, req.height) >= 1080 else "720p"


def _guess_image_type(path) -> str:
    suffix = Path(str(path)).suffix.lower()
    return {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}.get(suffix, "")


def _json(response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise ProviderError("Google Veo answered with something that is not JSON.") from None
    if not isinstance(data, dict):
        raise ProviderError("Google Veo answered with an unexpected JSON shape.")
    return data


def _scrubbed(exc: ProviderError, secret: str) -> ProviderError:
    if secret and secret in exc.message:
        exc.message = exc.message.replace(secret, "***")
        exc.args = (exc.message,)
    return exc
