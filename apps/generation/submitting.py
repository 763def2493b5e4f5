"""Submitting a job's provider calls, once each (the ``_Submitting`` part of ``runner._Step``).

A call is first marked ``submitting`` (attempt + 1, time) in a committed transaction; a call
that already has a provider id, or is marked submitting with a fresh mark, is never submitted
again; the provider id is stored in its own transaction the moment submit returns. The
idempotency key (the job's, or a UUID derived from it for call i > 0) goes to providers that
accept one, so even the retry of a call whose mark went stale (worker killed inside submit) is
not a second job there. QuotaExhausted and AuthError fail at once (never retried); RateLimited
sets the cool-down for the account; TransientError is retried with exponential backoff, up to
MAX_SUBMIT_ATTEMPTS tries.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import ratelimit
from .backends.base import (
    AuthError,
    Backend,
    BackendContext,
    BackendValidationError,
    JobLost,
    PollResult,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from .calls import (
    Advance,
    _beating,
    _calls,
    _jitter,
    _load,
    _LocalProgress,
    _log_unexpected,
    _note_retry,
    _now_ts,
    _progress_of,
    _submit_held,
    _Terminal,
)
from .credentials import ProjectCredential
from .inputs import _build_request, _InputMissing
from .messages import JOB_LOST
from .models import GenerationJob, JobState
from .payloads import FINISHED_STATES, _publish_job

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = 30.0  # a 429 without Retry-After
MAX_SUBMIT_ATTEMPTS = 5


class _Submitting:
    """The submit side of a step. ``runner._Step`` provides the state (``job``, ``backend``,
    ``cred``, ``ctx``, ``fp``, ``retry_in``, ``poll_after``, ``submitted_now``) and the helpers
    ``msg``, ``again``, ``release_slot`` and ``apply``."""

    job: GenerationJob
    backend: Backend
    cred: ProjectCredential
    ctx: BackendContext
    fp: str
    retry_in: float | None
    poll_after: float | None
    submitted_now: set[int]

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
                self._fail_call(
                    job,
                    call,
                    f"{self.backend.title or self.backend.name} could not take this job after "
                    f"{call['attempts']} tries: {call.get('error') or 'no answer'}",
                    billable=False,
                )
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
                hit = call["index"] == index or (
                    account_wide and not call.get("id") and call["state"] in ("pending", "submitting")
                )
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
            self.job.pk,
            attempt=int(call.get("attempts") or 0) + limited + 1,
            max_attempts=MAX_SUBMIT_ATTEMPTS + limited,
            message=message,
            wait=wait,
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
                        index,
                        f"{name} could not be reached after {attempts} tries: {message}",
                        billable=False,
                        account_wide=False,
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
                    index,
                    f"{self.msg(exc)} A director or producer can update the key in the project's settings.",
                    billable=False,
                    account_wide=True,
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
                    index,
                    f"Something went wrong on the server while sending this job to {name}; try again.",
                    billable=False,
                    account_wide=False,
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
                job.save(
                    update_fields=["provider_data", "provider_job_id", "provider_state", "submitted_at", "state", "updated_at"]
                )
                self.job = job
        if cancel_now:
            self._cancel_at_provider(provider_id)
            self.release_slot(index)
            return
        if result.state in ("succeeded", "failed"):
            self.apply(
                index,
                PollResult(
                    state=result.state,
                    progress=100,
                    outputs=list(result.outputs or []),
                    error=result.error or "",
                    billable=result.state != "failed",
                    poll_after=result.poll_after,
                    raw=result.raw or {},
                ),
            )
        elif result.poll_after is not None:
            self.poll_after = result.poll_after if self.poll_after is None else min(self.poll_after, result.poll_after)

    def _cancel_at_provider(self, provider_id: str) -> None:
        if not provider_id:
            return
        try:
            self.backend.cancel(provider_id, self.ctx)
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            logger.info("job %s: cancelling %s at %s failed: %s", self.job.pk, provider_id, self.backend.name, self.msg(exc))
