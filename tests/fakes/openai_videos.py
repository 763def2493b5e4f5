"""A fake OpenAI Videos API (Sora 2), served at the API root (``base_url`` = ``fake.url``).

Routes: POST /videos (JSON or multipart), GET /videos/{id}, GET /videos/{id}/content,
DELETE /videos/{id}. A job moves one step per status poll: queued → in_progress 30 % →
in_progress 70 % → completed. Each status reply carries ``openai-poll-after-ms``.

Scenario flags (``fake.scenario[...] = True``):
    rate_limit_once     the next create answers 429 (Retry-After: 2, retry-after-ms: 2000)
    quota               create answers 429 insufficient_quota
    server_error_once   the next create answers 500
    fail_after_running  the job fails after reaching 30 %
    all_filtered        the job fails with moderation_blocked (Sora's safety refusal)
    expire_outputs      content answers 404 (the download has expired)
    lose_job            status answers 404 (as after the job was purged)
"""

from __future__ import annotations

import email.parser
import email.policy
import time
from typing import Any

from .server import Call, FakeProvider, Reply, route, tiny_mp4

MODELS = {"sora-2": {"1280x720", "720x1280"}, "sora-2-pro": {"1280x720", "720x1280", "1792x1024", "1024x1792"}}
SECONDS = {"4", "8", "12"}
PLAN: list[tuple[str, int]] = [("queued", 0), ("in_progress", 30), ("in_progress", 70), ("completed", 100)]


def error(status: int, message: str, *, type_: str = "invalid_request_error", code: str | None = None, headers=None) -> Reply:
    return Reply(status, {"error": {"message": message, "type": type_, "param": None, "code": code}}, headers=headers or {})


def parse_multipart(call: Call) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """(text fields, files as name → (filename, bytes, content type)) of a multipart body."""
    head = f"Content-Type: {call.headers.get('content-type', '')}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + call.body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, payload, part.get_content_type())
        else:
            fields[name] = payload.decode()
    return fields, files


class _Startable(FakeProvider):
    """FakeProvider.__init__ reads every attribute, ``url`` included, before the server
    exists; ``url`` is "" until the fake is started."""

    _server = None

    @property
    def url(self) -> str:
        return FakeProvider.url.fget(self) if self._server is not None else ""


class FakeOpenAIVideos(_Startable):
    api_key = "sk-test"
    poll_after_ms = "2000"

    # -- helpers ---------------------------------------------------------------------------
    def _authorized(self, call: Call) -> bool:
        return call.headers.get("authorization") == f"Bearer {self.api_key}"

    def _unauthorized(self, call: Call) -> Reply:
        # Like the real API, the refusal quotes the key it was given.
        given = call.headers.get("authorization", "").removeprefix("Bearer ")
        return error(401, f"Incorrect API key provided: {given}.", code="invalid_api_key")

    def _video(self, job: dict[str, Any]) -> dict[str, Any]:
        body = {
            "id": job["id"],
            "object": "video",
            "model": job["model"],
            "status": job["status"],
            "progress": job["progress"],
            "seconds": job["seconds"],
            "size": job["size"],
            "created_at": job["created_at"],
            "completed_at": job.get("completed_at"),
            "expires_at": job.get("expires_at"),
            "error": job.get("error"),
            "remixed_from_video_id": None,
        }
        return body

    def create_count(self) -> int:
        return self.count("POST", "/videos")

    # -- routes ----------------------------------------------------------------------------
    @route("POST", "/videos")
    def create(self, call: Call) -> Reply:
        if not self._authorized(call):
            return self._unauthorized(call)
        if self.take("rate_limit_once"):
            return error(
                429,
                "Rate limit reached for sora-2 in organization org-test on requests per min (RPM): Limit 2, Used 2, Requested 1.",
                type_="requests",
                code="rate_limit_exceeded",
                headers={"Retry-After": "2", "retry-after-ms": "2000"},
            )
        if self.scenario.get("quota"):
            return error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                type_="insufficient_quota",
                code="insufficient_quota",
            )
        if self.take("server_error_once"):
            return error(500, "The server had an error while processing your request.", type_="server_error")
        if call.headers.get("content-type", "").startswith("multipart/form-data"):
            fields, files = parse_multipart(call)
        else:
            fields, files = dict(call.json() or {}), {}
        model = fields.get("model", "sora-2")
        seconds = str(fields.get("seconds", "4"))
        size = fields.get("size", "720x1280")
        if not fields.get("prompt"):
            return error(400, "Missing required parameter: 'prompt'.", code="missing_required_parameter")
        if model not in MODELS:
            return error(400, f"Invalid model {model!r}.", code="invalid_value")
        if seconds not in SECONDS:
            return error(400, f"Invalid value for 'seconds': {seconds!r}.", code="invalid_value")
        if size not in MODELS[model]:
            return error(400, f"Invalid size {size!r} for {model}.", code="invalid_value")
        job = {
            "id": f"video_{self.new_id()[:24]}",
            "model": model,
            "prompt": fields["prompt"],
            "seconds": seconds,
            "size": size,
            "status": "queued",
            "progress": 0,
            "polls": 0,
            "created_at": int(time.time()),
            "reference": files.get("input_reference"),
            "fields": fields,
        }
        with self.lock:
            self.jobs[job["id"]] = job
        return Reply(200, self._video(job))

    @route("GET", "/videos/(?P<video_id>[^/]+)")
    def retrieve(self, call: Call, video_id: str) -> Reply:
        if not self._authorized(call):
            return self._unauthorized(call)
        job = self.jobs.get(video_id)
        if job is None or self.scenario.get("lose_job"):
            return error(404, f"Video with id '{video_id}' not found.", code="not_found")
        with self.lock:
            if job["status"] not in ("completed", "failed"):
                step = min(job["polls"], len(PLAN) - 1)
                job["polls"] += 1
                status, progress = PLAN[step]
                if status == "completed" and self.scenario.get("fail_after_running"):
                    job["error"] = {"code": "video_generation_failed", "message": "Video generation failed. Please try again."}
                    status, progress = "failed", job["progress"]
                elif status == "completed" and self.scenario.get("all_filtered"):
                    job["error"] = {"code": "moderation_blocked", "message": "Your request was blocked by our moderation system."}
                    status, progress = "failed", job["progress"]
                job["status"], job["progress"] = status, progress
                if status == "completed":
                    job["completed_at"] = int(time.time())
                    job["expires_at"] = job["completed_at"] + 3600
        headers = {} if job["status"] in ("completed", "failed") else {"openai-poll-after-ms": self.poll_after_ms}
        return Reply(200, self._video(job), headers=headers)

    @route("GET", "/videos/(?P<video_id>[^/]+)/content")
    def content(self, call: Call, video_id: str) -> Reply:
        if not self._authorized(call):
            return self._unauthorized(call)
        job = self.jobs.get(video_id)
        if job is None or self.scenario.get("expire_outputs"):
            return error(404, f"Video with id '{video_id}' not found or its content has expired.", code="not_found")
        if job["status"] != "completed":
            return error(400, "Video is not ready yet.", code="video_not_ready")
        if call.query.get("variant", ["video"])[0] != "video":
            return error(400, "Only the video variant is faked.")
        return Reply(200, tiny_mp4(), content_type="video/mp4")

    @route("DELETE", "/videos/(?P<video_id>[^/]+)")
    def delete(self, call: Call, video_id: str) -> Reply:
        if not self._authorized(call):
            return self._unauthorized(call)
        with self.lock:
            job = self.jobs.pop(video_id, None)
        if job is None:
            return error(404, f"Video with id '{video_id}' not found.", code="not_found")
        return Reply(200, {"id": video_id, "object": "video.deleted", "deleted": True})
