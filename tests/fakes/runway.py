"""A fake Runway API (``base_url`` = ``fake.url``; paths start with /v1 as on the real host).

Routes: POST /v1/image_to_video, /v1/text_to_video, /v1/text_to_image, /v1/video_upscale;
GET and DELETE /v1/tasks/{id}; GET /v1/organization; GET /files/{name} (the outputs).
Every call needs ``Authorization: Bearer sk-test`` and ``X-Runway-Version: 2024-11-06``.

A task moves one step per status poll: PENDING → RUNNING 0.3 → RUNNING 0.7 → SUCCEEDED
with ``output: [url]`` (an MP4, or a PNG for text_to_image).

Scenario flags (``fake.scenario[...] = True``):
    rate_limit_once     the next create answers 429 with Retry-After: 2
    quota               creates answer 429 "daily generation limit" (the quota kind)
    no_credits          creates answer 400 "not enough credits"
    server_error_once   the next create answers 502 (load shedding)
    throttled           new tasks start THROTTLED (over the concurrency limit)
    fail_after_running  tasks fail after RUNNING (INTERNAL.BAD_OUTPUT.CODE01)
    all_filtered        tasks fail with SAFETY.OUTPUT.VIDEO (moderation)
    expire_outputs      output URLs answer 403 (expired signature)
    lose_job            GET /v1/tasks/{id} answers 404
"""

from __future__ import annotations

from datetime import UTC, datetime

from .server import Call, FakeProvider, Reply, route, tiny_mp4, tiny_png

VERSION = "2024-11-06"
PLAN = [("PENDING", None), ("RUNNING", 0.3), ("RUNNING", 0.7), ("SUCCEEDED", None)]
MODELS = {
    "image_to_video": {"gen4_turbo", "gen4.5", "veo3.1"},
    "text_to_video": {"gen4.5", "veo3.1"},
    "text_to_image": {"gen4_image", "gen4_image_turbo"},
    "video_upscale": {"upscale_v1"},
}


class _Startable(FakeProvider):
    """FakeProvider.__init__ reads every attribute, ``url`` included, before the server
    exists; ``url`` is "" until the fake is started."""

    _server = None

    @property
    def url(self) -> str:
        return FakeProvider.url.fget(self) if self._server is not None else ""


class FakeRunway(_Startable):
    api_key = "sk-test"
    credit_balance = 1250

    # -- helpers ---------------------------------------------------------------------------
    def _refuse(self, call: Call) -> Reply | None:
        if call.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"error": "The API key you provided is incorrect."})
        if call.headers.get("x-runway-version") != VERSION:
            return Reply(400, {"error": "A valid X-Runway-Version header is required."})
        return None

    def create_count(self) -> int:
        return sum(1 for c in self.calls if c.method == "POST" and c.path in ("/v1/image_to_video", "/v1/text_to_video", "/v1/text_to_image", "/v1/video_upscale"))

    def _task(self, job: dict) -> dict:
        body = {"id": job["id"], "status": job["status"], "createdAt": job["createdAt"]}
        if job["status"] == "RUNNING":
            body["progress"] = job["progress"]
        if job["status"] == "SUCCEEDED":
            body["output"] = [f"{self.url}/files/{job['id']}.{job['ext']}"]
        if job["status"] == "FAILED":
            body["failure"] = job["failure"]
            body["failureCode"] = job["failureCode"]
        return body

    def _create(self, call: Call, endpoint: str) -> Reply:
        refused = self._refuse(call)
        if refused:
            return refused
        if self.take("rate_limit_once"):
            return Reply(429, {"error": "Too many requests."}, headers={"Retry-After": "2"})
        if self.scenario.get("quota"):
            return Reply(429, {"error": "You have exceeded your daily generation limit for this model. It resets on a rolling 24-hour window."})
        if self.scenario.get("no_credits"):
            return Reply(400, {"error": "You do not have enough credits to run this task."})
        if self.take("server_error_once"):
            return Reply(502, {"error": "Runway is shedding load. Please retry."})
        body = call.json() or {}
        if body.get("model") not in MODELS[endpoint]:
            return Reply(400, {"error": f"Invalid model {body.get('model')!r} for {endpoint}."})
        if endpoint in ("image_to_video", "text_to_video") and not isinstance(body.get("duration"), int):
            return Reply(400, {"error": "duration must be an integer."})
        if endpoint == "image_to_video" and not body.get("promptImage"):
            return Reply(400, {"error": "promptImage is required."})
        job = {
            "id": self.new_id(),
            "endpoint": endpoint,
            "body": body,
            "status": "THROTTLED" if self.scenario.get("throttled") else "PENDING",
            "throttled_polls": 1 if self.scenario.get("throttled") else 0,
            "progress": None,
            "polls": 0,
            "ext": "png" if endpoint == "text_to_image" else "mp4",
            "createdAt": datetime.now(UTC).isoformat(),
        }
        with self.lock:
            self.jobs[job["id"]] = job
        return Reply(200, {"id": job["id"]})

    # -- routes ----------------------------------------------------------------------------
    @route("POST", "/v1/image_to_video")
    def image_to_video(self, call: Call) -> Reply:
        return self._create(call, "image_to_video")

    @route("POST", "/v1/text_to_video")
    def text_to_video(self, call: Call) -> Reply:
        return self._create(call, "text_to_video")

    @route("POST", "/v1/text_to_image")
    def text_to_image(self, call: Call) -> Reply:
        return self._create(call, "text_to_image")

    @route("POST", "/v1/video_upscale")
    def video_upscale(self, call: Call) -> Reply:
        return self._create(call, "video_upscale")

    @route("GET", "/v1/tasks/(?P<task_id>[^/]+)")
    def task(self, call: Call, task_id: str) -> Reply:
        refused = self._refuse(call)
        if refused:
            return refused
        job = self.jobs.get(task_id)
        if job is None or self.scenario.get("lose_job"):
            return Reply(404, {"error": "Task not found."})
        with self.lock:
            if job["throttled_polls"]:
                job["throttled_polls"] -= 1  # waits for a free slot, then moves on
            elif job["status"] not in ("SUCCEEDED", "FAILED", "CANCELLED"):
                step = min(job["polls"], len(PLAN) - 1)
                job["polls"] += 1
                status, progress = PLAN[step]
                if status == "SUCCEEDED" and self.scenario.get("fail_after_running"):
                    status, job["failure"], job["failureCode"] = "FAILED", "An unexpected error occurred.", "INTERNAL.BAD_OUTPUT.CODE01"
                elif status == "SUCCEEDED" and self.scenario.get("all_filtered"):
                    status, job["failure"], job["failureCode"] = "FAILED", "Content moderation rejected the output.", "SAFETY.OUTPUT.VIDEO"
                job["status"], job["progress"] = status, progress
        return Reply(200, self._task(job))

    @route("DELETE", "/v1/tasks/(?P<task_id>[^/]+)")
    def cancel(self, call: Call, task_id: str) -> Reply:
        refused = self._refuse(call)
        if refused:
            return refused
        job = self.jobs.get(task_id)
        if job is None:
            return Reply(404, {"error": "Task not found."})
        with self.lock:
            if job["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                self.jobs.pop(task_id)  # deleting a finished task removes it
            else:
                job["status"] = "CANCELLED"
        return Reply(204, b"", content_type="text/plain")

    @route("GET", "/v1/organization")
    def organization(self, call: Call) -> Reply:
        refused = self._refuse(call)
        if refused:
            return refused
        return Reply(200, {"creditBalance": self.credit_balance, "tier": {"maxMonthlyCreditSpend": 10000, "models": {}}, "usage": {"models": {}}})

    @route("GET", "/files/(?P<name>[^/]+)")
    def file(self, call: Call, name: str) -> Reply:
        # Signed CDN links: no API key needed, but they expire.
        if self.scenario.get("expire_outputs"):
            return Reply(403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>", content_type="application/xml")
        task_id, _, ext = name.partition(".")
        if task_id not in self.jobs:
            return Reply(404, b"not found", content_type="text/plain")
        if ext == "png":
            return Reply(200, tiny_png("1280x720"), content_type="image/png")
        return Reply(200, tiny_mp4(), content_type="video/mp4")
