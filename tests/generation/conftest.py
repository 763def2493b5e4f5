"""Fixtures for the generation job machinery: a fake HTTP provider with its adapter, an
in-process scripted backend, a private Redis prefix for slots and cool-downs, a private
MEDIA_ROOT, and helpers that drive jobs step by step."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import redis
from django.conf import settings as django_settings

from apps.generation import registry
from apps.generation.credentials import credential_set
from apps.generation.services import job_advance
from apps.projects.access import project_access
from tests.fakes.generic import FakeGeneric, GenericBackend, ScriptedBackend

API = "/api/v1"
TEST_KEY = "sk-test-0123456789abcdefWXYZ"
WEBHOOK_SECRET = "whsec-montage-test"


@pytest.fixture(scope="session")
def redis_prefix():
    prefix = f"montage-test-gen:{uuid.uuid4().hex[:8]}"
    yield prefix
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture(autouse=True)
def generation_settings(settings, tmp_path, redis_prefix):
    """Own Redis keys per test, private media folder, fakes registered."""
    settings.MONTAGE_RATELIMIT_PREFIX = f"{redis_prefix}:{uuid.uuid4().hex[:8]}"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MONTAGE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.MONTAGE_BACKEND_CONCURRENCY = {}
    yield settings


@pytest.fixture(scope="session")
def _fake_server():
    server = FakeGeneric().start()
    yield server
    server.stop()


@pytest.fixture
def fake(settings, _fake_server):
    """The fake HTTP provider (fresh state), with the ``fake-generic`` adapter pointed at it."""
    server = _fake_server
    with server.lock:
        server.calls.clear()
        server.scenario.clear()
        server.jobs.clear()
        server.by_key.clear()
        server.video = None
    backend = GenericBackend()
    registry.register_instance(backend)
    settings.MONTAGE_BACKEND_URLS = {**(settings.MONTAGE_BACKEND_URLS or {}), backend.name: server.url}
    try:
        yield server
    finally:
        registry.unregister(backend.name)


@pytest.fixture
def scripted(tmp_path):
    backend = ScriptedBackend(folder=tmp_path / "provider-out")
    registry.register_instance(backend)
    yield backend
    registry.unregister(backend.name)


@pytest.fixture
def keyed(crew, fake):
    """The crew's project with an API key and budget for fake-generic."""
    access = project_access(user=crew.director, project_id=crew.project.pk)
    credential_set(access=access, backend="fake-generic", api_key=TEST_KEY)
    crew.project.budget_amount = Decimal("250.00")
    crew.project.save(update_fields=["budget_amount"])
    return crew


def access_of(crew, name: str = "owner"):
    return project_access(user=getattr(crew, name), project_id=crew.project.pk)


def drive(job_id, *, max_steps: int = 30) -> list:
    """Call job_advance until the job is over; the steps it took."""
    steps = []
    for _ in range(max_steps):
        step = job_advance(job_id=job_id)
        steps.append(step)
        if step.done:
            return steps
    raise AssertionError(f"job {job_id} did not finish in {max_steps} steps: {steps[-3:]}")
