"""Generation jobs: from a request on a shot to takes with stored media, and the money in between.

Public API (keyword-only):

- ``generate(access, shot, backend, ...)`` → (job, takes): every check before anything is
  reserved or sent, then one transaction (job, budget hold, placeholder takes, events) and
  the Celery task enqueued on commit.
- ``generation_plan(...)`` / ``generation_estimate(...)``: the same checks, nothing written
  (in ``planning.py``, re-exported here).
- ``job_advance(job_id)`` → Advance: one step of a job (submit, poll, or finish). The Celery
  task ``apps.generation.tasks.run_generation_job`` calls it and re-schedules itself after
  ``Advance.delay`` seconds; tests and the benchmark call it directly.
- ``job_cancel(access, job)``, ``webhook_receive(backend, headers, body, query)``,
  ``generation_reap_stale()`` (called from apps.core.tasks.reap_stale_jobs).

How one job runs
    A job makes ``backend.calls_for(req)`` provider calls (a model that makes one clip per
    call needs four calls for four variations; call i uses seed + i). Each call lives in
    ``job.provider_data["calls"][i]``: pending → submitting → queued/running →
    succeeded/failed. A step:

    1. returns quietly when the job is gone or finished; honours a 429 cool-down;
    2. submits pending calls that get a concurrency slot (ratelimit.py). **Submit once**:
       the call is first marked ``submitting`` (attempt + 1, time) in a committed
       transaction; a call that already has a provider id, or is marked submitting with a
       fresh mark, is never submitted again; the provider id is stored in its own
       transaction the moment submit returns. The idempotency key (the job's, or a UUID
       derived from it for call i > 0) goes to providers that accept one, so even the retry
       of a call whose mark went stale (worker killed inside submit) is not a second job
       there;
    3. polls calls that run at the provider (progress → ``job.progress`` events, throttled);
    4. when every call has ended, downloads each output that was not safety-filtered,
       stores it with ``media_create_from_file`` (ingest follows and makes the take ready),
       attaches outputs to the placeholder takes (extra outputs → new takes; missing ones →
       takes failed), settles the budget with the actual cost (or releases it when nothing
       was billed), and marks the job succeeded or failed with a sentence for people.

    Provider errors: QuotaExhausted and AuthError fail at once (never retried); RateLimited
    sets the cool-down for the account and re-schedules after Retry-After; TransientError is
    retried with exponential backoff, a few times; JobLost fails with a readable reason.
    API keys never reach a log line, an exception message or a job error (``scrub``), and
    provider output links (which may carry auth headers) are stored encrypted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import mimetypes
import random
import shutil
import tempfile
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core import heartbeat
from apps.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
)
from apps.core.events import publish_on_commit
from apps.media import services as media_services
from apps.media import storage
from apps.projects.access import Access
from apps.projects.events import record_event
from apps.projects.models import Role

from . import ledger, ratelimit
from .backends.base import (
    AUDIO_KINDS,
    AuthError,
    Backend,
    BackendContext,
    BackendValidationError,
    GenerationRequest,
    InputFile,
    JobLost,
    Output,
    PollResult,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from .credentials import (
    CredentialUnreadable,
    ProjectCredential,
    credential_load,
    decrypt,
    encrypt,
    scrub,
)
from .models import ACTIVE_STATES, GenerationJob, JobState, WebhookDelivery
from .planning import (
    INPUT_FRAMES,
    _drop_workdir,
    _q4,
    _workdir,
    backend_context,
    backend_ready,
    generation_estimate,
    generation_plan,
    take_seeds,
)
from .registry import get_backend

logger = logging.getLogger(__name__)

FINISHED_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)

# Timing (module constants so that the benchmark can shrink them).
POLL_MIN_SECONDS = 2.0  # first poll; then ×1.5 per poll up to POLL_MAX_SECONDS
POLL_MAX_SECONDS = 30.0
SLOT_WAIT_SECONDS = 3.0  # a job without a concurrency slot looks again after this × its place in line
SLOT_WAIT_MAX_SECONDS = 60.0
DEFAULT_RETRY_AFTER = 30.0  # a 429 without Retry-After
MAX_SUBMIT_ATTEMPTS = 5
MAX_POLL_ERRORS = 8  # consecutive transient poll failures before a call is given up
MAX_FINISH_ATTEMPTS = 3
MAX_STEP_ERRORS = 5  # unexpected exceptions in one job before it is failed
PROGRESS_EVENT_STEP = 5  # publish job.progress when it moved this many points…
PROGRESS_EVENT_SECONDS = 10.0  # …or this long after the last one
# Heartbeats and leases come from the settings (apps.core.heartbeat): a step touches the job's
# heartbeat when it starts and every MONTAGE_JOB_HEARTBEAT_SECONDS while it works; a call
# marked "submitting" (and the claim on storing the outputs) belongs to the worker that made
# it while that worker beats, and is taken over MONTAGE_GENERATION_SUBMIT_LEASE_SECONDS
# (MONTAGE_JOB_STALE_SECONDS) after its last beat.

# Sentences people see.
FEWER_OUTPUTS = "The provider returned fewer outputs than asked."
ALL_FILTERED = "Every output was removed by the provider's safety filter."
OUTPUT_FILTERED = "The provider's safety filter removed this output."
JOB_LOST = "The provider lost this job (it may have restarted); generate again."
CANCELLED = "Cancelled."
PROVIDER_CANCELLED = "The provider cancelled this job."
SERVER_ERROR = "Something went wrong on the server while running this job; try again."
ENQUEUE_FAILED = "Montage could not queue this job (the task queue is unreachable); nothing was sent or charged. Try again."
SHOT_GONE = "The shot was deleted while this job ran; its outputs were not kept."
FILE_LOST = "The generated file was lost before it could be stored (the worker that made it stopped); generate again."


class _Terminal:
    CALL = ("succeeded", "failed", "cancelled")


def _now_ts() -> float:
    return timezone.now().timestamp()


def _jitter(seconds: float, spread: float = 0.1) -> float:
    return max(0.0, seconds * (1 + random.uniform(-spread, spread)))


def _human_seconds(seconds: float) -> str:
    seconds = int(seconds)
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def submit_lease_seconds() -> float:
    """A call marked "submitting" belongs to its worker until this long after its last beat."""
    default = heartbeat.stale_seconds()
    return max(2 * heartbeat.heartbeat_seconds(), float(getattr(settings, "MONTAGE_GENERATION_SUBMIT_LEASE_SECONDS", default)))


def _submit_held(call: dict[str, Any]) -> float:
    """Seconds left on the "submitting" mark of ``call`` (0: nobody holds it any more)."""
    if call.get("state") != "submitting" or call.get("id"):
        return 0.0
    last = max(float(call.get("marked_at") or 0), float(call.get("beat_at") or 0))
    return max(0.0, last + submit_lease_seconds() - _now_ts())


# ============================================================================================
# Payloads and events
# ============================================================================================


def job_data(job: GenerationJob) -> dict[str, Any]:
    """The public shape of a job (events and the API)."""
    calls = (job.provider_data or {}).get("calls") or []
    return {
        "id": str(job.pk),
        "project": str(job.project_id),
        "shot": str(job.shot_id) if job.shot_id else None,
        "author": {"id": job.author_id, "username": job.author.get_username()} if job.author_id and job.author else None,
        "backend": job.backend,
        "model": job.model,
        "kind": job.kind,
        "state": job.state,
        "phase": job_phase(job),
        "progress": job.progress,
        "retry": _retry_of(job),
        "error": job.error,
        "variations": job.variations,
        "calls": len(calls) or 1,
        "prompt": (job.request or {}).get("prompt", ""),
        "original_prompt": (job.request or {}).get("original_prompt", ""),
        "seed": (job.request or {}).get("seed"),
        "seeds": _job_seeds(job, calls),
        "estimated_cost": str(job.estimated_cost),
        "actual_cost": None if job.actual_cost is None else str(job.actual_cost),
        "currency": job.project.budget_currency if job.project_id else "USD",
        "attempts": job.attempts,
        "cancel_requested": job.cancel_requested,
        "takes": list((job.provider_data or {}).get("takes") or []),
        "created_at": _iso(job.created_at),
        "submitted_at": _iso(job.submitted_at),
        "finished_at": _iso(job.finished_at),
    }


def job_phase(job: GenerationJob) -> str:
    """Where a job is, for people: queued (waiting for a worker, a slot or a retry) →
    submitted (the provider has it, not started) → running (the provider or the local tool
    works on it) → downloading (outputs are being fetched and stored) → done."""
    if job.state in FINISHED_STATES:
        return "done"
    data = job.provider_data if isinstance(job.provider_data, dict) else {}
    if data.get("finishing"):
        return "downloading"
    calls = data.get("calls") or []
    if any(c.get("state") == "running" or (c.get("state") == "submitting" and c.get("working")) for c in calls):
        return "running"
    if any(c.get("id") and c.get("state") == "queued" for c in calls):
        return "submitted"
    return "running" if job.state == JobState.RUNNING else "queued"


def _retry_of(job: GenerationJob) -> dict[str, Any] | None:
    """``{attempt, max_attempts, message, at}`` while the job waits to try a provider call again."""
    if job.state in FINISHED_STATES:
        return None
    retry = (job.provider_data or {}).get("retry") if isinstance(job.provider_data, dict) else None
    if not isinstance(retry, dict):
        return None
    return {
        "attempt": int(retry.get("attempt") or 1),
        "max_attempts": int(retry.get("max_attempts") or 1),
        "message": str(retry.get("message") or ""),
        "at": retry.get("at"),
    }


def _job_seeds(job: GenerationJob, calls: list[dict[str, Any]]) -> list[int | None]:
    backend = get_backend(job.backend)
    per_output = bool(backend and backend.seeds_per_output)
    seeds: list[int | None] = []
    for call in calls:
        seeds += take_seeds(call.get("seed"), int(call.get("variations") or 1), per_output=per_output)
    return seeds or [(job.request or {}).get("seed")]


def _iso(value) -> str | None:
    """JSON-safe times (job data goes into the activity feed's JSON column as well)."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def _publish_job(job: GenerationJob) -> None:
    publish_on_commit(job.project_id, "job.updated", job_data(job))


def _take_data(take) -> dict[str, Any]:
    from apps.production.services import take_data

    data = take_data(take)
    data["job"] = (take.provenance or {}).get("job")
    return data


# ============================================================================================
# generate
# ============================================================================================


def _call_key(job_key: str, index: int) -> str:
    if index == 0:
        return job_key
    return str(uuid.uuid5(uuid.UUID(job_key), f"call-{index}"))


def generate(
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
):
    """Check, reserve, create the job and its placeholder takes, and queue the work.

    Returns (job, takes). Raises before anything is written or sent: PermissionDenied (403),
    ValidationError (400), DomainError ``backend_unavailable`` (400), BudgetExceeded (402)."""
    from apps.production.models import Take, TakeSource, TakeStatus
    from apps.production.services import _next_take_number

    plan = generation_plan(
        access=access, shot=shot, backend=backend, model=model, prompt=prompt, negative_prompt=negative_prompt,
        seed=seed, duration_frames=duration_frames, input_image=input_image, references=references,
        parent_take=parent_take, variations=variations, params=params, kind=kind, input_frame=input_frame,
    )
    project = access.project
    key = str(uuid.uuid4())
    now = timezone.now()
    estimate_shares = _shares(plan.estimate, plan.request.variations)
    calls = []
    for c in plan.calls:
        calls.append({
            "index": c["index"], "seed": c["seed"], "variations": c["variations"], "key": _call_key(key, c["index"]),
            "id": "", "state": "pending", "marked_at": None, "attempts": 0, "poll_errors": 0, "progress": 0,
            "error": "", "billable": False, "cost": None, "outputs": None, "output_count": 0, "filtered_count": 0,
            "takes": [],
        })
    with transaction.atomic():
        job = GenerationJob.objects.create(
            project=project, shot=shot, author=access.user, backend=plan.backend.name, model=plan.model, kind=plan.kind,
            request=plan.request_json, variations=plan.request.variations, state=JobState.QUEUED,
            idempotency_key=key, estimated_cost=plan.estimate, provider_data={"calls": calls, "takes": []},
        )
        # Raises BudgetExceeded (402): the transaction rolls back and the job is gone.
        ledger.reserve(project=project, user=access.user, job=job, amount=plan.estimate, capped=access.role == Role.ARTIST)
        # An uploaded input image now belongs to the film: the orphan reaper must keep it.
        media_services.media_adopt_inputs(media_ids=[m.pk for m in plan.input_media], project=project)

        first = _next_take_number(shot)  # locks the shot row
        takes = []
        number = first
        base = {
            "source": "generation",
            "backend": plan.backend.name,
            "backend_title": plan.backend.title or plan.backend.name,
            "model": plan.model,
            "kind": plan.kind,
            "prompt": plan.request_json["prompt"],
            "original_prompt": plan.request_json["original_prompt"],
            "negative_prompt": plan.request_json["negative_prompt"],
            "params": plan.request_json["params"],
            "duration_frames": plan.request_json["duration_frames"],
            "duration_seconds": plan.request_json["duration_seconds"],
            "width": plan.request_json["width"],
            "height": plan.request_json["height"],
            "input_media": [str(m.pk) for m in plan.input_media],
            "input_image": plan.request_json["input_image"],
            "input_frame": plan.request_json["input_frame"],
            "references": plan.request_json["references"],
            "reference_media": [r["media"] for r in plan.request_json["reference_images"]],
            "parent_take": plan.request_json["parent_take"],
            "job": str(job.pk),
            "requested_at": now.isoformat(),
            "requested_by": access.user.get_username(),
        }
        variation = 0
        per_output = plan.backend.seeds_per_output
        for call in calls:
            for j, take_seed in enumerate(take_seeds(call["seed"], call["variations"], per_output=per_output)):
                prov = dict(base)
                prov.update(
                    seed=take_seed, variation=variation, call=call["index"],
                    estimated_cost=str(estimate_shares[variation]),
                )
                if not per_output and call["variations"] > 1:
                    # One provider call made several outputs from one seed: this is output j of
                    # that batch (asking for the same number of variations repeats it).
                    prov.update(batch_index=j, batch_size=call["variations"])
                take = Take.objects.create(
                    shot=shot, number=number, source=TakeSource.GENERATION, provenance=prov, author=access.user,
                    status=TakeStatus.PROCESSING, parent=plan.parent_take,
                )
                takes.append(take)
                call["takes"].append(str(take.pk))
                number += 1
                variation += 1
        job.provider_data = {"calls": calls, "takes": [str(t.pk) for t in takes]}
        job.save(update_fields=["provider_data", "updated_at"])
        record_event(project=project, actor=access.user, type="job.created", data=job_data(job))
        for take in takes:
            record_event(project=project, actor=access.user, type="take.created", data=_take_data(take))
        _enqueue_on_commit(job.pk)
    return job, takes


def _shares(total: Decimal, parts: int) -> list[Decimal]:
    """``total`` split into ``parts`` amounts (to 0.0001) that add up exactly."""
    parts = max(1, parts)
    total = _q4(total)
    each = (total / parts).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
    shares = [each] * parts
    shares[0] += total - each * parts
    return shares


def _enqueue_on_commit(job_id) -> None:
    job_id = str(job_id)

    def send() -> None:
        from .tasks import run_generation_job

        try:
            run_generation_job.delay(job_id)
        except Exception:  # the broker is down: say so instead of leaving the job queued forever
            logger.exception("could not enqueue generation job %s", job_id)
            _fail_job(job_id, ENQUEUE_FAILED, charge=False)

    transaction.on_commit(send)


def job_enqueue(*, job_id, force: bool = True) -> None:
    """Queue one step of a job now (the reaper, webhooks and the admin use it)."""
    from .tasks import run_generation_job

    run_generation_job.delay(str(job_id), force=force)


# ============================================================================================
# One step of a job
# ============================================================================================


@dataclass
class Advance:
    """What a step did: ``delay`` seconds until the next step, or None when there is none."""

    delay: float | None
    state: str
    note: str = ""

    @property
    def done(self) -> bool:
        return self.delay is None


def _done(state: str, note: str = "") -> Advance:
    return Advance(None, state, note)


def _load(job_id, *, lock: bool = False) -> GenerationJob | None:
    """The job with its project; ``lock``: its row locked (not the project's)."""
    try:
        pk = uuid.UUID(str(job_id))
    except (TypeError, ValueError, AttributeError):
        return None
    qs = GenerationJob.objects.select_related("project")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return qs.filter(pk=pk).first()


def _calls(job: GenerationJob) -> list[dict[str, Any]]:
    data = job.provider_data if isinstance(job.provider_data, dict) else {}
    job.provider_data = data
    calls = data.get("calls")
    if not calls:
        # A job made by hand (admin, old rows): one call.
        calls = data["calls"] = [{
            "index": 0, "seed": (job.request or {}).get("seed"), "variations": job.variations, "key": job.idempotency_key,
            "id": job.provider_job_id or "", "state": "running" if job.provider_job_id else "pending", "marked_at": None,
            "attempts": 0, "poll_errors": 0, "progress": 0, "error": "", "billable": False, "cost": None,
            "outputs": None, "output_count": 0, "filtered_count": 0, "takes": list(data.get("takes") or []),
        }]
    return calls


def _member(job, index: int) -> str:
    return f"{job.pk}:{index}"


def _webhook_url(backend: Backend, job: GenerationJob, index: int) -> str | None:
    public = (getattr(settings, "MONTAGE_PUBLIC_URL", "") or "").rstrip("/")
    if not backend.sends_webhooks or not public.startswith("https://"):
        return None  # providers cannot call back a development machine
    return f"{public}/api/v1/webhooks/{backend.name}/?job={job.pk}&call={index}"


def _touch(job_id, *, call: int | None = None, finishing: str | None = None) -> None:
    """Beat the job's heartbeat, and the lease this worker holds on it: the "submitting" mark
    of call ``call``, or the claim ``finishing`` on storing the outputs."""
    now = timezone.now()
    if call is None and finishing is None:
        GenerationJob.objects.filter(pk=job_id, state__in=ACTIVE_STATES).update(heartbeat_at=now)
        return
    with transaction.atomic():
        job = _load(job_id, lock=True)
        if job is None or job.state in FINISHED_STATES:
            return
        if call is not None:
            calls = _calls(job)
            if call < len(calls) and calls[call]["state"] == "submitting" and not calls[call].get("id"):
                calls[call]["beat_at"] = now.timestamp()
        if finishing is not None:
            fin = job.provider_data.get("finishing") or {}
            if fin.get("token") == finishing and fin.get("at"):
                fin["at"] = now.timestamp()
        job.heartbeat_at = now
        job.save(update_fields=["provider_data", "heartbeat_at", "updated_at"])


def _beating(job_id, *, call: int | None = None, finishing: str | None = None):
    """Beat the job (and the lease held) every MONTAGE_JOB_HEARTBEAT_SECONDS from a side thread
    while a long call runs (a provider's submit, a local render, a big download), so that the
    reaper and other workers know this worker is alive."""
    return heartbeat.beating(lambda: _touch(job_id, call=call, finishing=finishing), name=f"job-beat-{job_id}")


def _output_to_dict(output: Output) -> dict[str, Any]:
    return {
        "url": output.url, "path": str(output.path) if output.path else None, "headers": dict(output.headers or {}),
        "content_type": output.content_type, "filename": output.filename, "filtered": bool(output.filtered),
        "meta": output.meta or {},
    }


def _output_from_dict(data: dict[str, Any]) -> Output:
    return Output(
        url=data.get("url"), path=Path(data["path"]) if data.get("path") else None, headers=data.get("headers") or {},
        content_type=data.get("content_type") or "", filename=data.get("filename") or "",
        filtered=bool(data.get("filtered")), meta=data.get("meta") or {},
    )


def _seal_outputs(outputs: list[Output]) -> str:
    """Outputs (links may carry auth headers or signed tokens) encrypted for the database."""
    return encrypt(json.dumps([_output_to_dict(o) for o in outputs], default=str))


def _open_outputs(sealed: str | None) -> list[Output]:
    if not sealed:
        return []
    try:
        return [_output_from_dict(d) for d in json.loads(decrypt(sealed))]
    except (CredentialUnreadable, ValueError, TypeError):
        return []


def _safe_message(exc: BaseException | str, cred: ProjectCredential | None, *, limit: int = 500) -> str:
    text = exc if isinstance(exc, str) else (getattr(exc, "message", None) or str(exc) or exc.__class__.__name__)
    return scrub(str(text), cred.api_key if cred else None)[:limit]


def _progress_of(calls: list[dict[str, Any]]) -> int:
    if not calls:
        return 0
    values = [100 if c["state"] in _Terminal.CALL else int(c.get("progress") or 0) for c in calls]
    return max(0, min(100, round(sum(values) / len(values))))


def _publish_progress(job: GenerationJob, before: int) -> None:
    data = job.provider_data
    last = data.get("progress_event") or {}
    now = time.time()
    moved = job.progress - int(last.get("value", before))
    if job.progress == int(last.get("value", -1)):
        return
    if abs(moved) >= PROGRESS_EVENT_STEP or job.progress >= 100 or now - float(last.get("at", 0)) >= PROGRESS_EVENT_SECONDS:
        data["progress_event"] = {"value": job.progress, "at": now}
        publish_on_commit(
            job.project_id, "job.progress",
            {
                "id": str(job.pk), "shot": str(job.shot_id) if job.shot_id else None, "state": job.state,
                "phase": job_phase(job), "progress": job.progress,
            },
        )


PROGRESS_WRITE_SECONDS = 0.5  # a local job writes its progress to the row at most this often


def _note_retry(job_id, *, attempt: int, max_attempts: int, message: str, wait: float | None) -> None:
    """Show on the job that a provider call waits to be tried again (and why)."""
    at = _iso(timezone.now() + timedelta(seconds=wait)) if wait is not None else None
    with transaction.atomic():
        job = _load(job_id, lock=True)
        if job is None or job.state in FINISHED_STATES:
            return
        job.provider_data["retry"] = {
            "attempt": max(1, int(attempt)), "max_attempts": max(1, int(max_attempts), int(attempt)),
            "message": message, "at": at,
        }
        job.save(update_fields=["provider_data", "updated_at"])
        _publish_job(job)


class _LocalProgress:
    """``ctx.progress`` for a local backend working inside ``submit``: its fraction done goes
    to the call and the job row (at most every PROGRESS_WRITE_SECONDS, only when the percent
    moved) and out as ``job.progress`` events (throttled by ``_publish_progress``)."""

    def __init__(self, job_id, index: int) -> None:
        self.job_id = job_id
        self.index = index
        self.last_at = 0.0
        self.last_value = -1

    def __call__(self, fraction: float) -> None:
        try:
            value = max(0, min(99, int(float(fraction) * 100)))  # 100 once the outputs are stored
        except (TypeError, ValueError):
            return
        now = time.monotonic()
        if value <= self.last_value or now - self.last_at < PROGRESS_WRITE_SECONDS:
            return
        self.last_at, self.last_value = now, value
        try:
            gone = self._write(value)
        except Exception:  # noqa: BLE001 - progress must never stop the work
            logger.debug("job %s: could not record progress", self.job_id, exc_info=True)
            return
        if gone:
            # Cancelled (or deleted) while the local tool works: stop it now instead of
            # finishing a clip nobody will keep.
            raise ProviderError(CANCELLED)

    def _write(self, value: int) -> bool:
        """Record ``value``; True when the job is no longer there to work for."""
        with transaction.atomic():
            job = _load(self.job_id, lock=True)
            if job is None or job.state in FINISHED_STATES or job.cancel_requested:
                return True
            calls = _calls(job)
            before = job.progress
            calls[self.index]["progress"] = value
            if calls[self.index]["state"] == "submitting":
                calls[self.index]["beat_at"] = _now_ts()
            job.progress = _progress_of(calls)
            job.heartbeat_at = timezone.now()
            _publish_progress(job, before)
            job.save(update_fields=["provider_data", "progress", "heartbeat_at", "updated_at"])
        return False


class _Step:
    def __init__(self, job: GenerationJob, backend: Backend, cred: ProjectCredential) -> None:
        self.job = job
        self.backend = backend
        self.cred = cred
        self.ctx = backend_context(backend, cred, job=job)
        self.fp = cred.fingerprint
        self.limit = ratelimit.concurrency_for(backend, cred.config)
        self.fresh: dict[int, list[Output]] = {}  # outputs polled in this step (with headers)
        self.poll_after: float | None = None
        self.retry_in: float | None = None
        self.submitted_now: set[int] = set()  # calls submitted in this step: polled next step

    # -- helpers ---------------------------------------------------------------------------
    def msg(self, exc) -> str:
        return _safe_message(exc, self.cred)

    def again(self, delay: float, note: str = "", *, record: bool = True) -> Advance:
        """The next step is due in ``delay`` seconds (recorded in ``next_poll_at``, which the
        reaper and the duplicate-task check read; a cheap slot-wait may skip the write)."""
        delay = max(0.0, float(delay))
        if record:
            GenerationJob.objects.filter(pk=self.job.pk).update(next_poll_at=timezone.now() + timedelta(seconds=delay))
        return Advance(delay, self.job.state, note)

    def release_slot(self, *indexes: int) -> None:
        _free_slots(self.backend.name, self.fp, [_member(self.job, i) for i in indexes])

    # -- the step ----------------------------------------------------------------------------
    def run(self) -> Advance:
        # A step starts: the heartbeat moves past next_poll_at until the step ends by setting
        # the next one (the reaper tells a worker that died mid-step by it).
        now = timezone.now()
        GenerationJob.objects.filter(pk=self.job.pk).update(heartbeat_at=now)
        self.job.heartbeat_at = now
        wait = ratelimit.cooldown_remaining(self.backend.name, self.fp)
        if wait > 0:
            return self.again(_jitter(wait + 0.5, 0.2), "cooling down after a rate limit")

        # 1. submit what can be submitted
        slot_wait: float | None = None
        held: float | None = None  # seconds until another worker's submitting mark runs out
        for call in list(_calls(self.job)):
            if call["state"] not in ("pending", "submitting") or call.get("id"):
                continue
            left = _submit_held(call)
            if left > 0:
                held = left if held is None else min(held, left)
                continue  # another worker is submitting it right now
            slot = ratelimit.acquire(
                self.backend.name, self.fp, _member(self.job, call["index"]), limit=self.limit,
                base_wait=SLOT_WAIT_SECONDS, max_wait=SLOT_WAIT_MAX_SECONDS,
            )
            if not slot:
                slot_wait = slot.wait
                break
            outcome = self.submit(call["index"])
            if outcome is not None:
                return outcome
        if slot_wait is not None and not any(c.get("id") for c in _calls(self.job)) and not self.submitted_now:
            # Nothing runs at the provider yet: stay queued, ask again later (no writes).
            delay = _jitter(slot_wait, 0.2)
            return self.again(delay, "waiting for a free slot at the provider", record=delay >= 5)
        if self.job.state in FINISHED_STATES:
            return _done(self.job.state)

        # 2. poll what runs at the provider
        for call in list(_calls(self.job)):
            if (
                call["state"] in ("queued", "running") and call.get("id")
                and call["index"] not in self.fresh and call["index"] not in self.submitted_now
            ):
                ratelimit.acquire(self.backend.name, self.fp, _member(self.job, call["index"]), limit=self.limit, force=True)
                outcome = self.poll(call["index"])
                if outcome is not None:
                    return outcome
        if self.job.state in FINISHED_STATES:
            return _done(self.job.state)

        # 3. finish when every call has ended
        calls = _calls(self.job)
        if all(c["state"] in _Terminal.CALL for c in calls):
            return self.finish()

        if held is not None and not any(c["state"] in ("queued", "running") and c.get("id") for c in calls):
            # Nothing to poll: look again when that worker's mark runs out (if it died, this
            # step submits the call again), not every few seconds in between.
            delay = held + 1.0 if self.retry_in is None else min(self.retry_in, held + 1.0)
            return self.again(_jitter(delay, 0.05), "another worker is submitting this job")
        if self.retry_in is not None:
            return self.again(self.retry_in, "retrying after a provider error")
        delay = self.poll_delay()
        if slot_wait is not None:
            delay = min(delay, _jitter(slot_wait, 0.2))
        return self.again(delay, "running")

    def poll_delay(self) -> float:
        if self.poll_after is not None:
            return max(0.0, min(float(self.poll_after), 300.0))
        n = max(0, self.job.poll_count - 1)
        return _jitter(min(POLL_MAX_SECONDS, POLL_MIN_SECONDS * (1.5 ** min(n, 12))))

    # -- submit ------------------------------------------------------------------------------
    def _mark(self, index: int) -> dict[str, Any] | None:
        """Mark call ``index`` submitting in a committed transaction; None when it must not be
        submitted (already submitted, being submitted, job over)."""
        with transaction.atomic():
            job = _load(self.job.pk, lock=True)
            if job is None or job.state in FINISHED_STATES or job.cancel_requested:
                return None
            call = _calls(job)[index]
            if call.get("id") or call["state"] not in ("pending", "submitting"):
                return None
            if _submit_held(call) > 0:
                return None
            if call["attempts"] >= MAX_SUBMIT_ATTEMPTS:
                self._fail_call(job, call, f"{self.backend.title or self.backend.name} could not take this job after "
                                f"{call['attempts']} tries: {call.get('error') or 'no answer'}", billable=False)
                job.save(update_fields=["provider_data", "progress", "updated_at"])
                return None
            call["state"] = "submitting"
            call["marked_at"] = _now_ts()
            call.pop("beat_at", None)
            call["attempts"] += 1
            job.attempts += 1
            job.heartbeat_at = timezone.now()
            job.save(update_fields=["provider_data", "attempts", "heartbeat_at", "updated_at"])
            self.job = job
            return dict(call)

    def _unmark(self, index: int, *, error: str = "", count_attempt: bool = True) -> None:
        with transaction.atomic():
            job = _load(self.job.pk, lock=True)
            if job is None:
                return
            call = _calls(job)[index]
            if call.get("id") or call["state"] != "submitting":
                return
            call["state"] = "pending"
            call["marked_at"] = None
            call.pop("working", None)
            if not count_attempt:
                # A rate limit is not a failed try: it does not use up the call's attempts.
                call["attempts"] = max(0, call["attempts"] - 1)
                call["rate_limits"] = int(call.get("rate_limits") or 0) + 1
            if error:
                call["error"] = error
            job.save(update_fields=["provider_data", "updated_at"])
            self.job = job

    def _fail_call(self, job: GenerationJob, call: dict[str, Any], error: str, *, billable: bool, state: str = "failed") -> None:
        call["state"] = state
        call["error"] = error
        call["billable"] = bool(billable)
        call["marked_at"] = None
        job.progress = _progress_of(_calls(job))

    def _fail_calls_now(self, index: int, error: str, *, billable: bool, account_wide: bool) -> None:
        """Fail call ``index`` (and, for account-wide errors like quota or a refused key, every
        call not yet submitted)."""
        with transaction.atomic():
            job = _load(self.job.pk, lock=True)
            if job is None:
                return
            for call in _calls(job):
                hit = call["index"] == index or (account_wide and not call.get("id") and call["state"] in ("pending", "submitting"))
                if hit and call["state"] not in _Terminal.CALL:
                    self._fail_call(job, call, error, billable=billable and call["index"] == index)
            job.save(update_fields=["provider_data", "progress", "updated_at"])
            self.job = job
        self.release_slot(*[c["index"] for c in _calls(self.job) if c["state"] in _Terminal.CALL])

    def _start_local(self, index: int) -> None:
        """A local backend does its work inside ``submit``: the job runs from now on."""
        with transaction.atomic():
            job = _load(self.job.pk, lock=True)
            if job is None or job.state in FINISHED_STATES:
                return
            call = _calls(job)[index]
            call["working"] = True
            job.provider_data.pop("retry", None)
            job.submitted_at = job.submitted_at or timezone.now()
            if job.state == JobState.QUEUED:
                job.state = JobState.RUNNING
            job.save(update_fields=["provider_data", "state", "submitted_at", "updated_at"])
            _publish_job(job)
            self.job = job

    def _note_submit_retry(self, index: int, message: str, wait: float | None) -> None:
        call = _calls(_load(self.job.pk) or self.job)[index]
        limited = int(call.get("rate_limits") or 0)
        _note_retry(
            self.job.pk, attempt=int(call.get("attempts") or 0) + limited + 1,
            max_attempts=MAX_SUBMIT_ATTEMPTS + limited, message=message, wait=wait,
        )

    def submit(self, index: int) -> Advance | None:
        name = self.backend.title or self.backend.name
        with contextlib.ExitStack() as stack:
            try:
                call = _calls(self.job)[index]
                req = _build_request(self.job, self.backend, call, stack, self.ctx)
            except _InputMissing as exc:
                self.release_slot(index)
                self._fail_calls_now(index, str(exc), billable=False, account_wide=True)
                return None
            except Exception as exc:  # noqa: BLE001 - storage trouble: try again later
                logger.warning("job %s: could not prepare inputs: %s", self.job.pk, self.msg(exc))
                self.release_slot(index)
                self.retry_in = _jitter(15.0)
                return self.again(self.retry_in, "inputs not reachable")
            marked = self._mark(index)
            if marked is None:
                self.release_slot(index)
                return None
            if self.backend.is_local:
                self._start_local(index)
                self.ctx.progress = _LocalProgress(self.job.pk, index)
            try:
                with _beating(self.job.pk, call=index):
                    result = self.backend.submit(req, self.ctx)
            except RateLimited as exc:
                wait = float(exc.retry_after or DEFAULT_RETRY_AFTER)
                ratelimit.cooldown_set(self.backend.name, self.fp, wait)
                self._unmark(index, error=self.msg(exc), count_attempt=False)
                self._note_submit_retry(index, self.msg(exc), wait)
                self.release_slot(index)
                logger.info("job %s: %s rate limited; retry in %.1f s", self.job.pk, self.backend.name, wait)
                return self.again(_jitter(wait + 0.5, 0.1), "rate limited by the provider")
            except TransientError as exc:
                self.release_slot(index)
                attempts = int(marked["attempts"])
                message = self.msg(exc)
                logger.info("job %s: submit to %s failed (attempt %d): %s", self.job.pk, self.backend.name, attempts, message)
                if attempts >= MAX_SUBMIT_ATTEMPTS:
                    self._fail_calls_now(
                        index, f"{name} could not be reached after {attempts} tries: {message}", billable=False, account_wide=False
                    )
                    return None
                self._unmark(index, error=message)
                wait = float(exc.retry_after) if exc.retry_after else min(300.0, 5.0 * 2 ** (attempts - 1))
                self.retry_in = _jitter(wait)
                self._note_submit_retry(index, message, self.retry_in)
                return self.again(self.retry_in, "retrying after a network error")
            except QuotaExhausted as exc:
                self.release_slot(index)
                self._fail_calls_now(index, self.msg(exc), billable=exc.billable, account_wide=True)
                return None
            except AuthError as exc:
                self.release_slot(index)
                self._fail_calls_now(
                    index, f"{self.msg(exc)} A director or producer can update the key in the project's settings.",
                    billable=False, account_wide=True,
                )
                return None
            except BackendValidationError as exc:
                self.release_slot(index)
                self._fail_calls_now(index, self.msg(exc.message), billable=False, account_wide=True)
                return None
            except JobLost:
                self.release_slot(index)
                self._fail_calls_now(index, JOB_LOST, billable=False, account_wide=False)
                return None
            except ProviderError as exc:
                self.release_slot(index)
                self._fail_calls_now(index, self.msg(exc), billable=exc.billable, account_wide=False)
                return None
            except Exception as exc:  # noqa: BLE001 - an adapter bug: never guess whether it reached the provider
                _log_unexpected(self.job, exc, self.cred, "submit")
                self.release_slot(index)
                self._fail_calls_now(
                    index, f"Something went wrong on the server while sending this job to {name}; try again.",
                    billable=False, account_wide=False,
                )
                return None
        self.submitted_now.add(index)
        self._record_submission(index, result)
        return None

    def _record_submission(self, index: int, result) -> None:
        """Store the provider id at once, in its own transaction."""
        cancel_now = False
        provider_id = str(result.provider_job_id or "")
        with transaction.atomic():
            job = _load(self.job.pk, lock=True)
            if job is None:
                cancel_now = True
            else:
                call = _calls(job)[index]
                call["id"] = provider_id or f"local-{job.pk}-{index}"
                call["marked_at"] = None
                call.pop("working", None)
                job.provider_data.pop("retry", None)
                call["submitted_at"] = _now_ts()
                state = result.state if result.state in ("queued", "running", "succeeded", "failed") else "queued"
                call["state"] = "queued" if state in ("succeeded", "failed") else state
                if not job.provider_job_id:
                    job.provider_job_id = call["id"][:255]
                job.provider_state = str(result.state or "")[:64]
                job.submitted_at = job.submitted_at or timezone.now()
                cancel_now = job.cancel_requested or job.state in FINISHED_STATES
                if job.state == JobState.QUEUED and not cancel_now:
                    job.state = JobState.RUNNING
                    _publish_job(job)
                job.save(update_fields=["provider_data", "provider_job_id", "provider_state", "submitted_at", "state", "updated_at"])
                self.job = job
        if cancel_now:
            self._cancel_at_provider(provider_id)
            self.release_slot(index)
            return
        if result.state in ("succeeded", "failed"):
            self.apply(index, PollResult(
                state=result.state, progress=100, outputs=list(result.outputs or []), error=result.error or "",
                billable=result.state != "failed", poll_after=result.poll_after, raw=result.raw or {},
            ))
        elif result.poll_after is not None:
            self.poll_after = result.poll_after if self.poll_after is None else min(self.poll_after, result.poll_after)

    def _cancel_at_provider(self, provider_id: str) -> None:
        if not provider_id:
            return
        try:
            self.backend.cancel(provider_id, self.ctx)
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            logger.info("job %s: cancelling %s at %s failed: %s", self.job.pk, provider_id, self.backend.name, self.msg(exc))

    # -- poll --------------------------------------------------------------------------------
    def poll(self, index: int) -> Advance | None:
        call = _calls(self.job)[index]
        try:
            result = self.backend.poll(call["id"], self.ctx)
        except RateLimited as exc:
            wait = float(exc.retry_after or DEFAULT_RETRY_AFTER)
            ratelimit.cooldown_set(self.backend.name, self.fp, wait)
            errors = int(call.get("poll_errors") or 0)
            _note_retry(self.job.pk, attempt=errors + 2, max_attempts=MAX_POLL_ERRORS + 1, message=self.msg(exc), wait=wait)
            return self.again(_jitter(wait + 0.5, 0.1), "rate limited by the provider")
        except TransientError as exc:
            errors = self._poll_error(index, self.msg(exc))
            if errors is None:
                return None
            wait = float(exc.retry_after) if exc.retry_after else min(300.0, 5.0 * 2 ** (errors - 1))
            self.retry_in = _jitter(wait) if self.retry_in is None else min(self.retry_in, _jitter(wait))
            _note_retry(self.job.pk, attempt=errors + 1, max_attempts=MAX_POLL_ERRORS, message=self.msg(exc), wait=self.retry_in)
            return None
        except JobLost:
            self._end_call(index, JOB_LOST, billable=False)
            return None
        except AuthError as exc:
            self._end_call(index, f"{self.msg(exc)} A director or producer can update the key in the project's settings.", billable=False)
            return None
        except ProviderError as exc:
            self._end_call(index, self.msg(exc), billable=exc.billable)
            return None
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            _log_unexpected(self.job, exc, self.cred, "poll")
            errors = self._poll_error(index, "unexpected error")
            if errors is not None:
                self.retry_in = _jitter(min(300.0, 5.0 * 2 ** (errors - 1)))
            return None
        self.apply(index, result)
        return None

    def _poll_error(self, index: int, message: str) -> int | None:
        """Count a transient poll failure; None when the call was given up."""
        with transaction.atomic():
            job = _load(self.job.pk, lock=True)
            if job is None:
                return None
            call = _calls(job)[index]
            call["poll_errors"] = int(call.get("poll_errors") or 0) + 1
            errors = call["poll_errors"]
            if errors >= MAX_POLL_ERRORS:
                self._fail_call(
                    job, call, f"Lost contact with {self.backend.title or self.backend.name} while it worked on this job "
                    f"({message}); generate again.", billable=False,
                )
                errors = None
            job.save(update_fields=["provider_data", "progress", "updated_at"])
            self.job = job
        if errors is None:
            self.release_slot(index)
        return errors

    def _end_call(self, index: int, error: str, *, billable: bool) -> None:
        with transaction.atomic():
            job = _load(self.job.pk, lock=True)
            if job is None:
                return
            call = _calls(job)[index]
            if call["state"] not in _Terminal.CALL:
                self._fail_call(job, call, error, billable=billable)
                job.save(update_fields=["provider_data", "progress", "updated_at"])
            self.job = job
        self.release_slot(index)

    def apply(self, index: int, result: PollResult) -> None:
        ended, job = _apply_result(self.job.pk, index, result, self.cred, with_job=True)
        if job is not None:
            self.job = job
        if result.state == "succeeded":
            self.fresh[index] = list(result.outputs or [])
        if result.poll_after is not None:
            self.poll_after = result.poll_after if self.poll_after is None else min(self.poll_after, result.poll_after)
        if ended:
            self.release_slot(index)

    # -- finish ------------------------------------------------------------------------------
    def finish(self) -> Advance:
        return _finish_job(self, token=uuid.uuid4().hex)


def _wake_job(job_id: str) -> None:
    """Run a waiting job's next step now (a slot it waits for just freed). Eager mode (tests)
    does not: tests drive every step themselves."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    from .tasks import run_generation_job

    run_generation_job.apply_async((job_id,), kwargs={"force": True})


# Called with a job id when a slot it may be waiting for frees (the benchmark replaces it).
WAKE = _wake_job


def _free_slots(backend: str, fingerprint: str, members: list[str]) -> None:
    """Give slots back and wake as many jobs from the front of the waiting line."""
    if not members:
        return
    try:
        ratelimit.release(backend, fingerprint, *members)
        woken: list[str] = []
        for member in ratelimit.next_waiting(backend, fingerprint, len(members)):
            job_id = member.rsplit(":", 1)[0]
            if job_id not in woken:
                woken.append(job_id)
        for job_id in woken:
            WAKE(job_id)
    except Exception:  # noqa: BLE001 - slots also free themselves when their lease ends
        logger.warning("could not free concurrency slots %s", members, exc_info=True)


class _InputMissing(Exception):
    """An input file of the job is gone: the job cannot run (message for people)."""


def _apply_result(job_id, index: int, result: PollResult, cred: ProjectCredential | None, *, with_job: bool = False):
    """Record a poll (or webhook) result for call ``index``. True when the call ended (with
    ``with_job``: (ended, the job as saved))."""
    state = result.state if result.state in ("queued", "running", "succeeded", "failed", "cancelled") else "running"
    with transaction.atomic():
        job = _load(job_id, lock=True)
        if job is None or job.state in FINISHED_STATES:
            return (False, job) if with_job else False
        calls = _calls(job)
        if index >= len(calls):
            return (False, job) if with_job else False
        call = calls[index]
        if call["state"] in _Terminal.CALL:
            return (False, job) if with_job else False
        before = job.progress
        call["poll_errors"] = 0
        job.provider_data.pop("retry", None)
        job.poll_count += 1
        job.provider_state = str((result.raw or {}).get("status") or result.state or "")[:64]
        if result.progress is not None:
            call["progress"] = max(0, min(100, int(result.progress)))
        ended = False
        if state in ("queued", "running"):
            call["state"] = state if call["state"] != "running" or state == "running" else "running"
        elif state == "succeeded":
            outputs = list(result.outputs or [])
            call["state"] = "succeeded"
            call["progress"] = 100
            call["outputs"] = _seal_outputs(outputs)
            call["output_count"] = sum(1 for o in outputs if not o.filtered)
            call["filtered_count"] = sum(1 for o in outputs if o.filtered)
            call["billable"] = True
            call["cost"] = None if result.actual_cost is None else str(_q4(result.actual_cost))
            ended = True
        elif state == "failed":
            call["state"] = "failed"
            call["error"] = _safe_message(result.error or "The provider reported a failure without a reason.", cred)
            call["billable"] = bool(result.billable)
            call["cost"] = None if result.actual_cost is None else str(_q4(result.actual_cost))
            ended = True
        else:  # cancelled at the provider
            call["state"] = "failed"
            call["error"] = CANCELLED if job.cancel_requested else PROVIDER_CANCELLED
            call["billable"] = False
            ended = True
        if job.state == JobState.QUEUED and call["state"] in ("running", "succeeded", "failed"):
            job.state = JobState.RUNNING
            _publish_job(job)
        job.progress = _progress_of(calls)
        _publish_progress(job, before)
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["provider_data", "progress", "poll_count", "provider_state", "state", "heartbeat_at", "updated_at"])
    return (ended, job) if with_job else ended


def _log_unexpected(job: GenerationJob, exc: BaseException, cred: ProjectCredential | None, where: str) -> None:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    logger.error("generation job %s: unexpected error in %s:\n%s", job.pk, where, scrub(text, cred.api_key if cred else None))


# --- inputs ----------------------------------------------------------------------------------


def _input_file(media_id: str | None, stack: contextlib.ExitStack, workdir: Path, *, tag: str | None = None, frame: str | None = None) -> InputFile:
    from apps.media.models import MediaFile

    media = MediaFile.objects.filter(pk=media_id).first() if media_id else None
    if media is None or not media.storage_key:
        raise _InputMissing("An input file of this job is gone (it was deleted); generate again with another input.")
    folder = Path(tempfile.mkdtemp(prefix="in-", dir=workdir))
    try:
        path = Path(stack.enter_context(storage.local_copy(media.storage_key, directory=str(folder))))
    except FileNotFoundError:
        raise _InputMissing(f"The input file {media.original_name or media.pk} is missing from storage; upload it again.") from None
    content_type = media.content_type or mimetypes.guess_type(media.original_name or str(path))[0] or ""
    url = None
    if frame in INPUT_FRAMES:
        path = _video_frame(path, folder, frame)
        content_type = "image/png"
    elif storage.use_s3():
        try:
            url = storage.s3_presign_get(media.storage_key, expires=6 * 3600)
        except Exception:  # noqa: BLE001 - reported, never raised
            url = None
    return InputFile(path=path, content_type=content_type, url=url, tag=tag)


def _video_frame(video: Path, folder: Path, which: str) -> Path:
    """The first or last frame of ``video`` as a PNG in ``folder``."""
    from apps.media import ffmpeg

    out = folder / f"{which}-frame.png"
    if which == "last":
        try:
            ffmpeg.run(["-sseof", "-0.5", "-i", str(video), "-frames:v", "1", "-update", "1", "-y", str(out)], timeout=120)
        except ffmpeg.FFmpegError:
            ffmpeg.run(["-i", str(video), "-frames:v", "1", "-y", str(out)], timeout=120)
    else:
        ffmpeg.run(["-i", str(video), "-frames:v", "1", "-y", str(out)], timeout=120)
    if not out.exists() or out.stat().st_size == 0:
        raise _InputMissing(f"The {which} frame of the input take could not be read; choose another input.")
    return out


def _build_request(job: GenerationJob, backend: Backend, call: dict[str, Any], stack: contextlib.ExitStack, ctx: BackendContext) -> GenerationRequest:
    r = job.request or {}
    workdir = ctx.workdir or _workdir(job.pk)
    image = video = None
    if r.get("input_image"):
        image = _input_file(r["input_image"].get("media"), stack, workdir, frame=r["input_image"].get("frame"))
    if r.get("input_video"):
        video = _input_file(r["input_video"].get("media"), stack, workdir)
    refs = [_input_file(item.get("media"), stack, workdir, tag=item.get("tag")) for item in r.get("reference_images") or []]
    fps = Fraction(str(r.get("fps") or "24"))
    return GenerationRequest(
        kind=job.kind,
        model=job.model,
        prompt=r.get("prompt", ""),
        negative_prompt=r.get("negative_prompt", ""),
        seed=call.get("seed"),
        duration_frames=r.get("request_frames"),
        fps=fps,
        width=int(r.get("width") or 1280),
        height=int(r.get("height") or 720),
        variations=int(call.get("variations") or 1),
        input_image=image,
        input_video=video,
        reference_images=refs,
        text=r.get("text", ""),
        voice=r.get("voice", ""),
        params=dict(r.get("params") or {}),
        webhook_url=_webhook_url(backend, job, int(call["index"])),
        idempotency_key=call.get("key") or job.idempotency_key,
    )


# --- finishing -------------------------------------------------------------------------------


_EXT = {"video": ".mp4", "image": ".png", "audio": ".mp3"}


def _output_name(output: Output, job: GenerationJob, n: int) -> tuple[str, str]:
    from urllib.parse import urlparse

    name = output.filename or ""
    if not name and output.path:
        name = Path(output.path).name
    if not name and output.url:
        tail = Path(urlparse(output.url).path).name
        name = tail if "." in tail else ""
    content_type = (output.content_type or "").split(";")[0].strip()
    if not name or "." not in name:
        ext = mimetypes.guess_extension(content_type) if content_type else None
        if not ext:
            ext = _EXT["audio" if job.kind in AUDIO_KINDS else "image" if job.kind == "text_to_image" else "video"]
        name = f"{job.backend}-{job.model or 'output'}-{n}{ext}"
    if not content_type:
        content_type = mimetypes.guess_type(name)[0] or ""
    return name[-200:], content_type


def _claim_finish(step: _Step, token: str) -> bool | Advance:
    with transaction.atomic():
        job = _load(step.job.pk, lock=True)
        if job is None or job.state in FINISHED_STATES:
            return _done(job.state if job else "gone")
        fin = job.provider_data.get("finishing") or {}
        age = _now_ts() - float(fin.get("at") or 0)
        lease = heartbeat.stale_seconds()  # that worker beats the claim while it works
        if fin and age < lease:
            # Another worker is storing the outputs; look again once its lease has run out
            # (by then the job is finished, or that worker died and this one takes over).
            step.job = job
            return step.again(lease - age + 1, "another worker is storing the outputs")
        attempts = int(fin.get("attempts") or 0) + 1
        job.provider_data["finishing"] = {"at": _now_ts(), "token": token, "attempts": attempts}
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["provider_data", "heartbeat_at", "updated_at"])
        step.job = job
        return True


def _unclaim_finish(job_id, token: str) -> None:
    with transaction.atomic():
        job = _load(job_id, lock=True)
        if job is None:
            return
        fin = job.provider_data.get("finishing") or {}
        if fin.get("token") == token:
            fin["at"] = 0
            job.provider_data["finishing"] = fin
            job.save(update_fields=["provider_data", "updated_at"])


def _finish_job(step: _Step, *, token: str) -> Advance:
    claimed = _claim_finish(step, token)
    if claimed is not True:
        return claimed
    job = step.job
    attempts = int(job.provider_data["finishing"]["attempts"])
    calls = _calls(job)
    workdir = Path(tempfile.mkdtemp(prefix="out-", dir=_workdir(job.pk)))
    # call index → list of (output, stored path or None, error or None)
    results: dict[int, list[tuple[Output, Path | None, str | None]]] = {}
    try:
        with _beating(job.pk, finishing=token):
            n = 0
            for call in calls:
                if call["state"] != "succeeded":
                    continue
                outputs = step.fresh.get(call["index"])
                if outputs is None:
                    outputs = _open_outputs(call.get("outputs"))
                items = []
                for output in outputs:
                    if output.filtered:
                        items.append((output, None, OUTPUT_FILTERED))
                        continue
                    n += 1
                    name, _ = _output_name(output, job, n)
                    dest = workdir / f"{n:03d}-{Path(name).name}"
                    try:
                        step.backend.download(output, step.ctx, dest)
                        if not dest.exists():
                            raise FileNotFoundError(str(dest))
                        items.append((output, dest, None))
                    except TransientError as exc:
                        if attempts < MAX_FINISH_ATTEMPTS:
                            _unclaim_finish(job.pk, token)
                            logger.info("job %s: download failed (will retry): %s", job.pk, step.msg(exc))
                            wait = _jitter(min(120.0, 10.0 * 2 ** (attempts - 1)))
                            _note_retry(job.pk, attempt=attempts + 1, max_attempts=MAX_FINISH_ATTEMPTS, message=step.msg(exc), wait=wait)
                            return step.again(wait, "retrying a download")
                        items.append((output, None, f"The output could not be downloaded: {step.msg(exc)}"))
                    except ProviderError as exc:
                        items.append((output, None, step.msg(exc)))
                    except FileNotFoundError:
                        items.append((output, None, FILE_LOST))
                    except Exception as exc:  # noqa: BLE001 - reported, never raised
                        _log_unexpected(job, exc, step.cred, "download")
                        items.append((output, None, "The output could not be copied into Montage's storage."))
                results[call["index"]] = items
        try:
            return _store_outputs(step, token, results)
        except Exception:
            _unclaim_finish(job.pk, token)
            raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _store_outputs(step: _Step, token: str, results: dict[int, list[tuple[Output, Path | None, str | None]]]) -> Advance:
    from apps.media.services import media_create_from_file
    from apps.production.models import Take, TakeSource, TakeStatus
    from apps.production.services import _next_take_number

    created_events: list = []
    with transaction.atomic():
        job = _load(step.job.pk, lock=True)
        if job is None or job.state in FINISHED_STATES:
            return _done(job.state if job else "gone")
        if (job.provider_data.get("finishing") or {}).get("token") != token:
            return Advance(None, job.state, "another worker is storing the outputs")
        calls = _calls(job)
        take_ids = [t for c in calls for t in c.get("takes") or []]
        takes = {str(t.pk): t for t in Take.objects.select_for_update().filter(pk__in=take_ids)}
        estimate_total = _q4(job.estimated_cost)
        share_of = _shares(estimate_total, max(1, job.variations))
        stored_takes, failed_takes = [], []
        actual = Decimal(0)
        billed = False
        download_errors: list[str] = []
        filtered = produced = 0
        variation = 0
        for call in calls:
            mine = [takes[t] for t in call.get("takes") or [] if t in takes]
            call_share = sum(share_of[variation: variation + int(call.get("variations") or 1)], Decimal(0))
            variation += int(call.get("variations") or 1)
            if call["state"] == "succeeded" or call.get("billable"):
                billed = True
                actual += _q4(call["cost"]) if call.get("cost") is not None else call_share
            items = results.get(call["index"], [])
            if job.shot_id is None:  # the shot (and its takes) were deleted while the job ran
                items = [(o, None, SHOT_GONE) for o, p, err in items]
            stored = [(o, p) for o, p, err in items if p is not None]
            errors = [err for o, p, err in items if err]
            filtered += sum(1 for o, p, err in items if err == OUTPUT_FILTERED)
            produced += len(items)
            download_errors += [e for e in errors if e != OUTPUT_FILTERED]
            for k, (output, path) in enumerate(stored):
                name, content_type = _output_name(output, job, k + 1)
                media = media_create_from_file(
                    owner=job.author, project=job.project, path=str(path), filename=name, content_type=content_type
                )
                if k < len(mine):
                    take = mine[k]
                else:  # more outputs than asked: a new take each
                    base = dict(mine[0].provenance) if mine else {"source": "generation", "backend": job.backend,
                                                                  "model": job.model, "kind": job.kind, "job": str(job.pk)}
                    base.update(variation=None, extra_output=True)
                    take = Take.objects.create(
                        shot_id=job.shot_id, number=_next_take_number(job.shot), source=TakeSource.GENERATION,
                        provenance=base, author=job.author, status=TakeStatus.PROCESSING,
                        parent_id=mine[0].parent_id if mine else None,
                    )
                    call.setdefault("takes", []).append(str(take.pk))
                    job.provider_data.setdefault("takes", []).append(str(take.pk))
                    created_events.append(take)
                take.media = media
                prov = dict(take.provenance or {})
                prov.update(
                    provider_job_id=call.get("id"), finished_at=timezone.now().isoformat(),
                    output={k2: v for k2, v in (output.meta or {}).items() if isinstance(v, (str, int, float, bool))} or None,
                )
                made_with = (output.meta or {}).get("seed")
                if isinstance(made_with, int) and not isinstance(made_with, bool):
                    prov["seed"] = made_with  # what the backend says made this output
                take.provenance = prov
                stored_takes.append(take)
            # placeholders without an output
            if call["state"] != "succeeded":
                reason = call.get("error") or "The provider could not make this take."
                reasons = [reason] * len(mine)
            else:
                leftovers = errors if errors else []
                reasons = []
                for j in range(len(stored), len(mine)):
                    idx = j - len(stored)
                    reasons.append(leftovers[idx] if idx < len(leftovers) else FEWER_OUTPUTS)
                reasons = [None] * len(stored) + reasons
            for j, take in enumerate(mine):
                if j < len(stored) and call["state"] == "succeeded":
                    continue
                take.status = TakeStatus.FAILED
                take.error = reasons[j] or FEWER_OUTPUTS
                failed_takes.append(take)

        if stored_takes:
            state, error = JobState.SUCCEEDED, ""
        else:
            state = JobState.FAILED
            call_errors = [c.get("error") for c in calls if c["state"] != "succeeded" and c.get("error")]
            if produced and filtered == produced and not call_errors:
                error = ALL_FILTERED
                for take in failed_takes:
                    take.error = ALL_FILTERED
            elif call_errors:
                error = call_errors[0]
            elif download_errors:
                error = download_errors[0]
            else:
                error = FEWER_OUTPUTS if produced else "The provider finished without returning any output."
            if produced and filtered == produced:
                # Filtered outputs are not charged to the artist unless the provider reports a cost.
                billed = any(c.get("cost") not in (None, "0.0000") for c in calls)
                if not billed:
                    actual = Decimal(0)
        actual = _q4(actual)
        if billed:
            ledger.settle(job, actual, note=f"{job.backend} {job.model}".strip())
        else:
            ledger.release(job, note=error[:120] if error else "nothing billed")
            actual = Decimal(0)

        # cost shares: among the takes that got media (else among all)
        payers = stored_takes or (failed_takes if actual > 0 else [])
        for take, share in zip(payers, _shares(actual, len(payers)) if payers else [], strict=True):
            take.cost = share
        for take in set(stored_takes) | set(failed_takes):
            fields = ["media", "provenance", "cost", "status", "error", "updated_at"]
            take.save(update_fields=fields)
        job.state = state
        job.error = error
        job.actual_cost = actual
        job.finished_at = timezone.now()
        job.progress = 100 if state == JobState.SUCCEEDED else job.progress
        job.heartbeat_at = None
        job.next_poll_at = None
        job.provider_data.pop("finishing", None)
        job.provider_data.pop("retry", None)
        job.save()
        for take in created_events:
            record_event(project=job.project, actor=None, type="take.created", data=_take_data(take))
        for take in failed_takes:
            record_event(project=job.project, actor=None, type="take.failed", data=_take_data(take))
        _publish_job(job)
        step.job = job
    step.release_slot(*[c["index"] for c in calls])
    _drop_workdir(job.pk)
    logger.info("generation job %s %s (%s takes stored, cost %s)", job.pk, job.state, len(stored_takes), actual)
    return _done(job.state, error)


# ============================================================================================
# Failing, cancelling
# ============================================================================================


def _fail_job(job_id, error: str, *, charge: bool = False, state: str = JobState.FAILED, cancel_at_provider: bool = False) -> GenerationJob | None:
    """End a job now: its unfinished takes fail with ``error``, the budget is released (or
    settled at the estimate with ``charge``)."""
    from apps.production.models import Take, TakeStatus

    submitted: list[str] = []
    with transaction.atomic():
        job = _load(job_id, lock=True)
        if job is None or job.state in FINISHED_STATES:
            return job
        calls = _calls(job)
        submitted = [c["id"] for c in calls if c.get("id") and c["state"] not in _Terminal.CALL]
        take_ids = [t for c in calls for t in c.get("takes") or []] or list(job.provider_data.get("takes") or [])
        takes = list(Take.objects.select_for_update().filter(pk__in=take_ids, status=TakeStatus.PROCESSING, media__isnull=True))
        for take in takes:
            take.status = TakeStatus.FAILED
            take.error = error
            take.save(update_fields=["status", "error", "updated_at"])
        if charge:
            ledger.settle(job, job.estimated_cost, note="charged on failure")
            job.actual_cost = job.estimated_cost
        else:
            ledger.release(job, note=error[:120])
            job.actual_cost = Decimal(0)
        job.state = state
        job.error = error
        job.finished_at = timezone.now()
        job.heartbeat_at = None
        job.next_poll_at = None
        if state == JobState.CANCELLED:
            job.cancel_requested = True
        job.save()
        for take in takes:
            record_event(project=job.project, actor=None, type="take.failed", data=_take_data(take))
        _publish_job(job)
    backend = get_backend(job.backend)
    if backend is not None:
        try:
            cred = credential_load(job.project, job.backend)
        except CredentialUnreadable:
            cred = ProjectCredential("", {}, False)
        if cancel_at_provider and submitted:
            ctx = backend_context(backend, cred, job=job)
            for provider_id in submitted:
                try:
                    backend.cancel(provider_id, ctx)
                except Exception as exc:  # noqa: BLE001 - reported, never raised
                    logger.info("job %s: cancel at %s failed: %s", job.pk, job.backend, _safe_message(exc, cred))
        _free_slots(backend.name, cred.fingerprint, [_member(job, c["index"]) for c in calls])
    _drop_workdir(job.pk)
    return job


def _may_cancel(access: Access, job: GenerationJob) -> bool:
    if access.is_director:
        return True
    if job.author_id == access.user.pk and access.role in (Role.ARTIST, Role.DIRECTOR):
        return True
    if job.shot_id and access.role == Role.ARTIST:
        from apps.production.models import Shot

        shot = Shot.objects.select_related("segment").filter(pk=job.shot_id).first()
        return shot is not None and access.owns(shot.segment)
    return False


def job_cancel(*, access: Access, job: GenerationJob) -> GenerationJob:
    """Stop a job: the provider is asked to cancel, its takes fail "Cancelled.", the budget is
    released. The author, the segment's owner or the director may cancel."""
    if job.project_id != access.project.pk:
        raise NotFound("No such generation job.")
    if not _may_cancel(access, job):
        raise PermissionDenied("Only the person who started this job, the segment's artist or the director can cancel it.")
    with transaction.atomic():
        current = _load(job.pk, lock=True)
        if current is None:
            raise NotFound("No such generation job.")
        if current.state == JobState.CANCELLED:
            return current
        if current.state in FINISHED_STATES:
            raise Conflict(f"This job has already {current.state}; there is nothing to cancel.", code="job_finished")
        current.cancel_requested = True
        current.save(update_fields=["cancel_requested", "updated_at"])
    result = _fail_job(job.pk, CANCELLED, state=JobState.CANCELLED, cancel_at_provider=True) or current
    if result.state != JobState.CANCELLED:
        raise Conflict(f"This job {result.state} before it could be cancelled.", code="job_finished")
    return result


# ============================================================================================
# job_advance: the body of the task
# ============================================================================================


def job_advance(*, job_id, due_only: bool = False) -> Advance:
    """Do one step of a job (see the module docstring) and say when the next is due.

    Safe to call any number of times, from any number of workers: a finished or missing job
    returns at once, a provider call is submitted at most once, outputs are stored once.
    With ``due_only`` (the Celery task), a call that comes before the job's next step is due
    is a duplicate delivery and returns without doing anything."""
    job = _load(job_id)
    if job is None:
        return _done("gone")
    if job.state in FINISHED_STATES:
        return _done(job.state)
    if due_only and job.next_poll_at and job.next_poll_at > timezone.now() + timedelta(seconds=1):
        return Advance((job.next_poll_at - timezone.now()).total_seconds(), job.state, "not due yet (a duplicate task)")
    if job.cancel_requested:
        _fail_job(job.pk, CANCELLED, state=JobState.CANCELLED, cancel_at_provider=True)
        return _done(JobState.CANCELLED)
    stuck = int(getattr(settings, "MONTAGE_GENERATION_STUCK_SECONDS", 2 * 3600))
    if (job.submitted_at or job.created_at) < timezone.now() - timedelta(seconds=stuck):
        _fail_job(job.pk, stuck_message(stuck), cancel_at_provider=True)
        return _done(JobState.FAILED)
    backend = get_backend(job.backend)
    if backend is None:
        _fail_job(job.pk, f"The backend {job.backend!r} is no longer installed on this server.")
        return _done(JobState.FAILED)
    try:
        cred = credential_load(job.project, job.backend)
    except CredentialUnreadable:
        _fail_job(job.pk, f"The stored API key for {backend.title or backend.name} can no longer be read; "
                          "a director or producer should enter it again.")
        return _done(JobState.FAILED)
    if backend.needs_credentials and not cred.api_key:
        _fail_job(job.pk, f"The API key for {backend.title or backend.name} was removed from this project.")
        return _done(JobState.FAILED)
    step = _Step(job, backend, cred)
    try:
        return step.run()
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        _log_unexpected(job, exc, cred, "step")
        return _step_error(job.pk)


def _step_error(job_id) -> Advance:
    with transaction.atomic():
        job = _load(job_id, lock=True)
        if job is None or job.state in FINISHED_STATES:
            return _done(job.state if job else "gone")
        errors = int(job.provider_data.get("step_errors") or 0) + 1
        job.provider_data["step_errors"] = errors
        job.next_poll_at = timezone.now() + timedelta(seconds=min(300.0, 5.0 * 2 ** (errors - 1)))
        job.save(update_fields=["provider_data", "next_poll_at", "updated_at"])
    if errors >= MAX_STEP_ERRORS:
        _fail_job(job_id, SERVER_ERROR)
        return _done(JobState.FAILED)
    return Advance(min(300.0, 5.0 * 2 ** (errors - 1)), JobState.QUEUED, "retrying after a server error")


def stuck_message(seconds: int) -> str:
    return f"This job did not finish within {_human_seconds(seconds)}; it was stopped."


# ============================================================================================
# Reaper
# ============================================================================================


def generation_reap_stale(*, limit: int = 500) -> int:
    """Resume jobs whose worker died, fail jobs that ran too long. Returns how many.

    - An active job whose next step is overdue and whose heartbeat is older than
      MONTAGE_JOB_STALE_SECONDS is re-queued (a job with a provider id resumes by polling it;
      a call that was being submitted is submitted again, with the same idempotency key).
      Re-queues of one job back off exponentially (``heartbeat.requeue_backoff``). A job whose
      worker died mid-step (its heartbeat moved past its next step) is restarted at most
      MONTAGE_JOB_MAX_RESTARTS times; when its worker stops once more it is failed with the
      reason ("The worker running this job stopped N times; ...") and its budget released.
    - An active job running longer than MONTAGE_GENERATION_STUCK_SECONDS (counted from its
      submission, or from its creation while it was never submitted) is failed ("This job
      did not finish within N hours; it was stopped."), cancelled at the provider, its budget
      released."""
    now = timezone.now()
    stuck_seconds = int(getattr(settings, "MONTAGE_GENERATION_STUCK_SECONDS", 2 * 3600))
    count = 0
    too_old = now - timedelta(seconds=stuck_seconds)
    stuck = GenerationJob.objects.filter(state__in=ACTIVE_STATES).filter(
        Q(submitted_at__lt=too_old) | Q(submitted_at__isnull=True, created_at__lt=too_old)
    )
    for job_id in list(stuck.values_list("pk", flat=True)[:limit]):
        if _fail_job(job_id, stuck_message(stuck_seconds), cancel_at_provider=True) is not None:
            count += 1
    cutoff = now - timedelta(seconds=heartbeat.stale_seconds())
    stale = (
        GenerationJob.objects.filter(state__in=ACTIVE_STATES)
        .filter(Q(next_poll_at__lt=cutoff) | Q(next_poll_at__isnull=True))
        .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff))
    )
    for job_id in list(stale.values_list("pk", flat=True)[:limit]):
        outcome, stops = _revive(job_id, cutoff)
        if outcome == "fail":
            if _fail_job(job_id, heartbeat.worker_stopped_message(stops), cancel_at_provider=True) is not None:
                count += 1
        elif outcome == "requeue":
            try:
                job_enqueue(job_id=job_id)
            except Exception:
                logger.warning("could not re-queue generation job %s", job_id, exc_info=True)
                continue
            count += 1
    return count


def _revive(job_id, cutoff) -> tuple[str | None, int]:
    """Decide for one stale job: ("requeue", stops) — recorded, the caller enqueues it;
    ("fail", stops) — its worker stopped too often; (None, stops) — leave it (no longer
    stale, or backing off)."""
    with transaction.atomic():
        job = _load(job_id, lock=True)
        if job is None or job.state in FINISHED_STATES:
            return None, 0
        if (job.heartbeat_at and job.heartbeat_at >= cutoff) or (job.next_poll_at and job.next_poll_at >= cutoff):
            return None, 0
        info = job.provider_data.get("reaper") if isinstance(job.provider_data.get("reaper"), dict) else {}
        requeues = int(info.get("requeues") or 0)
        stops = int(info.get("worker_stops") or 0)
        if requeues and _now_ts() - float(info.get("at") or 0) < heartbeat.requeue_backoff(requeues):
            return None, stops
        # A step began (it moves the heartbeat) and never set the next one: its worker died.
        # Otherwise the step's task was lost or waits in a long queue: re-queued, not counted.
        died = job.heartbeat_at is not None and (job.next_poll_at is None or job.heartbeat_at > job.next_poll_at)
        if died:
            stops += 1
            if stops > heartbeat.max_restarts():
                return "fail", stops
            restarts = heartbeat.max_restarts()
            job.provider_data["retry"] = {
                "attempt": stops + 1, "max_attempts": restarts + 1,
                "message": "The worker running this job stopped; it was restarted.", "at": None,
            }
            _publish_job(job)
        job.provider_data["reaper"] = {"requeues": requeues + 1, "worker_stops": stops, "at": _now_ts()}
        now = timezone.now()
        job.heartbeat_at = job.next_poll_at = now
        job.save(update_fields=["provider_data", "heartbeat_at", "next_poll_at", "updated_at"])
    logger.info("generation job %s: worker %s; re-queued (re-queue %d)", job_id, "stopped" if died else "silent", requeues + 1)
    return "requeue", stops


# ============================================================================================
# Webhooks
# ============================================================================================


def _find_job_for(backend: str, provider_job_id: str, hint: str | None) -> tuple[GenerationJob | None, int | None]:
    def index_in(job) -> int | None:
        for call in _calls(job):
            if call.get("id") and call["id"] == provider_job_id:
                return int(call["index"])
        return None

    if hint:
        job = _load(hint)
        if job is not None and job.backend == backend:
            i = index_in(job)
            if i is not None:
                return job, i
    job = GenerationJob.objects.filter(backend=backend, provider_job_id=provider_job_id).order_by("-created_at").first()
    if job is not None:
        job = _load(job.pk)
        i = index_in(job)
        if i is not None:
            return job, i
    # a second or later call of a multi-call job
    for job in GenerationJob.objects.filter(backend=backend, state__in=ACTIVE_STATES, variations__gt=1).order_by("-created_at")[:500]:
        i = index_in(job)
        if i is not None:
            return _load(job.pk), i
    return None, None


def webhook_receive(*, backend: str, headers: dict[str, str], body: bytes, query: dict[str, str] | None = None) -> dict[str, Any]:
    """A provider's callback: check its signature, apply it once (deliveries repeated with the
    same id are ignored), and let the job take its next step at once."""
    found = get_backend(backend)
    if found is None:
        raise NotFound(f"There is no generation backend called {backend!r}.")
    query = query or {}
    hint = query.get("job")
    cred = ProjectCredential("", {}, False)
    hinted = _load(hint) if hint else None
    if hinted is not None and hinted.backend == backend:
        try:
            cred = credential_load(hinted.project, backend)
        except CredentialUnreadable:
            pass
    ctx = backend_context(found, cred)
    try:
        event = found.parse_webhook({k.lower(): v for k, v in headers.items()}, body, ctx)
    except NotImplementedError:
        raise NotFound(f"{found.title or found.name} does not send webhooks.") from None
    except (ProviderError, ValueError, KeyError, TypeError) as exc:
        logger.info("webhook for %s refused: %s", backend, _safe_message(exc, cred))
        raise DomainError("The webhook signature is not valid.", code="invalid_signature") from None
    job, index = _find_job_for(backend, str(event.provider_job_id or ""), hint)
    if job is not None and job.pk != getattr(hinted, "pk", None):
        try:
            cred = credential_load(job.project, backend)
        except CredentialUnreadable:
            cred = ProjectCredential("", {}, False)
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(backend=backend, delivery_id=str(event.delivery_id)[:255], job=job)
            if job is None or job.state in FINISHED_STATES:
                return {"status": "ignored"}
            if event.result is not None:
                _apply_result(job.pk, index, event.result, cred)
            job_id = str(job.pk)
            transaction.on_commit(lambda: _safe_enqueue(job_id))
    except IntegrityError:
        return {"status": "duplicate"}
    return {"status": "accepted", "job": str(job.pk)}


def _safe_enqueue(job_id: str) -> None:
    try:
        job_enqueue(job_id=job_id)
    except Exception:
        logger.warning("could not enqueue generation job %s after a webhook", job_id, exc_info=True)


__all__ = [
    "Advance",
    "backend_context",
    "backend_ready",
    "generate",
    "generation_estimate",
    "generation_plan",
    "generation_reap_stale",
    "job_advance",
    "job_cancel",
    "job_data",
    "job_enqueue",
    "job_phase",
    "take_seeds",
    "webhook_receive",
]
