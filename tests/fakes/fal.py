"""A fake fal.ai queue (``base_url`` = ``fake.url``, as ``https://queue.fal.run``).

Routes: POST /{model_id}[?fal_webhook=] → {request_id, status_url, response_url,
cancel_url} pointing back at this server under /{owner}/{app}/requests/{id} (as fal does:
the app id is the first two segments of the model id); GET …/status; GET …/{id} (the
result); PUT …/cancel; GET /files/{name}; GET /.well-known/jwks.json (webhook keys).
Auth: ``Authorization: Key sk-test``.

A request moves one step per status poll: IN_QUEUE → IN_PROGRESS → IN_PROGRESS →
COMPLETED. Results: ``{"video": {url, …}}`` for video models, ``{"images": [...],
"has_nsfw_concepts": [...]}`` for FLUX.

Scenario flags (``fake.scenario[...] = ...``):
    rate_limit_once     the next submit answers 429 + Retry-After: 2
    quota               submits answer 403 "User is locked. Reason: Exhausted balance…"
    server_error_once   the next submit answers 503
    fail_after_running  the request COMPLETES with a failure; ``fail_mode`` picks how:
                          "422" (default) the result answers 422 {detail: [...]}
                          "result"  the result is 200 {detail: [...]}
                          "status"  the status itself carries error / error_type
                          "500"     the result answers 500 {detail, error_type}
    all_filtered        FLUX: every image flagged in has_nsfw_concepts; video models:
                        422 content_policy_violation
    expire_outputs      output files answer 404
    lose_job            status answers 404

Webhooks: ``signed_webhook(request_id)`` returns the (headers, body) fal would POST for a
finished request, signed with this fake's Ed25519 key (published at ``jwks_url``); calling
it again is a retry of the same delivery. ``deliver_webhook(request_id, url=None)`` POSTs it
to the ``fal_webhook`` given at submit.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .server import Call, FakeProvider, Reply, route, tiny_mp4, tiny_png

PLAN = ["IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS", "COMPLETED"]
VIDEO_MODELS = {"fal-ai/kling-video/v2.1/master/text-to-video", "fal-ai/kling-video/v2.1/standard/image-to-video", "fal-ai/veo3"}
IMAGE_MODELS = {"fal-ai/flux/dev"}
REQUIRED = {
    "fal-ai/kling-video/v2.1/standard/image-to-video": ("prompt", "image_url"),
}


def detail(status: int, items: list | str, headers: dict | None = None, **extra) -> Reply:
    return Reply(status, {"detail": items, **extra}, headers=headers or {})


class _Startable(FakeProvider):
    """FakeProvider.__init__ reads every attribute, ``url`` included, before the server
    exists; ``url`` is "" until the fake is started."""

    _server = None

    @property
    def url(self) -> str:
        return FakeProvider.url.fget(self) if self._server is not None else ""


class FakeFal(_Startable):
    api_key = "sk-test"

    def __init__(self) -> None:
        super().__init__()
        self.signing_key = Ed25519PrivateKey.generate()

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/.well-known/jwks.json"

    # -- helpers ---------------------------------------------------------------------------
    def submit_count(self) -> int:
        return sum(1 for c in self.calls if c.method == "POST")

    def _refuse(self, call: Call) -> Reply | None:
        if call.headers.get("authorization") != f"Key {self.api_key}":
            return detail(401, "Invalid API key or key format (expected 'Key <key>').")
        return None

    def _job(self, app: str, request_id: str) -> dict[str, Any] | None:
        job = self.jobs.get(request_id)
        return job if job is not None and job["app"] == app else None

    def _result(self, job: dict[str, Any]) -> Reply:
        """The response_url reply for a COMPLETED request."""
        if job.get("cancelled"):
            return detail(400, "Request was cancelled by the user.")
        if job.get("fail_mode") in ("422", None) and job.get("failed"):
            return detail(422, [{"loc": ["body", "prompt"], "msg": "The prompt could not be processed by the model.", "type": "value_error"}])
        if job.get("fail_mode") == "result" and job.get("failed"):
            return Reply(200, {"detail": [{"loc": ["body", "duration"], "msg": "unsupported duration for this input", "type": "value_error"}]})
        if job.get("fail_mode") == "500" and job.get("failed"):
            return detail(500, "Internal server error while running the model.", error_type="runner_server_error")
        if job["model"] in IMAGE_MODELS:
            n = int(job["input"].get("num_images", 1))
            size = job["input"].get("image_size") or {"width": 1024, "height": 768}
            images = [
                {"url": f"{self.url}/files/{job['id']}__{i}.png", "width": size["width"], "height": size["height"], "content_type": "image/png"}
                for i in range(n)
            ]
            return Reply(200, {"images": images, "has_nsfw_concepts": [bool(job.get("filtered"))] * n, "seed": 1234, "prompt": job["input"]["prompt"]})
        if job.get("filtered"):
            return detail(422, [{"loc": ["body", "prompt"], "msg": "The content could not be processed because it contained material flagged by a content checker.", "type": "content_policy_violation"}])
        video = {"url": f"{self.url}/files/{job['id']}.mp4", "content_type": "video/mp4", "file_name": "output.mp4", "file_size": len(tiny_mp4())}
        return Reply(200, {"video": video})

    def finish(self, request_id: str) -> None:
        with self.lock:
            job = self.jobs[request_id]
            while job["status"] != "COMPLETED":
                self._advance(job)

    def _advance(self, job: dict[str, Any]) -> None:
        if job["status"] == "COMPLETED":
            return
        step = min(job["polls"], len(PLAN) - 1)
        job["polls"] += 1
        job["status"] = PLAN[step]
        if job["status"] == "COMPLETED":
            if self.scenario.get("fail_after_running"):
                job["failed"], job["fail_mode"] = True, self.scenario.get("fail_mode", "422")
            if self.scenario.get("all_filtered"):
                job["filtered"] = True

    # -- webhooks --------------------------------------------------------------------------
    def jwks(self) -> dict:
        raw = self.signing_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "fake-1", "use": "sig"}]}

    def webhook_body(self, request_id: str) -> bytes:
        job = self.jobs[request_id]
        reply = self._result(job)
        event: dict[str, Any] = {"request_id": request_id, "gateway_request_id": request_id}
        if reply.status < 400:
            event.update(status="OK", payload=reply.body)
        else:
            event.update(status="ERROR", error=f"Invalid status code: {reply.status}", payload=reply.body)
        return json.dumps(event).encode()

    def signed_webhook(self, request_id: str, *, user_id: str = "user-123", timestamp: int | None = None, key: Ed25519PrivateKey | None = None) -> tuple[dict[str, str], bytes]:
        body = self.webhook_body(request_id)
        ts = str(int(time.time()) if timestamp is None else timestamp)
        message = "\n".join([request_id, user_id, ts, hashlib.sha256(body).hexdigest()]).encode()
        signature = (key or self.signing_key).sign(message).hex()
        headers = {
            "Content-Type": "application/json",
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": user_id,
            "X-Fal-Webhook-Timestamp": ts,
            "X-Fal-Webhook-Signature": signature,
        }
        return headers, body

    def deliver_webhook(self, request_id: str, url: str | None = None) -> int:
        headers, body = self.signed_webhook(request_id)
        return requests.post(url or self.jobs[request_id]["webhook"], data=body, headers=headers, timeout=10).status_code

    # -- routes (GET/PUT patterns are anchored, so the catch-all POST cannot shadow them) ----
    @route("GET", r"/\.well-known/jwks\.json")
    def keys(self, call: Call) -> Reply:
        return Reply(200, self.jwks())

    @route("GET", "/files/(?P<name>[^/]+)")
    def file(self, call: Call, name: str) -> Reply:
        if self.scenario.get("expire_outputs") or name.split(".")[0].split("__")[0] not in self.jobs:
            return Reply(404, b"Not Found", content_type="text/plain")
        if name.endswith(".png"):
            return Reply(200, tiny_png("320x240"), content_type="image/png")
        return Reply(200, tiny_mp4(), content_type="video/mp4")

    @route("POST", "/(?P<model>.+)")
    def submit(self, call: Call, model: str) -> Reply:
        refused = self._refuse(call)
        if refused:
            return refused
        if self.take("rate_limit_once"):
            return detail(429, "Rate limit exceeded. Please retry shortly.", headers={"Retry-After": "2"})
        if self.scenario.get("quota"):
            return detail(403, "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing.")
        if self.take("server_error_once"):
            return detail(503, "Service temporarily unavailable.")
        if model not in VIDEO_MODELS | IMAGE_MODELS:
            return detail(404, f"Application '{model}' not found.")
        data = call.json()
        if not isinstance(data, dict) or not data.get("prompt"):
            return detail(422, [{"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"}])
        missing = [f for f in REQUIRED.get(model, ()) if not data.get(f)]
        if missing:
            return detail(422, [{"loc": ["body", f], "msg": "field required", "type": "value_error.missing"} for f in missing])
        request_id = str(uuid.uuid4())
        app = "/".join(model.split("/")[:2])
        job = {
            "id": request_id,
            "app": app,
            "model": model,
            "input": data,
            "webhook": call.query.get("fal_webhook", [None])[0],
            "status": "IN_QUEUE",
            "polls": 0,
        }
        with self.lock:
            self.jobs[request_id] = job
        base = f"{self.url}/{app}/requests/{request_id}"
        return Reply(
            200,
            {
                "status": "IN_QUEUE",
                "request_id": request_id,
                "response_url": base,
                "status_url": f"{base}/status",
                "cancel_url": f"{base}/cancel",
                "queue_position": 0,
            },
        )

    @route("GET", "/(?P<app>[^/]+/[^/]+)/requests/(?P<request_id>[^/]+)/status")
    def status(self, call: Call, app: str, request_id: str) -> Reply:
        refused = self._refuse(call)
        if refused:
            return refused
        job = self._job(app, request_id)
        if job is None or self.scenario.get("lose_job"):
            return detail(404, "Request not found.")
        with self.lock:
            self._advance(job)
        body: dict[str, Any] = {"status": job["status"], "request_id": request_id, "response_url": f"{self.url}/{app}/requests/{request_id}"}
        if job["status"] == "IN_QUEUE":
            body["queue_position"] = 2
        if job["status"] == "COMPLETED":
            body["logs"] = None
            body["metrics"] = {"inference_time": 41.2}
            if job.get("fail_mode") == "status" and job.get("failed"):
                body["error"] = "Request timed out while running the model."
                body["error_type"] = "request_timeout"
        return Reply(200 if job["status"] == "COMPLETED" else 202, body)

    @route("GET", "/(?P<app>[^/]+/[^/]+)/requests/(?P<request_id>[^/]+)")
    def response(self, call: Call, app: str, request_id: str) -> Reply:
        refused = self._refuse(call)
        if refused:
            return refused
        job = self._job(app, request_id)
        if job is None:
            return detail(404, "Request not found.")
        if job["status"] != "COMPLETED":
            return detail(400, "Request is still in progress.")
        return self._result(job)

    @route("PUT", "/(?P<app>[^/]+/[^/]+)/requests/(?P<request_id>[^/]+)/cancel")
    def cancel(self, call: Call, app: str, request_id: str) -> Reply:
        refused = self._refuse(call)
        if refused:
            return refused
        job = self._job(app, request_id)
        if job is None:
            return detail(404, "Request not found.")
        with self.lock:
            if job["status"] == "COMPLETED":
                return Reply(400, {"status": "ALREADY_COMPLETED"})
            job["status"], job["cancelled"] = "COMPLETED", True
        return Reply(202, {"status": "CANCELLATION_REQUESTED"})
