"""One provider call's state, kept in ``job.provider_data["calls"][i]``, and what every layer of a
running job shares.

- ``_load`` (a job, optionally locked) and ``_calls`` (its calls: pending → submitting →
  queued/running → succeeded/failed); ``Advance``, what a step did.
- Leases: a call marked "submitting" belongs to its worker while that worker beats
  (``_touch``, ``_beating``, ``submit_lease_seconds``, ``_submit_held``).
- Progress (``_progress_of``, throttled ``job.progress`` events, ``_LocalProgress`` for local
  backends), retries shown on the job (``_note_retry``), and a poll or webhook result applied
  to a call (``_apply_result``); outputs are sealed (encrypted) while they wait to be stored.
- Concurrency slots given back (``_free_slots``), waking the next job in line (``WAKE``).
"""

from __future__ import annotations

import json
import logging
import random
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core import heartbeat
from apps.core.events import publish_on_commit

from . import ratelimit
from .backends.base import Backend, Output, PollResult, ProviderError
from .credentials import CredentialUnreadable, ProjectCredential, decrypt, encrypt, scrub
from .messages import CANCELLED, PROVIDER_CANCELLED
from .models import ACTIVE_STATES, GenerationJob, JobState
from .payloads import FINISHED_STATES, _iso, _publish_job, job_phase
from .planning import _q4
from .tasks import run_generation_job

logger = logging.getLogger(__name__)

PROGRESS_EVENT_STEP = 5  # publish job.progress when it moved this many points…
PROGRESS_EVENT_SECONDS = 10.0  # …or this long after the last one
PROGRESS_WRITE_SECONDS = 0.5  # a local job writes its progress to the row at most this often


class _Terminal:
    CALL = ("succeeded", "failed", "cancelled")


def _now_ts() -> float:
    return timezone.now().timestamp()


def _jitter(seconds: float, spread: float = 0.1) -> float:
    return max(0.0, seconds * (1 + random.uniform(-spread, spread)))


# Heartbeats and leases come from the settings (apps.core.heartbeat): a step touches the job's
# heartbeat when it starts and every MONTAGE_JOB_HEARTBEAT_SECONDS while it works; a call
# marked "submitting" (and the claim on storing the outputs) belongs to the worker that made
# it while that worker beats, and is taken over MONTAGE_GENERATION_SUBMIT_LEASE_SECONDS
# (MONTAGE_JOB_STALE_SECONDS) after its last beat.
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


def _call_key(job_key: str, index: int) -> str:
    if index == 0:
        return job_key
    return str(uuid.uuid5(uuid.UUID(job_key), f"call-{index}"))


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


def new_call(*, index: int, seed: Any, variations: int, key: str, **fields: Any) -> dict[str, Any]:
    """One provider call's state as ``provider_data["calls"]`` keeps it, before anything was
    sent (``fields`` override the starting values, e.g. for an old job already submitted)."""
    call: dict[str, Any] = {
        "index": index, "seed": seed, "variations": variations, "key": key,
        "id": "", "state": "pending", "marked_at": None, "attempts": 0, "poll_errors": 0, "progress": 0,
        "error": "", "billable": False, "cost": None, "outputs": None, "output_count": 0, "filtered_count": 0,
        "takes": [],
    }  # fmt: skip
    call.update(fields)
    return call


def _calls(job: GenerationJob) -> list[dict[str, Any]]:
    data = job.provider_data if isinstance(job.provider_data, dict) else {}
    job.provider_data = data
    calls = data.get("calls")
    if not calls:
        # A job made by hand (admin, old rows): one call.
        calls = data["calls"] = [
            new_call(
                index=0,
                seed=(job.request or {}).get("seed"),
                variations=job.variations,
                key=job.idempotency_key,
                id=job.provider_job_id or "",
                state="running" if job.provider_job_id else "pending",
                takes=list(data.get("takes") or []),
            )
        ]
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
        "url": output.url,
        "path": str(output.path) if output.path else None,
        "headers": dict(output.headers or {}),
        "content_type": output.content_type,
        "filename": output.filename,
        "filtered": bool(output.filtered),
        "meta": output.meta or {},
    }


def _output_from_dict(data: dict[str, Any]) -> Output:
    return Output(
        url=data.get("url"),
        path=Path(data["path"]) if data.get("path") else None,
        headers=data.get("headers") or {},
        content_type=data.get("content_type") or "",
        filename=data.get("filename") or "",
        filtered=bool(data.get("filtered")),
        meta=data.get("meta") or {},
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


def _log_unexpected(job: GenerationJob, exc: BaseException, cred: ProjectCredential | None, where: str) -> None:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    logger.error("generation job %s: unexpected error in %s:\n%s", job.pk, where, scrub(text, cred.api_key if cred else None))


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
            job.project_id,
            "job.progress",
            {
                "id": str(job.pk),
                "shot": str(job.shot_id) if job.shot_id else None,
                "state": job.state,
                "phase": job_phase(job),
                "progress": job.progress,
            },
        )


def _note_retry(job_id, *, attempt: int, max_attempts: int, message: str, wait: float | None) -> None:
    """Show on the job that a provider call waits to be tried again (and why)."""
    at = _iso(timezone.now() + timedelta(seconds=wait)) if wait is not None else None
    with transaction.atomic():
        job = _load(job_id, lock=True)
        if job is None or job.state in FINISHED_STATES:
            return
        job.provider_data["retry"] = {
            "attempt": max(1, int(attempt)),
            "max_attempts": max(1, int(max_attempts), int(attempt)),
            "message": message,
            "at": at,
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
        job.save(
            update_fields=["provider_data", "progress", "poll_count", "provider_state", "state", "heartbeat_at", "updated_at"]
        )
    return (ended, job) if with_job else ended


def _wake_job(job_id: str) -> None:
    """Run a waiting job's next step now (a slot it waits for just freed). Eager mode (tests)
    does not: tests drive every step themselves."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
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
