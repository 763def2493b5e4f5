"""Generation jobs: from a request on a shot to takes with stored media, and the money in between.

Public API (keyword-only):

- ``generate(access, shot, backend, ...)`` → (job, takes): every check before anything is
  reserved or sent, then one transaction (job, budget hold, placeholder takes, events) and
  the Celery task enqueued on commit.
- ``generation_plan(...)`` / ``generation_estimate(...)``: the same checks, nothing written.
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

Where things live (this module is the public face; it re-exports):

- ``planning``: ``generation_plan``, ``generation_estimate``, ``backend_context``, ``backend_ready``,
  ``take_seeds``: every check, nothing written.
- ``creation``: ``generate``, ``job_enqueue``.
- ``payloads``: ``job_data``, ``job_phase``: the public shape of a job and its events.
- ``calls``: one provider call's state in ``provider_data``, leases, progress, ``Advance``.
- ``inputs``: input files for a provider call and the ``GenerationRequest``.
- ``runner``: ``job_advance`` and ``_Step`` (one step: submit, poll, finish).
- ``submitting``: the submit side of a step (submit once, retries, provider errors).
- ``outputs``: downloading outputs and storing them as takes; settling the budget.
- ``endings``: ``job_cancel`` and ``_fail_job`` (takes fail, budget released or charged).
- ``reaper``: ``generation_reap_stale``.
- ``webhooks``: ``webhook_receive``.
- ``messages``: the sentences people see on failed jobs and takes.

Tunables live where they are read: ``runner.POLL_MIN_SECONDS`` … ``runner.MAX_STEP_ERRORS``,
``submitting.MAX_SUBMIT_ATTEMPTS``, ``outputs.MAX_FINISH_ATTEMPTS``, ``calls.PROGRESS_WRITE_SECONDS``, ``calls.WAKE`` (patch them there).
"""

from __future__ import annotations

from .calls import Advance, submit_lease_seconds
from .creation import generate, job_enqueue
from .endings import _fail_job, job_cancel
from .messages import (
    ALL_FILTERED,
    CANCELLED,
    ENQUEUE_FAILED,
    FEWER_OUTPUTS,
    FILE_LOST,
    JOB_LOST,
    OUTPUT_FILTERED,
    PROVIDER_CANCELLED,
    SERVER_ERROR,
    SHOT_GONE,
    stuck_message,
)
from .payloads import FINISHED_STATES, job_data, job_phase
from .planning import backend_context, backend_ready, generation_estimate, generation_plan, take_seeds
from .reaper import generation_reap_stale
from .runner import job_advance
from .webhooks import webhook_receive

__all__ = [
    "ALL_FILTERED",
    "Advance",
    "CANCELLED",
    "ENQUEUE_FAILED",
    "FEWER_OUTPUTS",
    "FILE_LOST",
    "FINISHED_STATES",
    "JOB_LOST",
    "OUTPUT_FILTERED",
    "PROVIDER_CANCELLED",
    "SERVER_ERROR",
    "SHOT_GONE",
    "_fail_job",
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
    "stuck_message",
    "submit_lease_seconds",
    "take_seeds",
    "webhook_receive",
]
