"""The reaper of generation jobs (``generation_reap_stale``, called from
``apps.core.tasks.reap_stale_jobs``): resume jobs whose worker died, fail jobs that ran too long.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core import heartbeat

from .calls import _load, _now_ts
from .creation import job_enqueue
from .endings import _fail_job
from .messages import stuck_message
from .models import ACTIVE_STATES, GenerationJob
from .payloads import FINISHED_STATES, _publish_job

logger = logging.getLogger(__name__)


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
                "attempt": stops + 1,
                "max_attempts": restarts + 1,
                "message": "The worker running this job stopped; it was restarted.",
                "at": None,
            }
            _publish_job(job)
        job.provider_data["reaper"] = {"requeues": requeues + 1, "worker_stops": stops, "at": _now_ts()}
        now = timezone.now()
        job.heartbeat_at = job.next_poll_at = now
        job.save(update_fields=["provider_data", "heartbeat_at", "next_poll_at", "updated_at"])
    logger.info("generation job %s: worker %s; re-queued (re-queue %d)", job_id, "stopped" if died else "silent", requeues + 1)
    return "requeue", stops
