"""Heartbeats of long-running jobs (generation, ingest, exports), shared timing.

A job that works touches its heartbeat every ``MONTAGE_JOB_HEARTBEAT_SECONDS``; the reaper
(apps.core.tasks.reap_stale_jobs, every ``MONTAGE_REAPER_INTERVAL_SECONDS``) takes a job
without a heartbeat for ``MONTAGE_JOB_STALE_SECONDS`` for one whose worker died. Re-queues of
the same job back off exponentially (``requeue_backoff``), so a job whose worker keeps dying
is never re-queued in a tight loop.

``beating(touch)`` keeps a heartbeat fresh from a side thread while a block runs that does not
beat by itself (a download, an upload, a local model working inside one call).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

REQUEUE_BACKOFF_MAX_SECONDS = 15 * 60


def heartbeat_seconds() -> float:
    return max(0.01, float(getattr(settings, "MONTAGE_JOB_HEARTBEAT_SECONDS", 15)))


def stale_seconds() -> float:
    return max(2 * heartbeat_seconds(), float(getattr(settings, "MONTAGE_JOB_STALE_SECONDS", 60)))


def max_restarts() -> int:
    return max(1, int(getattr(settings, "MONTAGE_JOB_MAX_RESTARTS", 3)))


def requeue_backoff(requeues: int) -> float:
    """Seconds that must pass after the ``requeues``-th re-queue of a job before the next:
    two stale periods after the first, then twice as long each time (at most 15 minutes)."""
    if requeues <= 0:
        return 0.0
    return min(REQUEUE_BACKOFF_MAX_SECONDS, stale_seconds() * 2 ** min(requeues, 16))


def worker_stopped_message(times: int, what: str = "job") -> str:
    return (
        f"The worker running this {what} stopped {times} time{'s' if times != 1 else ''}; it was not restarted again. "
        "Try again; if it keeps happening, the server's worker log says why (it may run out of memory)."
    )


@contextlib.contextmanager
def beating(touch: Callable[[], object], *, every: float | None = None, name: str = "job-beat") -> Iterator[None]:
    """Call ``touch()`` every ``every`` seconds (default: the heartbeat interval) from a side
    thread while the block runs. An exception from ``touch`` ends the beating (not the block).

    Not inside a transaction (the tests' TestCase): another connection could not see the
    rows, and on SQLite would wait for the block's own lock."""
    if connection.in_atomic_block:
        yield
        return
    interval = heartbeat_seconds() if every is None else max(0.01, float(every))
    stop = threading.Event()

    def run() -> None:
        from django.db import connection as thread_connection

        try:
            while not stop.wait(interval):
                touch()
        except Exception:  # noqa: BLE001 - best effort: the job goes on without it
            logger.debug("%s stopped", name, exc_info=True)
        finally:
            thread_connection.close()

    thread = threading.Thread(target=run, daemon=True, name=name)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
