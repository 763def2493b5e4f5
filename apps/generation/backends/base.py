"""The one interface every generation backend implements.

A backend is stateless: everything it needs comes in a ``GenerationRequest`` (what to make)
and a ``BackendContext`` (credentials, base URL, HTTP session, a scratch folder). The job
machinery in ``apps.generation.services`` / ``tasks`` drives it:

    validate(req)            before anything is reserved or sent (raise BackendValidationError)
    estimate_cost(req)       the amount reserved from the budget
    submit(req, ctx)         -> SubmitResult (provider id). Called at most once per job.
    poll(provider_id, ctx)   -> PollResult (state, progress, outputs, error)
    cancel(provider_id, ctx)
    download(output, ctx, dest)   copy one output into a local file (we store it ourselves)
    parse_webhook(headers, body, ctx) -> WebhookEvent  (signature checked)

Local backends do their work in ``submit`` and return a finished result at once.
Provider errors are raised as ``ProviderError`` subclasses so the job machinery can tell
"retry later" from "fail now".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

KINDS = (
    "text_to_video",
    "image_to_video",
    "video_extend",
    "text_to_image",
    "upscale",
    "interpolate",
    "speech",
    "sound_effect",
    "music",
)
VIDEO_KINDS = {"text_to_video", "image_to_video", "video_extend", "upscale", "interpolate"}
AUDIO_KINDS = {"speech", "sound_effect", "music"}


# --- errors --------------------------------------------------------------------------------


class BackendValidationError(Exception):
    """The request is not something this backend/model can do (HTTP 400 before any call)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ProviderError(Exception):
    """A call to the provider failed.

    ``retryable``: try again later (network, 5xx, rate limit). ``billable``: the provider
    charges for this failure (so the reservation is settled, not released).
    """

    retryable = False

    def __init__(self, message: str, *, retry_after: float | None = None, billable: bool = False, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.billable = billable
        self.status = status


class TransientError(ProviderError):
    """Network trouble or a 5xx: retry with backoff."""

    retryable = True


class RateLimited(ProviderError):
    """HTTP 429 that is a rate limit: retry after ``retry_after`` seconds."""

    retryable = True


class QuotaExhausted(ProviderError):
    """Out of credits / quota: never retry; the job fails with this message."""


class AuthError(ProviderError):
    """The API key is missing or refused."""


class JobLost(ProviderError):
    """The provider no longer knows this job (e.g. ComfyUI restarted, 404 on poll)."""


# --- data ----------------------------------------------------------------------------------


@dataclass
class InputFile:
    """A media file given to a backend: a local path (always) and, when the file is in
    object storage, a URL the provider can fetch.

    ``placeholder``: planning only (estimate, the checks before a job is created): ``path``
    is not a file on this machine (the input is in object storage, or is a frame still to be
    taken from a video). The planner has checked that the input exists in storage; backends
    skip their file checks for it and make them again when the job runs."""

    path: Path
    content_type: str = ""
    url: str | None = None
    tag: str | None = None  # for reference images: the @tag
    placeholder: bool = False


@dataclass
class GenerationRequest:
    kind: str
    model: str
    prompt: str = ""
    negative_prompt: str = ""
    seed: int | None = None
    duration_frames: int | None = None
    fps: Fraction = Fraction(24)
    width: int = 1280
    height: int = 720
    variations: int = 1
    input_image: InputFile | None = None
    input_video: InputFile | None = None
    reference_images: list[InputFile] = field(default_factory=list)
    text: str = ""  # speech / sound effect / music text
    voice: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    webhook_url: str | None = None
    idempotency_key: str = ""

    @property
    def duration_seconds(self) -> float | None:
        if self.duration_frames is None:
            return None
        return float(Fraction(self.duration_frames) / self.fps)

    @property
    def aspect_ratio(self) -> str:
        from math import gcd

        g = gcd(self.width, self.height) or 1
        return f"{self.width // g}:{self.height // g}"


@dataclass
class BackendContext:
    api_key: str = ""
    base_url: str = ""
    config: dict[str, Any] = field(default_factory=dict)  # per-project non-secret settings
    workdir: Path | None = None  # scratch folder for this job (local backends write here)
    timeout: float = 30.0
    webhook_secret: str = ""
    # Local backends doing their work inside ``submit`` call this with the fraction done
    # (0.0-1.0) as they go; the job machinery turns it into job progress (throttled).
    progress: Callable[[float], None] | None = None
    # True when ``base_url`` (or a ComfyUI ``host`` in ``config``) was typed by a project
    # member rather than set by the provider's default or the operator: error bodies from it
    # are then never shown, only the HTTP status (see backends.http).
    address_from_project: bool = False

    def report_progress(self, fraction: float) -> None:
        if self.progress is not None:
            self.progress(fraction)

    def session(self):
        """A requests Session through the guarded client (apps.core.netguard)."""
        from apps.core.netguard import session

        return session()


@dataclass
class Output:
    """One result of a job: a URL to download (with headers) or a local file."""

    url: str | None = None
    path: Path | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = ""
    filename: str = ""
    filtered: bool = False  # removed by the provider's safety filter
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class SubmitResult:
    provider_job_id: str
    state: str = "queued"  # ours: queued | running | succeeded | failed
    poll_after: float | None = None  # seconds
    outputs: list[Output] = field(default_factory=list)  # when finished at once
    error: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class PollResult:
    state: str  # queued | running | succeeded | failed | cancelled
    progress: int | None = None  # 0..100
    outputs: list[Output] = field(default_factory=list)
    error: str = ""
    billable: bool = True  # for failures: does the provider charge? (False → release budget)
    poll_after: float | None = None
    actual_cost: Decimal | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class WebhookEvent:
    delivery_id: str  # the same on retries of one delivery
    provider_job_id: str
    result: PollResult | None  # None: "go poll"


@dataclass
class ModelSpec:
    name: str
    kinds: tuple[str, ...]
    title: str = ""
    durations: tuple[float, ...] | None = None  # allowed seconds (None: any in [min, max])
    min_seconds: float = 1.0
    max_seconds: float = 20.0
    sizes: tuple[tuple[int, int], ...] | None = None  # allowed (w, h); None: any
    max_variations: int = 1  # outputs per provider call
    cost_per_second: Decimal = Decimal("0")
    cost_per_output: Decimal = Decimal("0")
    cost_per_1k_chars: Decimal = Decimal("0")


class Backend:
    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    needs_credentials: ClassVar[bool] = True
    accepts_references: ClassVar[bool] = False
    sends_webhooks: ClassVar[bool] = False
    is_local: ClassVar[bool] = False
    default_base_url: ClassVar[str] = ""
    # Simultaneous jobs per credential that the provider tolerates (shared by all workers).
    default_concurrency: ClassVar[int] = 4
    models: ClassVar[tuple[ModelSpec, ...]] = ()
    # True when one call making n outputs uses seed, seed + 1, ... seed + n - 1 (one each);
    # False when the outputs of a call share the call's seed (most providers).
    seeds_per_output: ClassVar[bool] = False

    # -- description -----------------------------------------------------------------
    @property
    def kinds(self) -> list[str]:
        seen: list[str] = []
        for m in self.models:
            for k in m.kinds:
                if k not in seen:
                    seen.append(k)
        return seen

    def available(self) -> tuple[bool, str]:
        """(usable on this machine, reason if not) — for local tools like espeak-ng."""
        return True, ""

    def model_spec(self, model: str | None) -> ModelSpec:
        if not self.models:
            raise BackendValidationError(f"{self.title or self.name} has no models.")
        if not model:
            return self.models[0]
        for m in self.models:
            if m.name == model:
                return m
        names = ", ".join(m.name for m in self.models)
        raise BackendValidationError(f"{self.title} has no model {model!r}; use one of {names}.", field="model")

    def default_model(self, kind: str) -> str:
        for m in self.models:
            if kind in m.kinds:
                return m.name
        raise BackendValidationError(f"{self.title} cannot do {kind.replace('_', ' ')}.", field="kind")

    def voices(self, ctx: BackendContext | None = None) -> tuple[list[dict[str, str]], bool]:
        """The voices a speech backend offers: ``([{id, name, language?}], complete)``.
        ``complete``: the list is every voice it accepts (an unknown ``voice`` is refused
        before the job is made); otherwise it is a list to choose from and the provider
        decides. Backends that do not speak return ``([], False)``."""
        return [], False

    def test_connection(self, ctx: BackendContext) -> dict[str, Any]:
        """A cheap call that shows whether the stored settings work: ``{ok, detail, info}``.
        Adapters without such a call say so."""
        return {
            "ok": True,
            "detail": f"{self.title or self.name} has no cheap call to test the connection with; it is tested by the first job.",
            "info": {"tested": False},
        }

    def config_errors(self, config: dict[str, Any]) -> dict[str, str]:
        """Settings that cannot be right, by config key (checked when they are saved)."""
        return {}

    def config_problem(self, config: dict[str, Any] | None, base_url: str = "") -> str:
        """Why the project's settings (``config``; ``base_url`` when the deployment overrides
        the provider's address) are not enough to run this backend ("" when they are)."""
        return ""

    # -- checks and costs --------------------------------------------------------------
    def validate(self, req: GenerationRequest) -> None:
        """Generic checks from the model spec; adapters extend with their own."""
        spec = self.model_spec(req.model)
        if req.kind not in spec.kinds:
            raise BackendValidationError(
                f"{self.title} model {spec.name} cannot do {req.kind.replace('_', ' ')} (it does {', '.join(spec.kinds)}).",
                field="kind",
            )
        if req.kind == "image_to_video" and req.input_image is None:
            raise BackendValidationError("Image to video needs an input image.", field="input_image")
        if req.kind in ("video_extend", "upscale", "interpolate") and req.input_video is None:
            raise BackendValidationError(f"{req.kind.replace('_', ' ').capitalize()} needs an input video (parent take).", field="parent_take")
        if req.kind in VIDEO_KINDS and req.kind not in ("upscale", "interpolate"):
            seconds = req.duration_seconds
            if seconds is None:
                raise BackendValidationError("Say how long the clip should be (duration_frames).", field="duration_frames")
            if spec.durations is not None:
                if not any(abs(seconds - d) < 1e-6 for d in spec.durations):
                    allowed = ", ".join(f"{d:g}" for d in spec.durations)
                    raise BackendValidationError(
                        f"{spec.name} makes clips of {allowed} seconds; {seconds:.3g} s was asked.", field="duration_frames"
                    )
            elif not (spec.min_seconds - 1e-6 <= seconds <= spec.max_seconds + 1e-6):
                raise BackendValidationError(
                    f"{spec.name} makes clips of {spec.min_seconds:g} to {spec.max_seconds:g} seconds; {seconds:.3g} s was asked.",
                    field="duration_frames",
                )
            if spec.sizes is not None and (req.width, req.height) not in spec.sizes:
                allowed = ", ".join(f"{w}×{h}" for w, h in spec.sizes)
                raise BackendValidationError(f"{spec.name} makes {allowed}; {req.width}×{req.height} was asked.", field="size")
        if req.kind in AUDIO_KINDS and not (req.text or req.prompt):
            raise BackendValidationError("Give the text to speak or describe the sound.", field="prompt")
        if req.kind not in AUDIO_KINDS and req.kind not in ("upscale", "interpolate") and not req.prompt and req.input_image is None:
            raise BackendValidationError("Write a prompt.", field="prompt")

    def estimate_cost(self, req: GenerationRequest) -> Decimal:
        spec = self.model_spec(req.model)
        seconds = Decimal(str(req.duration_seconds or 0))
        chars = Decimal(len(req.text or req.prompt or ""))
        per_call = spec.cost_per_second * seconds + spec.cost_per_output + spec.cost_per_1k_chars * chars / 1000
        return (per_call * max(1, req.variations)).quantize(Decimal("0.0001"))

    def calls_for(self, req: GenerationRequest) -> int:
        """Provider calls needed for ``req.variations`` outputs (the job machinery submits
        one job per call when a model makes fewer outputs per call than asked)."""
        spec = self.model_spec(req.model)
        return -(-max(1, req.variations) // max(1, spec.max_variations))

    # -- the provider conversation (adapters implement) --------------------------------
    def submit(self, req: GenerationRequest, ctx: BackendContext) -> SubmitResult:
        raise NotImplementedError

    def poll(self, provider_job_id: str, ctx: BackendContext) -> PollResult:
        raise NotImplementedError

    def cancel(self, provider_job_id: str, ctx: BackendContext) -> None:
        return None

    def download(self, output: Output, ctx: BackendContext, dest: Path) -> Path:
        """Copy one output to ``dest`` (streamed). Default: a local file is moved, a URL is
        fetched with the output's headers; an expired URL raises ProviderError."""
        import shutil

        if output.path is not None:
            shutil.copyfile(output.path, dest)
            return dest
        if not output.url:
            raise ProviderError("The provider returned no file for this output.")
        from .http import stream_to_file

        stream_to_file(ctx, output.url, dest, headers=output.headers)
        return dest

    def parse_webhook(self, headers: dict[str, str], body: bytes, ctx: BackendContext) -> WebhookEvent:
        raise ProviderError(f"{self.title} does not send webhooks.")
