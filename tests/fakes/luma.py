"""A fake Luma Dream Machine API (see apps/generation/backends/luma.py for the contract).

Routes are served both at the root and under ``/dream-machine/v1`` so the adapter can be
pointed at ``fake.url`` or at ``fake.url + "/dream-machine/v1"``.

A generation advances one step per ``GET /generations/{id}``: ``queued`` for the first
``queued_polls`` polls, then ``dreaming`` for ``dreaming_polls`` polls, then ``completed``
(``assets.video`` points at ``/files/{id}.mp4`` on this server, real H.264 bytes).

Scenario flags (``fake.scenario[...] = True``):
  rate_limit_once     the next create answers 429 with ``Retry-After: 7``
  quota               creates answer 400 ``{"detail": "Insufficient credits ..."}``
  server_error_once   the next create answers 503
  fail_after_running  generations end ``failed`` with a failure_reason after dreaming
  all_filtered        generations end ``failed`` with a moderation failure_reason
  expire_outputs      video downloads answer 403 (an expired CDN link)
  lose_job            ``GET /generations/{id}`` answers 404
  duplicate_callbacks every callback is delivered twice (as Luma's retries would)

Callbacks: when a create carries ``callback_url``, the fake POSTs the generation object
there on each state change (dreaming, completed, failed), as Luma does.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime

from .server import Call, FakeProvider, Reply, route, tiny_mp4

P = r"(?:/dream-machine/v1)?"
MODELS = ("ray-2", "ray-flash-2")
ASPECTS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21")
RESOLUTIONS = ("540p", "720p", "1080p", "4k")


class QuickFake(FakeProvider):
    """Works around FakeProvider.__init__ reading every attribute (``url`` included) before
    the server exists: ``url`` is "" until the fake is started."""

    _server = None

    @property
    def url(self) -> str:
        return FakeProvider.url.fget(self) if self._server is not None else ""

    def stop(self) -> None:
        """Stop at once: wake serve_forever's 0.5 s select with a connection until it exits."""
        server = self._server
        if server is None:
            return
        stopper = threading.Thread(target=server.shutdown, daemon=True)
        stopper.start()
        while stopper.is_alive():
            try:
                socket.create_connection(server.server_address[:2], timeout=0.2).close()
            except OSError:
                pass
            stopper.join(0.01)
        server.server_close()
        self._server = None


class FakeLuma(QuickFake):
    def __init__(self, api_key: str = "k-test", queued_polls: int = 1, dreaming_polls: int = 2) -> None:
        super().__init__()
        self.api_key = api_key
        self.queued_polls = queued_polls
        self.dreaming_polls = dreaming_polls
        self.callbacks_sent: list[dict] = []

    # -- helpers -----------------------------------------------------------------------------
    def _auth(self, call: Call) -> Reply | None:
        if call.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"detail": "Invalid API key provided"})
        return None

    def _public(self, job: dict) -> dict:
        gen = {
            "id": job["id"],
            "generation_type": "video",
            "state": job["state"],
            "failure_reason": job.get("failure_reason"),
            "created_at": job["created_at"],
            "model": job["request"]["model"],
            "assets": job.get("assets"),
            "request": job["request"],
        }
        return gen

    def _callback(self, job: dict) -> None:
        url = job["request"].get("callback_url")
        if not url:
            return
        import requests

        body = self._public(job)
        times = 2 if self.scenario.get("duplicate_callbacks") else 1
        for _ in range(times):
            self.callbacks_sent.append(body)
            try:
                requests.post(url, json=body, timeout=2)
            except requests.RequestException:
                pass

    def _advance(self, job: dict) -> None:
        job["polls"] += 1
        before = job["state"]
        if job["state"] in ("completed", "failed"):
            return
        if job["polls"] > self.queued_polls:
            job["state"] = "dreaming"
        if job["polls"] > self.queued_polls + self.dreaming_polls:
            if self.scenario.get("all_filtered"):
                job["state"] = "failed"
                job["failure_reason"] = "400: prompt not allowed because advanced moderation failed"
            elif self.scenario.get("fail_after_running"):
                job["state"] = "failed"
                job["failure_reason"] = "Internal error while dreaming, please try again"
            else:
                job["state"] = "completed"
                job["assets"] = {"video": f"{self.url}/files/{job['id']}.mp4", "image": None, "progress_video": None}
        if job["state"] != before:
            self._callback(job)

    # -- routes ------------------------------------------------------------------------------
    @route("POST", P + r"/generations/video")
    def create(self, call: Call):
        denied = self._auth(call)
        if denied:
            return denied
        if self.take("rate_limit_once"):
            return Reply(429, {"detail": "Too many concurrent generations, try again later"}, headers={"Retry-After": "7"})
        if self.take("server_error_once"):
            return Reply(503, {"detail": "Service temporarily unavailable"})
        if self.scenario.get("quota"):
            return Reply(400, {"detail": "Insufficient credits. Please top up your account at lumalabs.ai"})
        try:
            body = call.json()
        except ValueError:
            return Reply(400, {"detail": "Body is not JSON"})
        problems = []
        if body.get("model") not in MODELS:
            problems.append(f"model must be one of {MODELS}")
        if body.get("duration") not in ("5s", "9s"):
            problems.append("duration must be 5s or 9s")
        if body.get("aspect_ratio") not in ASPECTS:
            problems.append("bad aspect_ratio")
        if body.get("resolution") not in RESOLUTIONS:
            problems.append("bad resolution")
        frame0 = (body.get("keyframes") or {}).get("frame0")
        if frame0 is not None and not (frame0.get("type") == "image" and str(frame0.get("url", "")).startswith("http")):
            problems.append("keyframes.frame0 must be {type: image, url}")
        if problems:
            return Reply(400, {"detail": "; ".join(problems)})
        gen_id = self.new_id()
        gen_id = f"{gen_id[:8]}-{gen_id[8:12]}-{gen_id[12:16]}-{gen_id[16:20]}-{gen_id[20:]}"
        job = {
            "id": gen_id,
            "state": "queued",
            "polls": 0,
            "request": body,
            "created_at": datetime.now(UTC).isoformat(),
            "assets": None,
            "failure_reason": None,
        }
        with self.lock:
            self.jobs[gen_id] = job
        return Reply(201, self._public(job))

    @route("GET", P + r"/credits")
    def credits(self, call: Call):
        denied = self._auth(call)
        if denied:
            return denied
        return Reply(200, {"credit_balance": 1234.5})

    @route("GET", P + r"/generations/(?P<gen_id>[^/]+)")
    def get(self, call: Call, gen_id: str):
        denied = self._auth(call)
        if denied:
            return denied
        job = self.jobs.get(gen_id)
        if job is None or self.scenario.get("lose_job"):
            return Reply(404, {"detail": "Generation not found"})
        with self.lock:
            self._advance(job)
        return self._public(job)

    @route("GET", r"/files/(?P<gen_id>[^/]+)\.mp4")
    def file(self, call: Call, gen_id: str):
        if self.scenario.get("expire_outputs") or gen_id not in self.jobs:
            return Reply(403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>", content_type="application/xml")
        return Reply(200, tiny_mp4(), content_type="video/mp4")


class CallbackSink(QuickFake):
    """Receives webhook deliveries (POST /hook) so tests can inspect them."""

    def __init__(self) -> None:
        super().__init__()
        self.deliveries: list[tuple[dict[str, str], bytes]] = []

    @route("POST", r"/hook")
    def hook(self, call: Call):
        self.deliveries.append((call.headers, call.body))
        return Reply(200, {"ok": True})

    def bodies(self) -> list[dict]:
        return [json.loads(b) for _, b in self.deliveries]
