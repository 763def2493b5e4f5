"""Planning a generation: every check ``generate`` makes before anything is reserved or sent,
with nothing written (``generation_plan``, ``generation_estimate``), and the backend context
a job's calls run with.

- Inputs (uploads, takes, reference images) are looked up in the storage layer (local folder
  or S3): a storage key is a name *in the storage*, never a path relative to the current
  directory. A video take as the input image gives one of its frames (``input_frame``).
- Variations spread over provider calls get consecutive seeds (``take_seeds``).
- A speech ``voice`` the backend does not have is refused when its voice list is complete.

``apps.generation.services`` re-exports what it always offered (``generation_plan``, ...).
"""

from __future__ import annotations

import math
import mimetypes
import secrets
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q

from apps.core.errors import Conflict, DomainError, ValidationError
from apps.media import storage
from apps.projects.access import Access

from . import ledger
from .backends.base import (
    AUDIO_KINDS,
    KINDS,
    VIDEO_KINDS,
    Backend,
    BackendContext,
    BackendValidationError,
    GenerationRequest,
    InputFile,
    ModelSpec,
)
from .credentials import CredentialUnreadable, ProjectCredential, credential_load
from .registry import all_backends, get_backend

MAX_VARIATIONS = 8
MAX_PROMPT_CHARS = 10_000
MAX_SEED = 2**31 - 1


def _q4(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.0001"))


# --- the context a backend's calls run with ----------------------------------------------------


def _workdir(job_id) -> Path:
    path = Path(tempfile.gettempdir()) / "montage-generation" / str(job_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _drop_workdir(job_id) -> None:
    shutil.rmtree(Path(tempfile.gettempdir()) / "montage-generation" / str(job_id), ignore_errors=True)


def backend_context(backend: Backend, cred: ProjectCredential, *, job=None) -> BackendContext:
    """What ``backend`` gets for the project's ``cred`` (and, for a job's calls, its scratch folder)."""
    urls = getattr(settings, "MONTAGE_BACKEND_URLS", {}) or {}
    base_url = urls.get(backend.name) or cred.config.get("base_url") or backend.default_base_url
    # An address a member typed (not the operator's, not the provider's): its error bodies are never shown.
    typed = not urls.get(backend.name) and bool(cred.config.get("base_url") or cred.config.get("host"))
    return BackendContext(
        address_from_project=typed,
        api_key=cred.api_key,
        base_url=str(base_url or "").rstrip("/"),
        config=dict(cred.config),
        workdir=_workdir(job.pk) if job is not None else None,
        webhook_secret=str(cred.config.get("webhook_secret") or getattr(settings, "MONTAGE_WEBHOOK_SECRET", "") or ""),
    )


# ============================================================================================
# Planning: every check, nothing written
# ============================================================================================


@dataclass
class Plan:
    backend: Backend
    spec: ModelSpec
    kind: str
    model: str
    request: GenerationRequest
    request_json: dict[str, Any]
    estimate: Decimal
    calls: list[dict[str, Any]]  # [{index, seed, variations}]
    parent_take: Any = None
    input_media: list[Any] = field(default_factory=list)


def _backend_or_400(name: str | None) -> Backend:
    name = (name or "").strip()
    if not name:
        raise ValidationError("Choose a backend to generate with.", fields={"backend": ["This field is required."]})
    backend = get_backend(name)
    if backend is None:
        names = ", ".join(sorted(b.name for b in all_backends())) or "none are installed"
        raise ValidationError(
            f"There is no backend called {name!r} (available: {names}).", fields={"backend": ["Unknown backend."]}
        )
    return backend


def backend_ready(backend: Backend, project) -> tuple[bool, str]:
    """(usable for this project now, why not) — the checks behind ``backend_unavailable``."""
    ok, reason = backend.available()
    if not ok:
        return False, f"{backend.title or backend.name} is not available on this server: {reason or 'it is not installed'}."
    try:
        cred = credential_load(project, backend.name)
    except CredentialUnreadable:
        return False, (
            f"The stored API key for {backend.title or backend.name} can no longer be read; "
            "a director or producer should enter it again in the project's settings."
        )
    problem = backend.config_problem(cred.config, backend_context(backend, cred).base_url)
    if problem:
        return False, problem
    if backend.needs_credentials:
        if not cred.api_key:
            return False, (
                f"{backend.title or backend.name} is not set up for this project: a director or producer "
                "adds its API key in the project's settings (Providers)."
            )
    return True, ""


def _uuid_or_400(value: Any, field_name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise ValidationError(f"{field_name} must be an id.", fields={field_name: ["Not a valid id."]}) from None


def _resolve_media(access: Access, value: Any, *, field_name: str):
    """An upload (the caller's own, complete), a take of this project (ready), or a media file of
    this project → (MediaFile, source description)."""
    from apps.media.models import MediaFile, Upload, UploadStatus
    from apps.production.models import Take, TakeStatus

    pk = _uuid_or_400(value, field_name)
    upload = (
        Upload.objects.select_related("media")
        .filter(pk=pk, owner_id=access.user.pk)
        .filter(Q(project__isnull=True) | Q(project=access.project))
        .first()
    )
    if upload is not None:
        if upload.status != UploadStatus.COMPLETE or upload.media is None:
            raise ValidationError(
                "This upload is not complete; send the file and complete the upload first.",
                fields={field_name: ["Upload not complete."]},
            )
        return upload.media, {"upload": str(upload.pk), "media": str(upload.media_id)}
    take = Take.objects.select_related("media").filter(pk=pk, shot__segment__project=access.project).first()
    if take is not None:
        if take.media is None or take.status != TakeStatus.READY:
            raise ValidationError(
                f"Take {take.number} is not ready yet (it is {take.status}); wait for it or choose another.",
                fields={field_name: ["Take not ready."]},
            )
        return take.media, {"take": str(take.pk), "media": str(take.media_id)}
    media = MediaFile.objects.filter(pk=pk, project=access.project).first()
    if media is not None:
        return media, {"media": str(media.pk)}
    raise ValidationError(
        f"There is no upload or take {value} in this project.", fields={field_name: ["Unknown upload or take."]}
    )


def _resolve_parent(access: Access, value: Any):
    from apps.production.models import Take, TakeStatus

    pk = _uuid_or_400(value, "parent_take")
    take = Take.objects.select_related("media", "shot").filter(pk=pk, shot__segment__project=access.project).first()
    if take is None:
        raise ValidationError("There is no such take in this project.", fields={"parent_take": ["Unknown take."]})
    if take.media is None or take.status != TakeStatus.READY:
        raise ValidationError(
            f"Take {take.number} is not ready yet (it is {take.status}); it cannot be extended or refined.",
            fields={"parent_take": ["Take not ready."]},
        )
    return take


def generation_fps(project) -> Fraction:
    """Providers make whole-number frame rates: 23.976 → 24, 29.97 → 30."""
    return Fraction(max(1, round(float(project.fps))))


def _request_frames(project_frames: int, project) -> int:
    """Project frames → frames at ``generation_fps`` (same duration)."""
    seconds = Fraction(project_frames) / project.fps
    return max(1, round(seconds * generation_fps(project)))


def _default_frames(shot_frames: int, project, spec: ModelSpec) -> int:
    """The shot's length, snapped to what the model makes (the shortest allowed clip that
    covers the shot, else the longest); at ``generation_fps``."""
    fps = generation_fps(project)
    seconds = float(Fraction(shot_frames) / project.fps)
    if spec.durations:
        allowed = sorted(spec.durations)
        chosen = next((d for d in allowed if d + 1e-6 >= seconds), allowed[-1])
        return max(1, round(Fraction(str(chosen)) * fps))
    seconds = min(max(seconds, spec.min_seconds), spec.max_seconds)
    frames = round(Fraction(str(seconds)) * fps)
    if frames / fps > spec.max_seconds + 1e-9:
        frames -= 1
    if frames / fps < spec.min_seconds - 1e-9:
        frames += 1
    return max(1, frames)


def _pick_size(spec: ModelSpec, project, params: dict[str, Any]) -> tuple[int, int]:
    size = params.get("size")
    if isinstance(size, str) and "x" in size.lower():
        try:
            w, h = (int(v) for v in size.lower().split("x", 1))
            return w, h
        except ValueError:
            raise ValidationError("size must look like 1280x720.", fields={"params": ["Bad size."]}) from None
    if params.get("width") and params.get("height"):
        try:
            return int(params["width"]), int(params["height"])
        except (TypeError, ValueError):
            raise ValidationError("width and height must be whole numbers.", fields={"params": ["Bad size."]}) from None
    if not spec.sizes:
        return project.width, project.height
    target = math.log(project.width / project.height)
    return min(spec.sizes, key=lambda wh: (round(abs(math.log(wh[0] / wh[1]) - target), 3), -wh[0] * wh[1]))


def _infer_kind(backend: Backend, kind: str | None, *, image: bool, parent: bool) -> str:
    if kind:
        kind = str(kind).strip()
        if kind not in KINDS:
            raise ValidationError(
                f"Unknown kind {kind!r}; use one of {', '.join(KINDS)}.", fields={"kind": ["Unknown kind."]}
            )
        return kind
    if parent:
        inferred = "video_extend"
    elif image:
        inferred = "image_to_video"
    else:
        inferred = "text_to_video"
    kinds = backend.kinds
    if inferred not in kinds and len(kinds) == 1:
        return kinds[0]  # e.g. a speech-only or upscale-only backend
    return inferred


def _bve_to_400(exc: BackendValidationError) -> ValidationError:
    return ValidationError(exc.message, fields={exc.field or "non_field_errors": [exc.message]})


INPUT_FRAMES = ("first", "last")


def _input_frame_or_400(value: Any) -> str | None:
    if value in (None, ""):
        return None
    frame = str(value).strip().lower()
    if frame not in INPUT_FRAMES:
        raise ValidationError(
            f"input_frame is 'first' or 'last' ({value!r} was given).", fields={"input_frame": ["Use first or last."]}
        )
    return frame


def _plan_input(media, *, field: str, what: str, frame: str | None = None, tag: str | None = None) -> InputFile:
    """An input as the backends' checks see it while planning. Its existence is checked in
    the storage (local folder or S3) - a storage key is a name *in the storage*, never a path
    relative to the current directory. On a local filesystem storage the backend gets the
    real file to look into; otherwise (S3, or a frame still to be taken from a video take) a
    placeholder that the backends' file checks skip (they run again when the job runs)."""
    key = media.storage_key or ""
    if not key or not storage.exists(key):
        message = f"The {what} file is missing; choose it again."
        raise ValidationError(message, fields={field: [message]})
    if frame is not None:
        return InputFile(path=Path(key), content_type="image/png", tag=tag, placeholder=True)
    content_type = media.content_type or mimetypes.guess_type(media.original_name or key)[0] or ""
    local = None if storage.use_s3() else storage.local_path(key)
    if local:
        return InputFile(path=Path(local), content_type=content_type, tag=tag)
    return InputFile(path=Path(key), content_type=content_type, tag=tag, placeholder=True)


def _check_voice(backend: Backend, project, voice: str) -> None:
    """An unknown voice is a 400 (``voice``) when the backend knows every voice it accepts."""
    try:
        cred = credential_load(project, backend.name)
    except CredentialUnreadable:
        return
    voices, complete = backend.voices(backend_context(backend, cred))
    if complete and voice not in {v["id"] for v in voices}:
        names = ", ".join(f"{v['name']} ({v['id']})" for v in voices[:8]) or "none"
        message = f"{backend.title or backend.name} has no voice {voice!r}; choose one of {names}."
        raise ValidationError(message, fields={"voice": [message]})


def _split_calls(variations: int, per_call: int, seed: int, calls: int) -> list[dict[str, Any]]:
    """Variations spread over provider calls. Variation v (counted over the whole job) is
    made with ``seed + v``: a call starts at the seed of its first variation, so that a take
    made alone with its recorded seed comes out the same (see ``take_seeds``)."""
    out, left, first = [], variations, 0
    for i in range(calls):
        n = max(1, min(per_call, left) if i < calls - 1 else left)
        out.append({"index": i, "seed": (seed + first) % (MAX_SEED + 1), "variations": n})
        left -= n
        first += n
    return out


def take_seeds(call_seed: int | None, count: int, *, per_output: bool) -> list[int | None]:
    """The seed that makes each of a call's ``count`` outputs: ``call_seed + j`` on backends
    that seed every output themselves (the local ones), else the call's seed for all (a
    provider making several outputs from one seed)."""
    if call_seed is None:
        return [None] * count
    if per_output:
        return [(int(call_seed) + j) % (MAX_SEED + 1) for j in range(count)]
    return [int(call_seed)] * count


def generation_plan(
    *,
    access: Access,
    shot,
    backend: str,
    model: str | None = None,
    prompt: str | None = None,
    negative_prompt: str | None = None,
    seed: int | None = None,
    duration_frames: int | None = None,
    input_image: str | None = None,
    references: list[str] | None = None,
    parent_take: str | None = None,
    variations: int = 1,
    params: dict[str, Any] | None = None,
    kind: str | None = None,
    input_frame: str | None = None,
) -> Plan:
    """Every check ``generate`` makes, in order, with nothing written and nothing sent."""
    from apps.production.models import SegmentStatus

    from .prompts import expand_prompt

    access.require_segment_editor(shot.segment, action="generate takes for this shot")
    if shot.segment.status == SegmentStatus.LOCKED:
        raise Conflict("This segment is locked by the director.", code="segment_locked")
    project = access.project
    chosen = _backend_or_400(backend)
    ok, reason = backend_ready(chosen, project)
    if not ok:
        raise DomainError(reason, code="backend_unavailable")

    try:
        variations = int(variations if variations is not None else 1)
    except (TypeError, ValueError):
        raise ValidationError("variations must be a whole number from 1 to 8.", fields={"variations": ["Not a number."]}) from None
    if not 1 <= variations <= MAX_VARIATIONS:
        raise ValidationError(
            f"Ask for 1 to {MAX_VARIATIONS} variations ({variations} was asked).", fields={"variations": ["Out of range."]}
        )
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValidationError("params must be an object.", fields={"params": ["Must be a JSON object."]})
    if seed is None:
        seed = secrets.randbelow(MAX_SEED)
    else:
        try:
            seed = int(seed)
        except (TypeError, ValueError):
            raise ValidationError("seed must be a whole number.", fields={"seed": ["Not a number."]}) from None
        if not 0 <= seed <= MAX_SEED:
            raise ValidationError(f"seed must be between 0 and {MAX_SEED}.", fields={"seed": ["Out of range."]})

    parent = _resolve_parent(access, parent_take) if parent_take else None
    image_media = image_source = None
    frame = _input_frame_or_400(input_frame)
    if input_image:
        image_media, image_source = _resolve_media(access, input_image, field_name="input_image")
        if image_media.kind == "audio":
            raise ValidationError(
                "That is a sound, not a picture; choose an image, or a video take to use one of its frames.",
                fields={"input_image": ["Not a picture or a video."]},
            )
        # A video (a take) as the input image: one of its frames, the first unless told.
        frame = (frame or "first") if image_media.kind == "video" else None
    elif frame is not None:
        raise ValidationError(
            "input_frame says which frame of the input take to use; choose an input take as well.",
            fields={"input_frame": ["Needs input_image."]},
        )
    kind = _infer_kind(chosen, kind, image=image_media is not None, parent=parent is not None)

    try:
        model_name = chosen.model_spec(model).name if model else chosen.default_model(kind)
        spec = chosen.model_spec(model_name)
    except BackendValidationError as exc:
        raise _bve_to_400(exc) from None

    # Duration: explicit values are in project frames and checked strictly; the default is
    # the shot's length snapped to what the model makes.
    request_frames: int | None = None
    project_frames: int | None = None
    if duration_frames is not None:
        try:
            project_frames = int(duration_frames)
        except (TypeError, ValueError):
            raise ValidationError("duration_frames must be a whole number of frames.", fields={"duration_frames": ["Not a number."]}) from None
        if project_frames < 1:
            raise ValidationError("duration_frames must be at least 1.", fields={"duration_frames": ["Out of range."]})
        request_frames = _request_frames(project_frames, project)
    elif kind in VIDEO_KINDS and kind not in ("upscale", "interpolate"):
        request_frames = _default_frames(shot.duration_frames, project, spec)
    elif kind in ("sound_effect", "music"):
        request_frames = _request_frames(shot.duration_frames, project)
    width, height = _pick_size(spec, project, params)

    text = shot.prompt if prompt is None else str(prompt)
    if len(text) > MAX_PROMPT_CHARS:
        raise ValidationError(f"The prompt is at most {MAX_PROMPT_CHARS:,} characters.", fields={"prompt": ["Too long."]})
    negative = shot.negative_prompt if negative_prompt is None else str(negative_prompt)
    if references is None:
        references = ["@" + r.tag for r in shot.references.all()]
    audio = kind in AUDIO_KINDS
    expanded = expand_prompt(
        project=project, prompt=text, references=references, audio=audio, with_images=bool(chosen.accepts_references)
    )

    video_input = parent is not None and kind in ("video_extend", "upscale", "interpolate")

    req = GenerationRequest(
        kind=kind,
        model=model_name,
        prompt=expanded.prompt,
        negative_prompt=negative or "",
        seed=seed,
        duration_frames=request_frames,
        fps=generation_fps(project),
        width=width,
        height=height,
        variations=variations,
        input_image=_plan_input(image_media, field="input_image", what="input image", frame=frame) if image_media is not None else None,
        input_video=_plan_input(parent.media, field="parent_take", what="input video") if video_input else None,
        reference_images=[
            _plan_input(m, field="references", what=f"reference image for @{tag}", tag=tag) for tag, m in expanded.reference_media
        ],
        text=expanded.prompt if audio else "",
        voice=str(params.get("voice") or ""),
        params=params,
        idempotency_key="plan",
    )
    try:
        chosen.validate(req)
    except BackendValidationError as exc:
        raise _bve_to_400(exc) from None
    if kind == "speech" and req.voice:
        _check_voice(chosen, project, req.voice)
    try:
        estimate = _q4(chosen.estimate_cost(req))
        calls = max(1, int(chosen.calls_for(req)))
    except BackendValidationError as exc:
        raise _bve_to_400(exc) from None
    per_call = max(1, -(-variations // calls))
    call_plan = _split_calls(variations, per_call, seed, calls)

    input_media = []
    if image_media is not None:
        input_media.append(image_media)
    if req.input_video is not None:
        input_media.append(parent.media)
    request_json = {
        "prompt": expanded.prompt,
        "original_prompt": expanded.original,
        "negative_prompt": negative or "",
        "seed": seed,
        "duration_frames": project_frames if project_frames is not None else (shot.duration_frames if request_frames else None),
        "request_frames": request_frames,
        "fps": f"{req.fps.numerator}/{req.fps.denominator}",
        "duration_seconds": req.duration_seconds,
        "width": width,
        "height": height,
        "text": req.text,
        "voice": req.voice,
        "params": params,
        "input_image": image_source | {"frame": frame} if image_media is not None else None,
        "input_frame": frame,
        "input_video": {"take": str(parent.pk), "media": str(parent.media_id)} if req.input_video is not None else None,
        "parent_take": str(parent.pk) if parent is not None else None,
        "references": ["@" + t for t in expanded.tags],
        "reference_images": [{"tag": tag, "media": str(m.pk)} for tag, m in expanded.reference_media],
        "style_applied": expanded.style_applied,
        "variations": variations,
    }
    return Plan(
        backend=chosen, spec=spec, kind=kind, model=model_name, request=req, request_json=request_json,
        estimate=estimate, calls=call_plan, parent_take=parent, input_media=input_media,
    )


def generation_estimate(**kwargs: Any) -> dict[str, Any]:
    """What ``generate`` would reserve, for the UI: nothing is created."""
    plan = generation_plan(**kwargs)
    access: Access = kwargs["access"]
    held, spent = ledger.totals(access.project)
    remaining = Decimal(access.project.budget_amount or 0) - held - spent
    return {
        "estimated_cost": str(plan.estimate),
        "currency": access.project.budget_currency,
        "remaining": str(ledger._q(remaining)),
        "affordable": plan.estimate == 0 or plan.estimate <= remaining,
        "backend": plan.backend.name,
        "model": plan.model,
        "kind": plan.kind,
        "calls": len(plan.calls),
        "variations": plan.request.variations,
        "duration_seconds": plan.request.duration_seconds,
        "width": plan.request.width,
        "height": plan.request.height,
        "prompt": plan.request.prompt,
        "seed": plan.request.seed,
    }
