"""A fake Gemini API for Veo (see apps/generation/backends/veo.py for the contract).

    POST /v1beta/models/{model}:predictLongRunning  -> {name: "models/{model}/operations/{id}"}
    GET  /v1beta/models/{model}/operations/{id}     -> {name, done, metadata, error?, response?}
    GET  /v1beta/files/{id}:download?alt=media      -> real H.264 bytes (needs the key header)

An operation is not done for its first ``running_polls`` polls (``metadata.progressPercent``
grows), then done with ``sampleCount`` samples.

Scenario flags:
  rate_limit_once     next create: 429 RESOURCE_EXHAUSTED, per-minute QuotaFailure, RetryInfo 7s
  quota               creates: 429 RESOURCE_EXHAUSTED with a per-day QuotaFailure
  server_error_once   next create: 503 UNAVAILABLE
  fail_after_running  operations end done with ``error`` (code 13)
  all_filtered        operations end done with raiMediaFilteredCount and no samples
  filter_one          operations end with one sample fewer and raiMediaFilteredCount 1
  expire_outputs      file downloads answer 404
  lose_job            operation GETs answer 404
  redirect_downloads  file downloads redirect to another host name (localhost) serving the bytes
"""

from __future__ import annotations

import base64

from .luma import QuickFake
from .server import Call, Reply, route, tiny_mp4

MODELS = ("veo-3.1-generate-preview", "veo-3.1-fast-generate-preview", "veo-3.0-fast-generate-001")


def _error(code: int, status: str, message: str, details: list | None = None) -> dict:
    body = {"error": {"code": code, "message": message, "status": status}}
    if details:
        body["error"]["details"] = details
    return body


class FakeVeo(QuickFake):
    def __init__(self, api_key: str = "k-test", running_polls: int = 2) -> None:
        super().__init__()
        self.api_key = api_key
        self.running_polls = running_polls
        self.files: dict[str, str] = {}

    def _denied(self, call: Call) -> Reply | None:
        if call.headers.get("x-goog-api-key") != self.api_key:
            return Reply(
                400,
                _error(
                    400,
                    "INVALID_ARGUMENT",
                    "API key not valid. Please pass a valid API key.",
                    [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}],
                ),
            )
        return None

    @route("POST", r"/v1beta/models/(?P<model>[^/:]+):predictLongRunning")
    def create(self, call: Call, model: str):
        denied = self._denied(call)
        if denied:
            return denied
        if self.take("rate_limit_once"):
            return Reply(
                429,
                _error(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "You exceeded your current quota, please check your plan and billing details.",
                    [
                        {
                            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                            "violations": [
                                {
                                    "quotaMetric": "generativelanguage.googleapis.com/generate_requests_per_model",
                                    "quotaId": "GenerateRequestsPerMinutePerProjectPerModel",
                                    "quotaValue": "2",
                                }
                            ],
                        },
                        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"},
                    ],
                ),
            )
        if self.scenario.get("quota"):
            return Reply(
                429,
                _error(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "You exceeded your current quota, please check your plan and billing details.",
                    [
                        {
                            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                            "violations": [
                                {
                                    "quotaMetric": "generativelanguage.googleapis.com/generate_requests_per_model_per_day",
                                    "quotaId": "GenerateRequestsPerDayPerProjectPerModel",
                                    "quotaValue": "10",
                                }
                            ],
                        },
                        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "50000s"},
                    ],
                ),
            )
        if self.take("server_error_once"):
            return Reply(503, _error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."))
        if model not in MODELS:
            return Reply(404, _error(404, "NOT_FOUND", f"models/{model} is not found for API version v1beta"))
        try:
            body = call.json()
            instance = body["instances"][0]
            params = body.get("parameters") or {}
        except (ValueError, KeyError, IndexError, TypeError):
            return Reply(400, _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received."))
        problems = []
        if not instance.get("prompt"):
            problems.append("prompt is required")
        if params.get("aspectRatio") not in ("16:9", "9:16"):
            problems.append("aspectRatio must be 16:9 or 9:16")
        if params.get("resolution") not in ("720p", "1080p"):
            problems.append("resolution must be 720p or 1080p")
        if params.get("durationSeconds") not in (4, 6, 8):
            problems.append("durationSeconds must be 4, 6 or 8")
        if not isinstance(params.get("sampleCount", 1), int) or not 1 <= params.get("sampleCount", 1) <= 4:
            problems.append("sampleCount must be 1..4")
        if "seed" in params:
            problems.append("seed parameter is not supported in Gemini API")
        image = instance.get("image")
        if image is not None:
            try:
                base64.b64decode(image["bytesBase64Encoded"], validate=True)
                good = str(image["mimeType"]).startswith("image/")
            except (KeyError, TypeError, ValueError):
                good = False
            if not good:
                problems.append("image must be {bytesBase64Encoded, mimeType}")
        if problems:
            return Reply(400, _error(400, "INVALID_ARGUMENT", "; ".join(problems)))
        op_id = self.new_id()[:12]
        name = f"models/{model}/operations/{op_id}"
        with self.lock:
            self.jobs[name] = {"name": name, "polls": 0, "request": body, "done": False}
        return {"name": name}

    @route("GET", r"/v1beta/models/(?P<model>[^/]+)/operations/(?P<op_id>[^/]+)")
    def get_operation(self, call: Call, model: str, op_id: str):
        denied = self._denied(call)
        if denied:
            return denied
        name = f"models/{model}/operations/{op_id}"
        job = self.jobs.get(name)
        if job is None or self.scenario.get("lose_job"):
            return Reply(404, _error(404, "NOT_FOUND", "Operation not found."))
        with self.lock:
            job["polls"] += 1
            if job["polls"] <= self.running_polls:
                pct = int(100 * job["polls"] / (self.running_polls + 1))
                return {"name": name, "metadata": {"progressPercent": pct}, "done": False}
            return self._finish(job)

    def _finish(self, job: dict) -> dict:
        name = job["name"]
        if self.scenario.get("fail_after_running"):
            return {"name": name, "done": True, "error": {"code": 13, "message": "Video generation failed due to an internal error."}}
        count = int(job["request"].get("parameters", {}).get("sampleCount", 1))
        filtered = 0
        if self.scenario.get("all_filtered"):
            filtered, count = count, 0
        elif self.scenario.get("filter_one"):
            filtered, count = 1, count - 1
        samples = []
        for _ in range(count):
            file_id = job.setdefault("file_ids", {}).get(len(samples)) or self.new_id()[:16]
            job["file_ids"][len(samples)] = file_id
            self.files[file_id] = name
            samples.append({"video": {"uri": f"{self.url}/v1beta/files/{file_id}:download?alt=media"}})
        result: dict = {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"}
        gvr: dict = {}
        if samples:
            gvr["generatedSamples"] = samples
        if filtered:
            gvr["raiMediaFilteredCount"] = filtered
            gvr["raiMediaFilteredReasons"] = [
                "We encountered an issue with the audio for your prompt. You have not been charged for this request."
            ]
        result["generateVideoResponse"] = gvr
        return {"name": name, "done": True, "response": result}

    @route("GET", r"/v1beta/files/(?P<file_id>[^/:]+):download")
    def download(self, call: Call, file_id: str):
        if self.scenario.get("redirect_downloads") and call.headers.get("host", "").startswith("127.0.0.1"):
            port = self.url.rsplit(":", 1)[-1]
            return Reply(302, b"", headers={"Location": f"http://localhost:{port}/blob/{file_id}"}, content_type="text/plain")
        denied = self._denied(call)
        if denied:
            return Reply(403, _error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers."))
        if self.scenario.get("expire_outputs") or file_id not in self.files:
            return Reply(404, _error(404, "NOT_FOUND", "File not found."))
        return Reply(200, tiny_mp4(), content_type="video/mp4")

    @route("GET", r"/blob/(?P<file_id>[^/]+)")
    def blob(self, call: Call, file_id: str):
        if file_id not in self.files:
            return Reply(404, b"", content_type="text/plain")
        return Reply(200, tiny_mp4(), content_type="video/mp4")
