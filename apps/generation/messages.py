"""Sentences people see on failed jobs and takes (the job's ``error``, a take's ``error``)."""

from __future__ import annotations

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


def stuck_message(seconds: int) -> str:
    return f"This job did not finish within {_human_seconds(seconds)}; it was stopped."


def _human_seconds(seconds: float) -> str:
    seconds = int(seconds)
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
