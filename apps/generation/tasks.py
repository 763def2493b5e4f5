"""Celery tasks of the generation app (routed to the ``generation`` queue).

``run_generation_job`` does one step of a job and re-schedules itself with a countdown until
the job is over: workers never sleep in a loop, and a job waiting for the provider costs no
worker while it waits. In eager mode (tests) it does one step and does not re-schedule;
tests drive further steps with ``services.job_advance``.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

logger = logging.getLogger(__name__)


@shared_task(name="apps.generation.tasks.run_generation_job", ignore_result=True, acks_late=True)
def run_generation_job(job_id: str, force: bool = False) -> str:
    """One step of a generation job; idempotent (a finished or missing job returns quietly).

    A delivery that comes before the job's next step is due is a duplicate (a re-queued or
    redelivered message while the job's own chain is alive) and does nothing, unless
    ``force`` (the reaper, webhooks)."""
    from .services import job_advance

    step = job_advance(job_id=job_id, due_only=not force)
    if step.delay is not None and step.note != "not due yet (a duplicate task)":
        if settings.CELERY_TASK_ALWAYS_EAGER:
            return step.state  # tests drive the next steps themselves
        try:
            run_generation_job.apply_async((str(job_id),), countdown=max(0.0, step.delay))
        except Exception:  # the broker is down: the reaper picks the job up later
            logger.warning("could not schedule the next step of generation job %s", job_id, exc_info=True)
    return step.state
