"""Benchmark: 1,000 generation jobs through a fake provider with a concurrency cap of 4.

Jobs are created with the real ``generate`` service (budget holds, placeholder takes) in a
throwaway test database (PostgreSQL when DATABASE_URL points at one, else a temporary
SQLite file), then N worker threads drive them with ``services.job_advance`` — the body
of the Celery task, without Celery — taking each job again when its next step is due. The
concurrency slots are the real ones in Redis (REDIS_URL, default redis://127.0.0.1:6379/0).

The fake provider is an in-process backend that sleeps briefly per poll, counts every
submit call, and records the highest number of jobs it had running at once.

Prints throughput (jobs/s), the highest concurrency seen at the fake (must never pass the
cap) and duplicate submissions (must be 0).

    .venv/bin/python bench/generation.py [--jobs 1000] [--workers 16] [--cap 4] [--poll-sleep 0.005]
"""

from __future__ import annotations

import argparse
import heapq
import os
import sys
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings.test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402


def configure(args, workdir: Path) -> None:
    settings.MEDIA_ROOT = str(workdir / "media")
    settings.MONTAGE_RATELIMIT_PREFIX = f"montage-bench:{uuid.uuid4().hex[:8]}"
    settings.MONTAGE_BACKEND_CONCURRENCY = {"bench-fake": args.cap}
    db = connections["default"].settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        # A file (not shared-cache memory) so that worker threads wait for the write lock.
        db.setdefault("TEST", {})["NAME"] = str(workdir / "bench.sqlite3")

    from apps.generation import runner, tasks
    from apps.media import services as media_services

    # Shrink the timings: the fake answers in milliseconds, not seconds.
    runner.POLL_MIN_SECONDS = 0.005
    runner.POLL_MAX_SECONDS = 0.02
    runner.SLOT_WAIT_SECONDS = 1.0  # a freed slot wakes the next job at once (calls.WAKE)
    runner.SLOT_WAIT_MAX_SECONDS = 30.0
    # The benchmark drives steps itself; it measures the job machinery, not ingest.
    tasks.run_generation_job.delay = lambda *a, **k: None
    media_services.media_enqueue_ingest = lambda **k: None


def seed(n_jobs: int, backend_name: str):
    from django.contrib.auth.models import User

    from apps.generation.services import generate
    from apps.production.models import Segment, Shot
    from apps.projects.access import project_access
    from apps.projects.models import Membership, Project
    from apps.timeline.models import Timeline

    director = User.objects.create_user(f"bench-{uuid.uuid4().hex[:6]}", password="x")
    project = Project.objects.create(
        title="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}", budget_amount=Decimal("100000"), created_by=director
    )
    Membership.objects.create(project=project, user=director, role="director")
    Timeline.objects.get_or_create(project=project)
    segment = Segment.objects.create(project=project, position=0, title="Bench", owner=director, status="claimed")
    shots = [Shot.objects.create(segment=segment, position=i, duration_frames=48, prompt="a wave") for i in range(50)]
    access = project_access(user=director, project_id=project.pk)
    ids = []
    for i in range(n_jobs):
        job, _ = generate(access=access, shot=shots[i % len(shots)], backend=backend_name, prompt=f"wave {i}", duration_frames=48)
        ids.append(str(job.pk))
    return project, ids


class Scheduler:
    """Due jobs, earliest first; workers block until one is due. A job is run by one thread
    at a time here (as one Celery message at a time would); ``wake`` brings a job forward
    (the machinery calls it when a slot the job waits for frees)."""

    def __init__(self, ids: list[str]) -> None:
        now = time.monotonic()
        self.seq = 0
        self.latest: dict[str, int] = {}
        self.heap: list[tuple[float, int, str]] = []
        for job_id in ids:
            self._push(job_id, now)
        self.pending = len(ids)
        self.running: set[str] = set()
        self.woken: set[str] = set()
        self.cond = threading.Condition()

    def _push(self, job_id: str, due: float) -> None:
        self.seq += 1
        self.latest[job_id] = self.seq
        heapq.heappush(self.heap, (due, self.seq, job_id))

    def take(self) -> str | None:
        with self.cond:
            while True:
                if self.pending == 0:
                    return None
                while self.heap and self.latest.get(self.heap[0][2]) != self.heap[0][1]:
                    heapq.heappop(self.heap)  # superseded by a wake-up
                if self.heap:
                    due, _, job_id = self.heap[0]
                    wait = due - time.monotonic()
                    if wait <= 0:
                        heapq.heappop(self.heap)
                        self.latest.pop(job_id, None)
                        self.running.add(job_id)
                        return job_id
                    self.cond.wait(timeout=wait)
                else:
                    self.cond.wait(timeout=0.05)

    def again(self, job_id: str, delay: float) -> None:
        with self.cond:
            self.running.discard(job_id)
            if job_id in self.woken:
                self.woken.discard(job_id)
                delay = 0.0
            self._push(job_id, time.monotonic() + delay)
            self.cond.notify()

    def wake(self, job_id: str) -> None:
        with self.cond:
            if job_id in self.running:
                self.woken.add(job_id)
            elif job_id in self.latest:
                self._push(job_id, time.monotonic())
                self.cond.notify()

    def finished(self, job_id: str) -> None:
        with self.cond:
            self.running.discard(job_id)
            self.woken.discard(job_id)
            self.pending -= 1
            self.cond.notify_all()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--cap", type=int, default=4)
    parser.add_argument("--poll-sleep", type=float, default=0.005, help="seconds the fake sleeps per poll")
    parser.add_argument("--polls", type=int, default=2, help="running polls before a job succeeds")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="montage-bench-gen-"))
    configure(args, workdir)

    from apps.generation import ratelimit, registry
    from apps.generation.services import job_advance
    from tests.fakes.generic import Script, ScriptedBackend

    backend = ScriptedBackend(
        name="bench-fake", script=Script(polls=args.polls, poll_sleep=args.poll_sleep, honour_key=False),
        folder=workdir / "provider",
    )
    registry.register_instance(backend)

    old = setup_databases(verbosity=0, interactive=False)
    try:
        t0 = time.perf_counter()
        project, ids = seed(args.jobs, backend.name)
        print(f"database: {connection.vendor}; created {len(ids)} jobs in {time.perf_counter() - t0:.1f} s "
              f"(cap {args.cap}, {args.workers} worker threads, fake sleeps {args.poll_sleep * 1000:.0f} ms per poll)")
        connection.close()

        sched = Scheduler(ids)
        from apps.generation import calls

        calls.WAKE = sched.wake
        states: dict[str, str] = {}
        steps = [0]
        notes: dict[str, int] = {}
        errors: list[str] = []
        lock = threading.Lock()

        def worker() -> None:
            try:
                while True:
                    job_id = sched.take()
                    if job_id is None:
                        return
                    try:
                        step = job_advance(job_id=job_id)
                    except Exception as exc:  # noqa: BLE001 - counted and printed
                        with lock:
                            errors.append(f"{type(exc).__name__}: {exc}")
                        sched.again(job_id, 0.05)
                        continue
                    with lock:
                        steps[0] += 1
                        notes[step.note] = notes.get(step.note, 0) + 1
                    if step.done:
                        with lock:
                            states[job_id] = step.state
                        sched.finished(job_id)
                    else:
                        sched.again(job_id, step.delay)
            finally:
                connection.close()

        t1 = time.perf_counter()
        threads = [threading.Thread(target=worker, name=f"w{i}") for i in range(args.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t1

        keys = [r.idempotency_key for r in backend.submit_calls]
        duplicates = len(keys) - len(set(keys))
        succeeded = sum(1 for s in states.values() if s == "succeeded")
        print(f"finished {len(states)} jobs ({succeeded} succeeded) in {elapsed:.1f} s: "
              f"{len(states) / elapsed:.1f} jobs/s, {steps[0]} steps ({steps[0] / elapsed:.0f} steps/s)")
        print(f"highest concurrency at the fake: {backend.max_active} (cap {args.cap}) — "
              f"{'OK' if backend.max_active <= args.cap else 'OVER THE CAP'}")
        print(f"submit calls: {len(keys)}, duplicate submissions: {duplicates} — {'OK' if duplicates == 0 else 'DUPLICATES'}")
        print("steps by outcome: " + ", ".join(f"{k or 'done'} {v}" for k, v in sorted(notes.items(), key=lambda kv: -kv[1])))
        fp = "nokey"
        print(f"slots still held: {ratelimit.in_use(backend.name, fp)}; step errors: {len(errors)}")
        for line in sorted(set(errors))[:5]:
            print("  ", line)
        ratelimit.reset(backend.name, fp)
        if backend.max_active > args.cap or duplicates or succeeded != len(ids):
            sys.exit(1)
    finally:
        connection.close()
        teardown_databases(old, verbosity=0)
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
