"""Concurrency slots and cool-downs in Redis, shared by every worker."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from apps.generation import ratelimit
from apps.generation.credentials import credential_load, credential_set
from apps.generation.models import GenerationJob
from apps.generation.services import generate, job_advance
from tests.fakes.generic import GenericBackend

from .conftest import access_of, drive


def _fp() -> str:
    return uuid.uuid4().hex[:12]


def test_slots_are_never_over_the_cap_under_contention():
    fp = _fp()
    granted: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def worker(n: int) -> None:
        barrier.wait(timeout=5)
        for i in range(10):
            member = f"job-{n}-{i}"
            if ratelimit.acquire("bench", fp, member, limit=4):
                with lock:
                    granted.append(member)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 4
    assert ratelimit.in_use("bench", fp) == 4
    ratelimit.release("bench", fp, granted[0])
    assert ratelimit.acquire("bench", fp, "late", limit=4)
    assert not ratelimit.acquire("bench", fp, "later", limit=4)
    assert ratelimit.acquire("bench", fp, granted[1], limit=4)  # renewing a held slot always works


def test_forced_renewal_and_lease_expiry():
    fp = _fp()
    assert ratelimit.acquire("b", fp, "a", limit=1, lease=0.2)
    assert not ratelimit.acquire("b", fp, "b", limit=1)
    assert ratelimit.acquire("b", fp, "c", limit=1, force=True)  # already running at the provider
    time.sleep(0.3)  # a's lease ran out (its worker died)
    assert ratelimit.holders("b", fp) == ["c"]


def test_cool_down_is_shared_and_never_shortened():
    fp = _fp()
    assert ratelimit.cooldown_remaining("b", fp) == 0
    ratelimit.cooldown_set("b", fp, 5)
    ratelimit.cooldown_set("b", fp, 1)
    assert 4 < ratelimit.cooldown_remaining("b", fp) <= 5
    ratelimit.reset("b", fp)
    assert ratelimit.cooldown_remaining("b", fp) == 0


def test_concurrency_precedence(settings):
    backend = GenericBackend()
    settings.MONTAGE_BACKEND_CONCURRENCY = {}
    assert ratelimit.concurrency_for(backend) == 4
    assert ratelimit.concurrency_for(backend, {"concurrency": 2}) == 2
    settings.MONTAGE_BACKEND_CONCURRENCY = {"fake-generic": 7}
    assert ratelimit.concurrency_for(backend, {"concurrency": 2}) == 7


@pytest.mark.django_db
def test_with_a_cap_of_two_the_third_job_waits_queued_until_a_slot_frees(keyed, fake, settings):
    settings.MONTAGE_BACKEND_CONCURRENCY = {"fake-generic": 2}
    jobs = [
        generate(access=access_of(keyed), shot=keyed.shot, backend="fake-generic", prompt=f"take {i}", duration_frames=96)[0]
        for i in range(3)
    ]
    steps = [job_advance(job_id=j.pk) for j in jobs]
    assert fake.count("POST", "/v1/jobs") == 2
    third = GenerationJob.objects.get(pk=jobs[2].pk)
    assert third.state == "queued" and not third.provider_job_id
    assert not steps[2].done and steps[2].delay <= 5  # re-scheduled, not blocked
    for _ in range(3):
        job_advance(job_id=jobs[2].pk)
    assert fake.count("POST", "/v1/jobs") == 2
    fp = credential_load(keyed.project, "fake-generic").fingerprint
    assert ratelimit.in_use("fake-generic", fp) == 2

    drive(jobs[0].pk)  # the first finishes: its slot is free
    assert ratelimit.in_use("fake-generic", fp) == 1
    job_advance(job_id=jobs[2].pk)
    assert fake.count("POST", "/v1/jobs") == 3
    assert GenerationJob.objects.get(pk=jobs[2].pk).state == "running"
    drive(jobs[1].pk)
    drive(jobs[2].pk)
    assert ratelimit.in_use("fake-generic", fp) == 0


@pytest.mark.django_db
def test_slots_are_per_account(keyed, fake, settings):
    """Two projects with different keys do not share slots; the same key does."""
    from tests.conftest import make_project, make_segment, make_shot

    settings.MONTAGE_BACKEND_CONCURRENCY = {"fake-generic": 1}
    other = make_project(keyed.director, budget_amount=100)
    credential_set(access=access_of_project(keyed.director, other), backend="fake-generic", api_key="sk-another-account-key")
    shot = make_shot(make_segment(other, owner=keyed.director))
    a = generate(access=access_of(keyed, "director"), shot=keyed.shot, backend="fake-generic", prompt="a", duration_frames=96)[0]
    b = generate(access=access_of_project(keyed.director, other), shot=shot, backend="fake-generic", prompt="b", duration_frames=96)[0]
    job_advance(job_id=a.pk)
    job_advance(job_id=b.pk)
    assert fake.count("POST", "/v1/jobs") == 2


def access_of_project(user, project):
    from apps.projects.access import project_access

    return project_access(user=user, project_id=project.pk)
