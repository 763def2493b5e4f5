"""A generic asynchronous video provider (fake HTTP server), an adapter for it, and an
in-process scripted backend — for testing the job machinery, not any real provider.

``FakeGeneric`` speaks a small contract modelled on the real ones (PROVIDERS.md):

    POST   /v1/jobs          {model, prompt, seed, n, seconds, width, height}  → 201 {id, status}
                             header Idempotency-Key: the same key returns the same job
    GET    /v1/jobs/{id}     → {id, status: queued|running|succeeded|failed|cancelled,
                                progress, outputs: [{url, filtered}], error, billable}
    DELETE /v1/jobs/{id}     cancels
    GET    /files/{name}     the output bytes (Authorization required)

Scenarios (``fake.scenario[...]``), one-shot ones are popped when used:

    rate_limit_once  (seconds)  the next POST answers 429 with that Retry-After
    poll_rate_limit_once        the next GET of a job answers 429 (Retry-After 0.2)
    server_error_once           the next POST answers 503
    proxy_error_once            the next POST answers 502 with an HTML page (a proxy in front)
    quota                       every POST answers 429 insufficient_quota
    bad_key                     every call answers 401 (and echoes the key, as some APIs do)
    polls                       running polls before a job ends (default 1)
    fail_after_running          jobs end failed; ``billable`` says whether it was charged
    filtered                    every output is safety-filtered
    expire_outputs              output files answer 403 (the signed link expired)
    lost                        GET of a job answers 404 (the provider restarted)
    outputs_delta               outputs returned = n + delta (e.g. -1, +1)
    cost                        actual cost reported on success
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from apps.generation.backends import http
from apps.generation.backends.base import (
    Backend,
    BackendContext,
    GenerationRequest,
    ModelSpec,
    Output,
    PollResult,
    ProviderError,
    SubmitResult,
    WebhookEvent,
)

from .server import FakeProvider, Reply, route

SIGNATURE_HEADER = "x-fake-signature"
DELIVERY_HEADER = "x-fake-delivery"


class FakeGeneric(FakeProvider):
    def __init__(self, *, video: bytes | None = None) -> None:
        super().__init__()
        self.video = video
        self.by_key: dict[str, str] = {}

    @property
    def url(self) -> str:
        # FakeProvider.__init__ scans attributes before the server exists; answer "" then.
        server = getattr(self, "_server", None)
        if server is None:
            return ""
        host, port = server.server_address[:2]
        return f"http://{host}:{port}"

    # -- helpers --------------------------------------------------------------------------
    def _auth(self, call) -> Reply | None:
        token = call.headers.get("authorization", "")
        if self.scenario.get("bad_key") or not token.startswith("Bearer "):
            key = token.removeprefix("Bearer ")
            return Reply(401, {"error": {"message": f"Incorrect API key provided: {key}", "code": "invalid_api_key"}})
        return None

    def submissions(self) -> int:
        """Jobs the provider accepted (distinct; a repeated idempotency key is one job)."""
        return len(self.jobs)

    def job_view(self, job_id: str) -> dict[str, Any]:
        job = self.jobs[job_id]
        body = {"id": job_id, "status": job["status"], "progress": job["progress"], "outputs": [], "error": None}
        if job["status"] == "succeeded":
            body["outputs"] = job["outputs"]
            if self.scenario.get("cost") is not None:
                body["cost"] = str(self.scenario["cost"])
        if job["status"] == "failed":
            body["error"] = job.get("error")
            body["billable"] = job.get("billable", False)
        return body

    def _advance(self, job_id: str) -> None:
        job = self.jobs[job_id]
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return
        job["polls"] += 1
        polls = int(self.scenario.get("polls", 1))
        if job["polls"] <= polls:
            job["status"] = "running"
            job["progress"] = min(99, int(100 * job["polls"] / (polls + 1)))
            return
        if self.scenario.get("fail_after_running"):
            job.update(status="failed", error="The model crashed while rendering.", billable=bool(self.scenario.get("billable")))
            return
        n = max(0, job["n"] + int(self.scenario.get("outputs_delta", 0)))
        filtered = bool(self.scenario.get("filtered"))
        job["outputs"] = [
            {"url": f"{self.url}/files/{job_id}-{i}.mp4", "filtered": filtered} for i in range(n)
        ]
        job.update(status="succeeded", progress=100)

    # -- routes ---------------------------------------------------------------------------
    @route("POST", "/v1/jobs")
    def create(self, call):
        denied = self._auth(call)
        if denied:
            return denied
        wait = self.take("rate_limit_once")
        if wait is not None:
            return Reply(429, {"error": {"message": "Too many requests", "code": "rate_limited"}}, headers={"Retry-After": str(wait)})
        if self.scenario.get("quota"):
            return Reply(429, {"error": {"message": "You exceeded your current quota.", "code": "insufficient_quota"}})
        if self.take("server_error_once"):
            return Reply(503, {"error": {"message": "Service unavailable"}})
        if self.take("proxy_error_once"):
            page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>nginx</body></html>"
            return Reply(502, page, content_type="text/html")
        body = call.json() or {}
        key = call.headers.get("idempotency-key")
        with self.lock:
            if key and key in self.by_key:
                return Reply(200, {"id": self.by_key[key], "status": self.jobs[self.by_key[key]]["status"]})
            job_id = self.new_id()
            self.jobs[job_id] = {"status": "queued", "progress": 0, "polls": 0, "n": int(body.get("n") or 1), "body": body, "key": key}
            if key:
                self.by_key[key] = job_id
        return Reply(201, {"id": job_id, "status": "queued"})

    @route("GET", "/v1/jobs/(?P<job_id>[^/]+)")
    def get(self, call, job_id):
        denied = self._auth(call)
        if denied:
            return denied
        if self.take("poll_rate_limit_once"):
            return Reply(429, {"error": {"message": "Slow down", "code": "rate_limited"}}, headers={"Retry-After": "0.2"})
        if self.scenario.get("lost") or job_id not in self.jobs:
            return Reply(404, {"error": {"message": "No such job"}})
        with self.lock:
            self._advance(job_id)
            return self.job_view(job_id)

    @route("DELETE", "/v1/jobs/(?P<job_id>[^/]+)")
    def cancel(self, call, job_id):
        if job_id in self.jobs:
            self.jobs[job_id]["status"] = "cancelled"
        return Reply(204, b"", content_type="text/plain")

    @route("GET", "/files/(?P<name>[^/]+)")
    def file(self, call, name):
        if self.scenario.get("expire_outputs"):
            return Reply(403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>", content_type="application/xml")
        if not call.headers.get("authorization", "").startswith("Bearer "):
            return Reply(401, {"error": {"message": "missing key"}})
        data = self.video if self.video is not None else b"\x00\x00\x00\x18ftypmp42fake-video-bytes"
        return Reply(200, data, content_type="video/mp4")

    # -- webhooks -------------------------------------------------------------------------
    def webhook(self, job_id: str, *, secret: str, delivery_id: str | None = None, status: str | None = None) -> tuple[dict[str, str], bytes]:
        """Headers and body of a signed callback for ``job_id`` (its current state, or finished
        as ``status``)."""
        with self.lock:
            if status == "succeeded":
                job = self.jobs[job_id]
                job["polls"] = 10**6
                self._advance(job_id)
            payload = self.job_view(job_id)
        body = json.dumps(payload).encode()
        sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return {SIGNATURE_HEADER: sig, DELIVERY_HEADER: delivery_id or f"dlv-{job_id}", "content-type": "application/json"}, body


class GenericBackend(Backend):
    """The adapter for FakeGeneric (what a real adapter looks like, in miniature)."""

    name = "fake-generic"
    title = "Fake Generic"
    needs_credentials = True
    sends_webhooks = True
    accepts_references = True
    default_base_url = "http://127.0.0.1:9"  # tests point MONTAGE_BACKEND_URLS at the fake
    default_concurrency = 4
    models: ClassVar[tuple[ModelSpec, ...]] = (
        ModelSpec(
            name="fg-1", kinds=("text_to_video", "image_to_video"), durations=(4.0, 8.0), max_variations=2,
            sizes=((1280, 720), (720, 1280)), cost_per_second=Decimal("0.10"),
        ),
        ModelSpec(name="fg-cheap", kinds=("text_to_video",), min_seconds=1.0, max_seconds=10.0, max_variations=1,
                  cost_per_output=Decimal("0.05")),
    )

    def _headers(self, ctx: BackendContext, req: GenerationRequest | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {ctx.api_key}"}
        if req is not None and req.idempotency_key:
            headers["Idempotency-Key"] = req.idempotency_key
        return headers

    def submit(self, req: GenerationRequest, ctx: BackendContext) -> SubmitResult:
        body = {
            "model": req.model, "prompt": req.prompt, "seed": req.seed, "n": req.variations,
            "seconds": req.duration_seconds, "width": req.width, "height": req.height,
            "image": req.input_image.path.name if req.input_image else None,
            "references": [r.tag for r in req.reference_images],
        }
        r = http.request(ctx, "POST", f"{ctx.base_url}/v1/jobs", provider=self.title, json=body, headers=self._headers(ctx, req))
        data = r.json()
        return SubmitResult(provider_job_id=data["id"], state=data.get("status", "queued"), raw=data)

    def _result(self, data: dict[str, Any], ctx: BackendContext) -> PollResult:
        status = data.get("status")
        headers = self._headers(ctx)
        if status == "succeeded":
            cost = data.get("cost")
            return PollResult(
                state="succeeded", progress=100,
                outputs=[Output(url=o["url"], headers=headers, content_type="video/mp4", filtered=bool(o.get("filtered")))
                         for o in data.get("outputs") or []],
                actual_cost=Decimal(cost) if cost is not None else None, raw=data,
            )
        if status == "failed":
            return PollResult(state="failed", error=f"{self.title}: {data.get('error')}", billable=bool(data.get("billable")), raw=data)
        if status == "cancelled":
            return PollResult(state="cancelled", raw=data)
        return PollResult(state=status or "queued", progress=data.get("progress"), raw=data)

    def poll(self, provider_job_id: str, ctx: BackendContext) -> PollResult:
        r = http.request(ctx, "GET", f"{ctx.base_url}/v1/jobs/{provider_job_id}", provider=self.title,
                         lost_on_404=True, headers=self._headers(ctx))
        return self._result(r.json(), ctx)

    def cancel(self, provider_job_id: str, ctx: BackendContext) -> None:
        http.request(ctx, "DELETE", f"{ctx.base_url}/v1/jobs/{provider_job_id}", provider=self.title, headers=self._headers(ctx))

    def download(self, output: Output, ctx: BackendContext, dest: Path) -> Path:
        http.stream_to_file(ctx, output.url, dest, headers=output.headers, provider=self.title)
        return dest

    def parse_webhook(self, headers: dict[str, str], body: bytes, ctx: BackendContext) -> WebhookEvent:
        if not ctx.webhook_secret:
            raise ProviderError("no webhook secret configured")
        expected = hmac.new(ctx.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER, "")):
            raise ProviderError("bad signature")
        data = json.loads(body)
        return WebhookEvent(delivery_id=headers.get(DELIVERY_HEADER, ""), provider_job_id=data["id"], result=self._result(data, ctx))


# --------------------------------------------------------------------------------------------
# In-process scripted backend
# --------------------------------------------------------------------------------------------


class WorkerKilled(BaseException):
    """Raised inside submit to simulate the worker process dying mid-call."""


@dataclass
class ProviderJob:
    id: str
    key: str
    req: GenerationRequest
    polls: int = 0
    done: bool = False


@dataclass
class Script:
    polls: int = 1  # running polls before success
    poll_sleep: float = 0.0
    outputs_per_call: int | None = None  # default: req.variations
    kill_after_submit: int = 0  # raise WorkerKilled after recording this many submissions
    honour_key: bool = True  # a repeated idempotency key returns the same provider job
    immediate: bool = False  # finish inside submit (like local backends)
    extra: dict[str, Any] = field(default_factory=dict)


class ScriptedBackend(Backend):
    """A provider in memory: counts submit calls, distinct provider jobs and the highest
    number of jobs it had running at once. Outputs are small local files."""

    name = "fake-scripted"
    title = "Fake Scripted"
    needs_credentials = False
    is_local = False
    default_concurrency = 4
    models: ClassVar[tuple[ModelSpec, ...]] = (
        ModelSpec(name="fs-1", kinds=("text_to_video", "image_to_video", "video_extend", "speech"), min_seconds=0.5,
                  max_seconds=30.0, max_variations=1, cost_per_output=Decimal("0.25")),
        ModelSpec(name="fs-free", kinds=("text_to_video",), min_seconds=0.5, max_seconds=30.0, max_variations=8),
    )

    def __init__(self, name: str | None = None, script: Script | None = None, folder: Path | None = None) -> None:
        if name:
            self.name = name
        self.script = script or Script()
        self.folder = folder
        self.lock = threading.Lock()
        self.submit_calls: list[GenerationRequest] = []
        self.jobs: dict[str, ProviderJob] = {}
        self.by_key: dict[str, str] = {}
        self.active: set[str] = set()
        self.max_active = 0
        self.cancelled: list[str] = []
        self.seq = 0

    def reset(self) -> None:
        self.__init__(self.name, self.script, self.folder)

    @property
    def submissions(self) -> int:
        return len(self.jobs)

    def _file(self, job: ProviderJob, i: int) -> Path:
        folder = self.folder or Path("/tmp")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{job.id}-{i}.mp4"
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + job.id.encode() * 4)
        return path

    def submit(self, req: GenerationRequest, ctx: BackendContext) -> SubmitResult:
        with self.lock:
            self.submit_calls.append(req)
            existing = self.by_key.get(req.idempotency_key) if self.script.honour_key else None
            if existing:
                job = self.jobs[existing]
            else:
                self.seq += 1
                job = ProviderJob(id=f"fs-{self.seq}-{req.idempotency_key[:8]}", key=req.idempotency_key, req=req)
                self.jobs[job.id] = job
                self.by_key[req.idempotency_key] = job.id
                self.active.add(job.id)
                self.max_active = max(self.max_active, len(self.active))
            killed = self.script.kill_after_submit and len(self.submit_calls) <= self.script.kill_after_submit
        if killed:
            raise WorkerKilled("the worker died inside submit")
        if self.script.immediate:
            return SubmitResult(provider_job_id=job.id, state="succeeded", outputs=self._outputs(job))
        return SubmitResult(provider_job_id=job.id, state="queued")

    def _outputs(self, job: ProviderJob) -> list[Output]:
        n = self.script.outputs_per_call if self.script.outputs_per_call is not None else job.req.variations
        with self.lock:
            job.done = True
            self.active.discard(job.id)
        return [Output(path=self._file(job, i), content_type="video/mp4") for i in range(n)]

    def poll(self, provider_job_id: str, ctx: BackendContext) -> PollResult:
        if self.script.poll_sleep:
            time.sleep(self.script.poll_sleep)
        with self.lock:
            job = self.jobs.get(provider_job_id)
        if job is None:
            from apps.generation.backends.base import JobLost

            raise JobLost("unknown job")
        job.polls += 1
        if job.polls <= self.script.polls:
            return PollResult(state="running", progress=min(99, 100 * job.polls // (self.script.polls + 1)))
        return PollResult(state="succeeded", progress=100, outputs=self._outputs(job))

    def cancel(self, provider_job_id: str, ctx: BackendContext) -> None:
        with self.lock:
            self.cancelled.append(provider_job_id)
            self.active.discard(provider_job_id)
