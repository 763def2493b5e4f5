"""``generate``: a job, its budget hold and placeholder takes in one transaction, and the
Celery task queued on commit (``job_enqueue`` queues a step later: the reaper, webhooks, the
admin).
"""

from __future__ import annotations

import logging
import uuid
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.media import services as media_services
from apps.production.models import Take, TakeSource, TakeStatus
from apps.production.services import _next_take_number
from apps.projects.access import Access
from apps.projects.events import record_event
from apps.projects.models import Role

from . import ledger
from .calls import _call_key, new_call
from .endings import _fail_job
from .messages import ENQUEUE_FAILED
from .models import GenerationJob, JobState
from .payloads import _take_data, job_data
from .planning import _q4, generation_plan, take_seeds
from .tasks import run_generation_job

logger = logging.getLogger(__name__)


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
    plan = generation_plan(
        access=access,
        shot=shot,
        backend=backend,
        model=model,
        prompt=prompt,
        negative_prompt=negative_prompt,
        seed=seed,
        duration_frames=duration_frames,
        input_image=input_image,
        references=references,
        parent_take=parent_take,
        variations=variations,
        params=params,
        kind=kind,
        input_frame=input_frame,
    )
    project = access.project
    key = str(uuid.uuid4())
    now = timezone.now()
    estimate_shares = _shares(plan.estimate, plan.request.variations)
    calls = [
        new_call(index=c["index"], seed=c["seed"], variations=c["variations"], key=_call_key(key, c["index"]))
        for c in plan.calls
    ]
    with transaction.atomic():
        job = GenerationJob.objects.create(
            project=project,
            shot=shot,
            author=access.user,
            backend=plan.backend.name,
            model=plan.model,
            kind=plan.kind,
            request=plan.request_json,
            variations=plan.request.variations,
            state=JobState.QUEUED,
            idempotency_key=key,
            estimated_cost=plan.estimate,
            provider_data={"calls": calls, "takes": []},
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
                    seed=take_seed,
                    variation=variation,
                    call=call["index"],
                    estimated_cost=str(estimate_shares[variation]),
                )
                if not per_output and call["variations"] > 1:
                    # One provider call made several outputs from one seed: this is output j of
                    # that batch (asking for the same number of variations repeats it).
                    prov.update(batch_index=j, batch_size=call["variations"])
                take = Take.objects.create(
                    shot=shot,
                    number=number,
                    source=TakeSource.GENERATION,
                    provenance=prov,
                    author=access.user,
                    status=TakeStatus.PROCESSING,
                    parent=plan.parent_take,
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
        try:
            run_generation_job.delay(job_id)
        except Exception:  # the broker is down: say so instead of leaving the job queued forever
            logger.exception("could not enqueue generation job %s", job_id)
            _fail_job(job_id, ENQUEUE_FAILED, charge=False)

    transaction.on_commit(send)


def job_enqueue(*, job_id, force: bool = True) -> None:
    """Queue one step of a job now (the reaper, webhooks and the admin use it)."""
    run_generation_job.delay(str(job_id), force=force)
