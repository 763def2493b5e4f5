"""A fake Replicate API (``base_url`` = ``fake.url``, i.e. the real ``…/v1`` root).

Routes: POST /models/{owner}/{name}/predictions, GET /predictions/{id},
POST /predictions/{id}/cancel, GET /webhooks/default/secret, GET /files/{name}.

A prediction moves one step per status poll: starting → processing (logs "30%|") →
processing ("70%|") → succeeded with ``output`` = the URL of a real MP4 on this server.
``finish(id)`` jumps to the end without polling (for webhook-driven flows).

Scenario flags (``fake.scenario[...] = True``):
    rate_limit_once     the next create answers 429 "Request was throttled" + Retry-After: 2
    quota               creates answer 402 "Insufficient credit"
    server_error_once   the next create answers 500
    fail_after_running  predictions fail after processing
    all_filtered        predictions fail with E005 (flagged as sensitive)
    nsfw_output         (dict-output models) every output flagged in has_nsfw_concepts
    expire_outputs      output files answer 404 (deleted after an hour)
    lose_job            GET /predictions/{id} answers 404

Webhooks: ``signed_webhook(id)`` returns the (headers, body) Replicate would POST for the
prediction's current state, signed with ``webhook_secret`` the Standard-Webhooks way. A
second call for the same prediction and state is a retry: same ``webhook-id``, fresh
timestamp and signature. ``deliver_webhook(id, url=None)`` POSTs it (to the ``webhook``
given at create by default).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from datetime import UTC, datetime
from typing import Any

import requests

from .server import Call, FakeProvider, Reply, route, tiny_mp4

PLAN = [("starting", ""), ("processing", "Generating…\n 30%|███       | 15/50\n"), ("processing", " 70%|███████   | 35/50\n"), ("succeeded", "")]
KNOWN_MODELS = {"minimax/video-01", "kwaivgi/kling-v2.1", "wan-video/wan-2.2-t2v-fast"}
TERMINAL = ("succeeded", "failed", "canceled", "aborted")


def problem(status: int, title: str, detail: str, headers: dict | None = None) -> Reply:
    return Reply(status, {"title": title, "detail": detail, "status": status}, headers=headers or {})


class _Startable(FakeProvider):
    """FakeProvider.__init__ reads every attribute, ``url`` included, before the server
    exists; ``url`` is "" until the fake is started."""

    _server = None

    @property
    def url(self) -> str:
        return FakeProvider.url.fget(self) if self._server is not None else ""


class FakeReplicate(_Startable):
    api_key = "sk-test"

    def __init__(self) -> None:
        super().__init__()
        self.webhook_secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
        self.deliveries: dict[tuple[str, str], str] = {}

    def reset_state(self) -> None:
        self.deliveries.clear()

    # -- helpers ---------------------------------------------------------------------------
    def create_count(self) -> int:
        return self.count("POST", "/models/[^/]+/[^/]+/predictions")

    def _refuse(self, call: Call) -> Reply | None:
        if call.headers.get("authorization") != f"Bearer {self.api_key}":
            return problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        return None

    def _prediction(self, job: dict[str, Any]) -> dict[str, Any]:
        base = self.url
        return {
            "id": job["id"],
            "model": job["model"],
            "version": "hidden",
            "input": job["input"],
            "logs": job["logs"],
            "output": job.get("output"),
            "data_removed": False,
            "error": job.get("error"),
            "status": job["status"],
            "created_at": job["created_at"],
            "urls": {"get": f"{base}/predictions/{job['id']}", "cancel": f"{base}/predictions/{job['id']}/cancel", "web": f"https://replicate.com/p/{job['id']}"},
            "metrics": job.get("metrics") or {},
        }

    def _advance(self, job: dict[str, Any], to_end: bool = False) -> None:
        while job["status"] not in TERMINAL:
            step = min(job["polls"], len(PLAN) - 1)
            job["polls"] += 1
            status, logs = PLAN[step]
            if status == "succeeded":
                job["metrics"] = {"predict_time": 42.1}
                if self.scenario.get("fail_after_running"):
                    status, job["error"] = "failed", "Prediction failed: CUDA error: an illegal memory access was encountered"
                elif self.scenario.get("all_filtered"):
                    status, job["error"] = "failed", "The input or output was flagged as sensitive. Please try again with different inputs. (E005)"
                else:
                    url = f"{self.url}/files/{job['id']}.mp4"
                    job["output"] = {"video": url, "has_nsfw_concepts": [True]} if self.scenario.get("nsfw_output") else url
            job["status"], job["logs"] = status, job["logs"] + logs
            if not to_end:
                return

    def finish(self, prediction_id: str) -> dict[str, Any]:
        with self.lock:
            job = self.jobs[prediction_id]
            self._advance(job, to_end=True)
            return self._prediction(job)

    # -- webhooks --------------------------------------------------------------------------
    def sign(self, msg_id: str, timestamp: str, body: bytes, secret: str | None = None) -> str:
        key = base64.b64decode((secret or self.webhook_secret).removeprefix("whsec_"))
        digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        return "v1," + base64.b64encode(digest).decode()

    def signed_webhook(self, prediction_id: str, *, timestamp: int | None = None, secret: str | None = None) -> tuple[dict[str, str], bytes]:
        prediction = self._prediction(self.jobs[prediction_id])
        body = json.dumps(prediction).encode()
        msg_id = self.deliveries.setdefault((prediction_id, prediction["status"]), f"msg_{self.new_id()[:26]}")
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": ts,
            "webhook-signature": self.sign(msg_id, ts, body, secret),
        }
        return headers, body

    def deliver_webhook(self, prediction_id: str, url: str | None = None) -> int:
        url = url or self.jobs[prediction_id]["webhook"]
        headers, body = self.signed_webhook(prediction_id)
        return requests.post(url, data=body, headers=headers, timeout=10).status_code

    # -- routes ----------------------------------------------------------------------------
    @route("POST", "/models/(?P<owner>[^/]+)/(?P<name>[^/]+)/predictions")
    def create(self, call: Call, owner: str, name: str) -> Reply:
        refused = self._refuse(call)
        if refused:
            return refused
        if self.take("rate_limit_once"):
            return problem(429, "Too Many Requests", "Request was throttled. Your rate limit resets in ~2s.", headers={"Retry-After": "2"})
        if self.scenario.get("quota"):
            return problem(
                402,
                "Insufficient credit",
                "You have insufficient credit to run this model. Go to https://replicate.com/account/billing#billing to purchase credit.",
            )
        if self.take("server_error_once"):
            return problem(500, "Internal Server Error", "Something went wrong.")
        model = f"{owner}/{name}"
        if model not in KNOWN_MODELS:
            return problem(404, "Not found", "The requested resource could not be found.")
        body = call.json() or {}
        if not isinstance(body.get("input"), dict):
            return problem(422, "Input validation failed", "- input: Invalid type. Expected: object")
        if model == "kwaivgi/kling-v2.1" and not body["input"].get("start_image"):
            return problem(422, "Input validation failed", "- input: start_image is required")
        job = {
            "id": self.new_id()[:26],
            "model": model,
            "input": body["input"],
            "webhook": body.get("webhook"),
            "webhook_events_filter": body.get("webhook_events_filter"),
            "status": "starting",
            "logs": "",
            "polls": 0,
            "created_at": datetime.now(UTC).isoformat(),
        }
        with self.lock:
            self.jobs[job["id"]] = job
        return Reply(201, self._prediction(job))

    @route("GET", "/predictions/(?P<prediction_id>[^/]+)")
    def get(self, call: Call, prediction_id: str) -> Reply:
        refused = self._refuse(call)
        if refused:
            return refused
        job = self.jobs.get(prediction_id)
        if job is None or self.scenario.get("lose_job"):
            return problem(404, "Not found", "The requested resource could not be found.")
        with self.lock:
            self._advance(job)
            return Reply(200, self._prediction(job))

    @route("POST", "/predictions/(?P<prediction_id>[^/]+)/cancel")
    def cancel(self, call: Call, prediction_id: str) -> Reply:
        refused = self._refuse(call)
        if refused:
            return refused
        job = self.jobs.get(prediction_id)
        if job is None:
            return problem(404, "Not found", "The requested resource could not be found.")
        with self.lock:
            if job["status"] not in TERMINAL:
                job["status"] = "canceled"
            return Reply(200, self._prediction(job))

    @route("GET", "/webhooks/default/secret")
    def secret(self, call: Call) -> Reply:
        return self._refuse(call) or Reply(200, {"key": self.webhook_secret})

    @route("GET", "/files/(?P<name>[^/]+)")
    def file(self, call: Call, name: str) -> Reply:
        if self.scenario.get("expire_outputs") or name.partition(".")[0] not in self.jobs:
            return Reply(404, b"Not Found", content_type="text/plain")
        return Reply(200, tiny_mp4(), content_type="video/mp4")
