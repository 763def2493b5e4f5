"""Shared helpers for provider adapter tests (any backend, any fake).

Adapter tests need no database: they build a ``GenerationRequest``, point a
``BackendContext`` at a fake provider and drive the backend directly. Start the fake once
per module and ``reset`` it per test (stopping a fake server takes about half a second):

    @pytest.fixture(scope="module")
    def server():
        with FakeRunway() as fake:
            yield fake

    @pytest.fixture
    def fake(server):
        return reset(server)

    with FakeRunway() as fake:
        backend = RunwayBackend()
        ctx = ctx_for(fake, tmp_path)
        req = video_request(kind="image_to_video", model="gen4_turbo", seconds=5, image=png_input(tmp_path))
        job = backend.submit(req, ctx)
        final, seen = poll_until_done(backend, job.provider_job_id, ctx)
        path = backend.download(final.outputs[0], ctx, tmp_path / "take.mp4")
        assert_mp4(path)
"""

from __future__ import annotations

import base64
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from apps.generation.backends.base import (
    Backend,
    BackendContext,
    GenerationRequest,
    InputFile,
    JobLost,
    PollResult,
    ProviderError,
)
from tests.fakes.server import FakeProvider, tiny_mp4, tiny_png

API_KEY = "sk-test"
TERMINAL = ("succeeded", "failed", "cancelled")


def provider_fixtures(fake_class: type[FakeProvider], backend_class: type[Backend]):
    """The usual fixtures of an adapter test module, as ``server, fake, backend =
    provider_fixtures(FakeRunway, RunwayBackend)``: the fake started once per module, reset
    for every test, and a fresh backend."""

    @pytest.fixture(scope="module")
    def server():
        with fake_class() as started:
            yield started

    @pytest.fixture
    def fake(server):
        return reset(server)

    @pytest.fixture
    def backend():
        return backend_class()

    return server, fake, backend


def reset(fake: FakeProvider) -> FakeProvider:
    """Forget calls, jobs and scenario flags, so one started fake can serve a whole module
    (stopping a fake takes ~0.5 s). A fake with more state may define ``reset_state()``."""
    with fake.lock:
        fake.calls.clear()
        fake.jobs.clear()
        fake.scenario.clear()
    if hasattr(fake, "reset_state"):
        fake.reset_state()
    return fake


def ctx_for(fake: FakeProvider, tmp_path: Path, **kwargs: Any) -> BackendContext:
    """A context aimed at ``fake`` with the test API key (override anything by keyword)."""
    kwargs.setdefault("api_key", API_KEY)
    kwargs.setdefault("base_url", fake.url)
    kwargs.setdefault("workdir", tmp_path)
    kwargs.setdefault("timeout", 5.0)
    return BackendContext(**kwargs)


def video_request(
    *,
    kind: str = "text_to_video",
    model: str = "",
    seconds: float | None = 5,
    fps: int = 24,
    width: int = 1280,
    height: int = 720,
    prompt: str = "A lighthouse at dusk, slow dolly in",
    **kwargs: Any,
) -> GenerationRequest:
    """A request for ``seconds`` of video at ``fps`` (duration given in frames, as the
    job machinery does). ``image=`` is a shorthand for ``input_image=``."""
    if "image" in kwargs:
        kwargs["input_image"] = kwargs.pop("image")
    if "video" in kwargs:
        kwargs["input_video"] = kwargs.pop("video")
    frames = None if seconds is None else round(seconds * fps)
    return GenerationRequest(
        kind=kind,
        model=model,
        prompt=prompt,
        duration_frames=frames,
        fps=Fraction(fps),
        width=width,
        height=height,
        **kwargs,
    )


def png_input(tmp_path: Path, size: tuple[int, int] = (1280, 720), *, url: str | None = None, tag: str | None = None, name: str = "") -> InputFile:
    """A real PNG on disk (optionally also "in object storage" at ``url``)."""
    w, h = size
    path = tmp_path / (name or f"frame-{w}x{h}-{tag or 'in'}.png")
    path.write_bytes(tiny_png(f"{w}x{h}"))
    return InputFile(path=path, content_type="image/png", url=url, tag=tag)


def mp4_input(tmp_path: Path, *, url: str | None = None, name: str = "parent.mp4") -> InputFile:
    path = tmp_path / name
    path.write_bytes(tiny_mp4())
    return InputFile(path=path, content_type="video/mp4", url=url)


def data_uri(path: Path, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(Path(path).read_bytes()).decode()}"


def poll_until_done(backend: Backend, provider_job_id: str, ctx: BackendContext, max_polls: int = 20) -> tuple[PollResult, list[PollResult]]:
    """Poll (without sleeping) until a terminal state; returns (final, every result seen)."""
    seen: list[PollResult] = []
    for _ in range(max_polls):
        result = backend.poll(provider_job_id, ctx)
        seen.append(result)
        if result.state in TERMINAL:
            return result, seen
    raise AssertionError(f"job {provider_job_id} not finished after {max_polls} polls: {[r.state for r in seen]}")


def run_to_end(backend: Backend, provider_job_id: str, ctx: BackendContext, limit: int = 20) -> tuple[PollResult, list[str]]:
    """Like ``poll_until_done``, with the states seen."""
    final, seen = poll_until_done(backend, provider_job_id, ctx, max_polls=limit)
    return final, [r.state for r in seen]


def check_expired_output(backend: Backend, fake: FakeProvider, ctx: BackendContext, request: GenerationRequest, tmp_path: Path) -> None:
    """Providers' output links expire within hours: a download after that is a readable error
    that retrying cannot fix."""
    job = backend.submit(request, ctx)
    final, _ = poll_until_done(backend, job.provider_job_id, ctx)
    fake.scenario["expire_outputs"] = True
    with pytest.raises(ProviderError) as err:
        backend.download(final.outputs[0], ctx, tmp_path / "take.mp4")
    assert "expired" in err.value.message and not err.value.retryable


def check_lost_job(backend: Backend, fake: FakeProvider, ctx: BackendContext, request: GenerationRequest) -> None:
    """A job the provider no longer knows is JobLost (the job machinery then resubmits or fails)."""
    job = backend.submit(request, ctx)
    fake.scenario["lose_job"] = True
    with pytest.raises(JobLost):
        backend.poll(job.provider_job_id, ctx)


def states(seen: list[PollResult]) -> list[tuple[str, int | None]]:
    return [(r.state, r.progress) for r in seen]


def assert_mp4(path: Path) -> None:
    data = Path(path).read_bytes()
    assert len(data) > 100, f"{path} is too small to be a video ({len(data)} bytes)"
    assert data[4:8] == b"ftyp", f"{path} does not start with an MP4 ftyp box: {data[:12]!r}"


def assert_png(path: Path) -> None:
    assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"


def assert_secret_hidden(exc: BaseException, secret: str = API_KEY) -> None:
    """The API key must not appear in an error a user or a log could see."""
    for text in (str(exc), getattr(exc, "message", "")):
        assert secret not in text, f"the API key leaked into an error: {text!r}"
