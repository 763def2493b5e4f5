"""The public shapes of a generation job (``job_data``, ``job_phase``) and the events that carry
them (``job.updated``; ``take.*`` data with the job's id).
"""

from __future__ import annotations

from typing import Any

from apps.core.events import publish_on_commit
from apps.production.services import take_data

from .models import GenerationJob, JobState
from .planning import take_seeds
from .registry import get_backend

FINISHED_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


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
    data = take_data(take)
    data["job"] = (take.provenance or {}).get("job")
    return data
