"""Advancing a job: ``job_advance`` (the body of the Celery task) and ``_Step``, one step —
honour a 429 cool-down, submit pending calls that get a concurrency slot (submit once), poll
calls that run at the provider, and finish when every call has ended.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import ratelimit
from .backends.base import (
    AuthError,
    Backend,
    JobLost,
    Output,
    PollResult,
    ProviderError,
    RateLimited,
    TransientError,
)
from .calls import (
    Advance,
    _apply_result,
    _calls,
    _done,
    _free_slots,
    _jitter,
    _load,
    _log_unexpected,
    _member,
    _note_retry,
    _safe_message,
    _submit_held,
    _Terminal,
)
from .credentials import CredentialUnreadable, ProjectCredential, credential_load
from .endings import _fail_job
from .messages import CANCELLED, JOB_LOST, SERVER_ERROR, stuck_message
from .models import GenerationJob, JobState
from .outputs import _finish_job
from .payloads import FINISHED_STATES
from .planning import backend_context
from .registry import get_backend
from .submitting import DEFAULT_RETRY_AFTER, _Submitting

logger = logging.getLogger(__name__)


# Timing (module constants so that the benchmark can shrink them).
POLL_MIN_SECONDS = 2.0  # first poll; then ×1.5 per poll up to POLL_MAX_SECONDS
POLL_MAX_SECONDS = 30.0
SLOT_WAIT_SECONDS = 3.0  # a job without a concurrency slot looks again after this × its place in line
SLOT_WAIT_MAX_SECONDS = 60.0
MAX_POLL_ERRORS = 8  # consecutive transient poll failures before a call is given up
MAX_STEP_ERRORS = 5  # unexpected exceptions in one job before it is failed


class _Step(_Submitting):
    """One step of a job (``run``): submit (``submitting._Submitting``), poll, finish."""

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
                self.backend.name,
                self.fp,
                _member(self.job, call["index"]),
                limit=self.limit,
                base_wait=SLOT_WAIT_SECONDS,
                max_wait=SLOT_WAIT_MAX_SECONDS,
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
                call["state"] in ("queued", "running")
                and call.get("id")
                and call["index"] not in self.fresh
                and call["index"] not in self.submitted_now
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
            self._end_call(
                index, f"{self.msg(exc)} A director or producer can update the key in the project's settings.", billable=False
            )
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
                    job,
                    call,
                    f"Lost contact with {self.backend.title or self.backend.name} while it worked on this job "
                    f"({message}); generate again.",
                    billable=False,
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
        _fail_job(
            job.pk,
            f"The stored API key for {backend.title or backend.name} can no longer be read; "
            "a director or producer should enter it again.",
        )
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
