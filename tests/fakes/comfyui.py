"""A fake ComfyUI server (see apps/generation/backends/comfyui.py for the contract).

Queue and history live in memory, as in ComfyUI; ``restart()`` wipes both. A prompt moves
pending -> running -> finished as it is looked at (``GET /history/{id}``): pending for
``pending_polls`` looks, running for ``running_polls`` more, then it lands in the history
with a SaveVideo-style output (``images`` + ``animated``, real H.264 bytes from ``/view``)
and a temporary preview PNG on another node.

Deliberate differences from ComfyUI:
  * a ``prompt_id`` that is already queued or in the history is refused with 400
    ``{"error": {"type": "prompt_id_exists", "message": "prompt_id already exists"}}``
    (ComfyUI itself would queue it again); ``executions[prompt_id]`` counts real queueing;
  * inputs are checked strictly: any leftover ``{{...}}`` and any non-number in a numeric
    input (width, height, length, seed, fps, steps, cfg, batch_size) is a node error, and a
    node whose class_type is ``MissingNode`` does not exist.

Also ``GET /system_stats`` (version ``self.version``, one RTX 4090 with 24 GB) and
``GET /object_info`` (the node classes in ``self.nodes``), for the connection test.

Scenario flags:
  node_errors         every /prompt answers 400 with a node error (missing model file)
  fail_after_running  prompts end with an execution_error
  expire_outputs      /view answers 404 (the output file was deleted)
  lose_job            the next request restarts the server first (queue and history wiped)
  invisible           /queue and /history show nothing (the first submission not visible yet)
  output_key          "gifs" or "videos": which key the video output is reported under
"""

from __future__ import annotations

import email.parser
import email.policy

from .luma import QuickFake
from .server import Call, Reply, route, tiny_mp4, tiny_png

KNOWN_NODES = {
    "CLIPLoader", "CLIPTextEncode", "CLIPVisionEncode", "CLIPVisionLoader", "CreateVideo", "EmptyHunyuanLatentVideo",
    "KSampler", "LoadImage", "ModelSamplingSD3", "SaveVideo", "UNETLoader", "VAEDecode", "VAELoader", "WanImageToVideo",
}
NUMERIC_INPUTS = {"width", "height", "length", "seed", "noise_seed", "fps", "steps", "cfg", "batch_size", "frame_rate"}


def _parse_multipart(call: Call) -> dict[str, tuple[str | None, bytes]]:
    header = f"Content-Type: {call.headers.get('content-type', '')}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + call.body)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[name] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return fields


class FakeComfyUI(QuickFake):
    def __init__(self, pending_polls: int = 1, running_polls: int = 2) -> None:
        super().__init__()
        self.pending_polls = pending_polls
        self.running_polls = running_polls
        self.queue: list[str] = []  # prompt ids, in order
        self.history: dict[str, dict] = {}
        self.executions: dict[str, int] = {}
        self.uploads: dict[str, bytes] = {}
        self.interrupted: list[str] = []
        self.number = 0
        self.version = "0.3.43"
        # Node classes /object_info reports (a workflow's other nodes are "not installed").
        self.nodes: set[str] = set(KNOWN_NODES)

    # -- lifecycle -----------------------------------------------------------------------------
    def restart(self) -> None:
        """What a ComfyUI restart does: the in-memory queue and history are gone."""
        with self.lock:
            self.jobs.clear()
            self.queue.clear()
            self.history.clear()

    def _maybe_restart(self) -> None:
        if self.take("lose_job"):
            self.restart()

    # -- job progress ----------------------------------------------------------------------------
    def _state(self, prompt_id: str) -> str:
        job = self.jobs[prompt_id]
        if job["polls"] <= self.pending_polls:
            return "pending"
        if job["polls"] <= self.pending_polls + self.running_polls:
            return "running"
        return "done"

    def _finish(self, prompt_id: str) -> None:
        job = self.jobs[prompt_id]
        self.queue.remove(prompt_id)
        item = [job["number"], prompt_id, job["prompt"], {"client_id": job["client_id"]}, list(job["prompt"])]
        if prompt_id in self.interrupted:
            status = {"status_str": "error", "completed": False, "messages": [
                ["execution_start", {"prompt_id": prompt_id}],
                ["execution_interrupted", {"prompt_id": prompt_id, "node_id": "8", "node_type": "KSampler", "executed": []}],
            ]}
            self.history[prompt_id] = {"prompt": item, "outputs": {}, "status": status, "meta": {}}
            return
        if self.scenario.get("fail_after_running"):
            status = {"status_str": "error", "completed": False, "messages": [
                ["execution_start", {"prompt_id": prompt_id}],
                ["execution_error", {
                    "prompt_id": prompt_id, "node_id": "8", "node_type": "KSampler",
                    "exception_message": "Allocation on device 0 would exceed allowed memory. (out of memory)",
                    "exception_type": "torch.OutOfMemoryError", "traceback": ["..."],
                }],
            ]}
            self.history[prompt_id] = {"prompt": item, "outputs": {}, "status": status, "meta": {}}
            return
        n = len(self.history) + 1
        key = self.scenario.get("output_key", "images")
        video = {"filename": f"take_{n:05d}_.mp4", "subfolder": "montage", "type": "output"}
        if key == "gifs":
            video["format"] = "video/h264-mp4"
            video["frame_rate"] = 24
        outputs = {
            "11": {key: [video], **({"animated": [True]} if key == "images" else {})},
            "99": {"images": [{"filename": f"ComfyUI_temp_{n:05d}_.png", "subfolder": "", "type": "temp"}]},
        }
        status = {"status_str": "success", "completed": True, "messages": [
            ["execution_start", {"prompt_id": prompt_id}],
            ["execution_cached", {"nodes": [], "prompt_id": prompt_id}],
            ["execution_success", {"prompt_id": prompt_id}],
        ]}
        self.history[prompt_id] = {"prompt": item, "outputs": outputs, "status": status, "meta": {"11": {"node_id": "11"}}}

    # -- validation --------------------------------------------------------------------------------
    def _node_errors(self, prompt: dict) -> dict:
        errors: dict = {}

        def add(node_id, node, message, details):
            errors.setdefault(node_id, {"errors": [], "dependent_outputs": [], "class_type": node.get("class_type")})
            errors[node_id]["errors"].append({"type": "value_not_valid", "message": message, "details": details, "extra_info": {}})

        for node_id, node in prompt.items():
            if node.get("class_type") == "MissingNode":
                add(node_id, node, "Node does not exist", "class_type MissingNode is not installed")
            for name, value in (node.get("inputs") or {}).items():
                if isinstance(value, str) and "{{" in value:
                    add(node_id, node, "Unfilled placeholder", f"{name}: {value}")
                if name in NUMERIC_INPUTS and not isinstance(value, (int, float, list)):
                    add(node_id, node, "Failed to convert an input value to a number", f"{name}: {value!r}")
        if self.scenario.get("node_errors"):
            node_id = next(iter(prompt))
            add(node_id, prompt[node_id], "Value not in list", "unet_name: 'wan2.1_t2v_1.3B_fp16.safetensors' not in []")
        return errors

    # -- routes ------------------------------------------------------------------------------------
    @route("POST", r"/prompt")
    def post_prompt(self, call: Call):
        self._maybe_restart()
        try:
            body = call.json()
        except ValueError:
            return Reply(400, {"error": {"type": "invalid_json", "message": "Invalid JSON"}, "node_errors": {}})
        prompt = body.get("prompt")
        if not isinstance(prompt, dict):
            return Reply(400, {"error": {"type": "no_prompt", "message": "No prompt provided", "details": ""}, "node_errors": {}})
        prompt_id = str(body.get("prompt_id") or self.new_id())
        with self.lock:
            if prompt_id in self.jobs:
                return Reply(400, {
                    "error": {"type": "prompt_id_exists", "message": "prompt_id already exists", "details": prompt_id},
                    "node_errors": {},
                })
            errors = self._node_errors(prompt)
            if errors:
                return Reply(400, {
                    "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": ""},
                    "node_errors": errors,
                })
            self.number += 1
            self.jobs[prompt_id] = {"prompt": prompt, "number": self.number, "polls": 0, "client_id": body.get("client_id")}
            self.queue.append(prompt_id)
            self.executions[prompt_id] = self.executions.get(prompt_id, 0) + 1
        return {"prompt_id": prompt_id, "number": self.number, "node_errors": {}}

    @route("GET", r"/history/(?P<prompt_id>[^/]+)")
    def get_history(self, call: Call, prompt_id: str):
        self._maybe_restart()
        with self.lock:
            if self.scenario.get("invisible"):
                return {}
            if prompt_id in self.jobs and prompt_id not in self.history:
                self.jobs[prompt_id]["polls"] += 1
                if self._state(prompt_id) == "done":
                    self._finish(prompt_id)
            entry = self.history.get(prompt_id)
        return {prompt_id: entry} if entry else {}

    @route("GET", r"/queue")
    def get_queue(self, call: Call):
        self._maybe_restart()
        running, pending = [], []
        with self.lock:
            if not self.scenario.get("invisible"):
                for prompt_id in self.queue:
                    job = self.jobs[prompt_id]
                    item = [job["number"], prompt_id, job["prompt"], {"client_id": job["client_id"]}, list(job["prompt"])]
                    (running if self._state(prompt_id) == "running" else pending).append(item)
        return {"queue_running": running, "queue_pending": pending}

    @route("GET", r"/system_stats")
    def system_stats(self, call: Call):
        return Reply(200, {
            "system": {"os": "posix", "comfyui_version": self.version, "python_version": "3.12.3", "pytorch_version": "2.6.0"},
            "devices": [{"name": "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync", "type": "cuda", "index": 0,
                         "vram_total": 25_393_692_672, "vram_free": 24_000_000_000}],
        })

    @route("GET", r"/object_info")
    def object_info(self, call: Call):
        return Reply(200, {name: {"name": name, "input": {}, "output": []} for name in sorted(self.nodes)})

    @route("POST", r"/queue")
    def post_queue(self, call: Call):
        body = call.json() or {}
        with self.lock:
            for prompt_id in body.get("delete") or []:
                if prompt_id in self.queue and self._state(prompt_id) == "pending":
                    self.queue.remove(prompt_id)
                    self.jobs.pop(prompt_id, None)
        return Reply(200, b"", content_type="text/plain")

    @route("POST", r"/interrupt")
    def interrupt(self, call: Call):
        body = call.json() if call.body else {}
        with self.lock:
            target = (body or {}).get("prompt_id")
            for prompt_id in self.queue:
                if self._state(prompt_id) == "running" and (target is None or target == prompt_id):
                    self.interrupted.append(prompt_id)
        return Reply(200, b"", content_type="text/plain")

    @route("POST", r"/upload/image")
    def upload_image(self, call: Call):
        fields = _parse_multipart(call)
        if "image" not in fields:
            return Reply(400, b"", content_type="text/plain")
        filename, data = fields["image"]
        subfolder = (fields.get("subfolder") or (None, b""))[1].decode()
        overwrite = (fields.get("overwrite") or (None, b""))[1].decode() == "true"
        name = filename or "image.png"
        key = f"{subfolder}/{name}" if subfolder else name
        if key in self.uploads and not overwrite:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem} (1){dot}{ext}"
            key = f"{subfolder}/{name}" if subfolder else name
        self.uploads[key] = data
        return {"name": name, "subfolder": subfolder, "type": (fields.get("type") or (None, b"input"))[1].decode()}

    @route("GET", r"/view")
    def view(self, call: Call):
        query = {k: v[0] for k, v in call.query.items()}  # blank values (subfolder=) are dropped
        filename = query.get("filename", "")
        produced = {
            (item["filename"], item.get("subfolder", ""), item.get("type"))
            for entry in self.history.values()
            for out in entry.get("outputs", {}).values()
            for key in ("images", "gifs", "videos")
            for item in out.get(key, [])
        }
        if self.scenario.get("expire_outputs") or (filename, query.get("subfolder", ""), query.get("type")) not in produced:
            return Reply(404, b"404: Not Found", content_type="text/plain")
        if filename.endswith(".png"):
            return Reply(200, tiny_png(), content_type="image/png")
        return Reply(200, tiny_mp4(), content_type="video/mp4")
