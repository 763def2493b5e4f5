"""How a job ends early: ``_fail_job`` (its unfinished takes fail, the budget is released or
charged, the provider is asked to cancel) and ``job_cancel`` (who may cancel).
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.core.errors import Conflict, NotFound, PermissionDenied
from apps.production.models import Shot, Take, TakeStatus
from apps.projects.access import Access
from apps.projects.events import record_event
from apps.projects.models import Role

from . import ledger
from .calls import _calls, _free_slots, _load, _member, _safe_message, _Terminal
from .credentials import CredentialUnreadable, ProjectCredential, credential_load
from .messages import CANCELLED
from .models import GenerationJob, JobState
from .payloads import FINISHED_STATES, _publish_job, _take_data
from .planning import _drop_workdir, backend_context
from .registry import get_backend

logger = logging.getLogger(__name__)


def _fail_job(
    job_id, error: str, *, charge: bool = False, state: str = JobState.FAILED, cancel_at_provider: bool = False
) -> GenerationJob | None:
    """End a job now: its unfinished takes fail with ``error``, the budget is released (or
    settled at the estimate with ``charge``)."""
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
