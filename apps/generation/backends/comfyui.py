"""ComfyUI on the studio's own GPU box: a project workflow, filled in and queued.

The contract (see /work/shared/design/PROVIDERS.md), checked against ComfyUI's ``server.py``
(github.com/comfyanonymous/ComfyUI):

    base  http://host:8188, no auth
    POST  /upload/image (multipart: image, type=input, overwrite) -> {name, subfolder, type}
    POST  /prompt {prompt: <API-format graph>, client_id, prompt_id}
          -> 200 {prompt_id, number, node_errors} | 400 {error: {type, message, details}, node_errors}
    GET   /history/{prompt_id} -> {} or {prompt_id: {outputs: {node: {images|gifs|videos: [...]}},
                                                     status: {status_str, completed, messages}}}
    GET   /queue -> {queue_running: [[number, prompt_id, ...]], queue_pending: [...]}
    GET   /view?filename=&subfolder=&type= -> bytes
    POST  /queue {delete: [prompt_id]}; POST /interrupt {prompt_id}

Configuration (non-secret, per project, in ``ctx.config``):
    host          "192.168.1.20:8188", "gpu.local" (port 8188 added) or a full URL;
                  ``ctx.base_url`` wins when set
    workflow      an API-format graph (dict or JSON text) with {{placeholders}}; per-kind
                  ``workflow_text_to_video`` / ``workflow_image_to_video`` win over it;
                  without one the defaults in ``comfy_workflows/`` are used
    client_id     optional, defaults to "montage"

"Configured": ``available()`` has no context, so it always says yes; ``config_problem(config)``
(used by the job machinery and the backend list) says what is missing: a host that is an
address, and a workflow that is ComfyUI's API format (the project's own, or the built-in
default when none is given). ``is_configured`` is the same as a yes/no. Without a host,
``submit``/``poll`` fail with a readable error.

Connection test (``test_connection``, the settings' "Test connection" button):
    GET /system_stats -> {system: {comfyui_version, ...}, devices: [{name, type, vram_total, ...}]}
    GET /queue        -> jobs running and waiting
    GET /object_info  -> every node class this ComfyUI has (the workflow's nodes are looked up)
Every HTTP call goes through ``_request`` and the guarded client (``backends.http.send``): a
host that is loopback, private or link-local is refused unless the operator allows it in
``MONTAGE_PROVIDER_ALLOWED_HOSTS``. Error bodies from a host a project member typed are
shown only as ComfyUI's own structured errors (``node_errors``, execution errors), never raw.

Idempotency: we send our own ``prompt_id`` (the job's idempotency key). ComfyUI itself does
not refuse a known prompt_id - it would queue the graph again - so ``submit`` first looks
for the id in ``/history`` and ``/queue`` and does not post again when it is there; if the
server (a newer version or a proxy in front of it) answers that the id already exists, that
is a successful submission too.

Restart: queue and history live in the server's memory. A prompt_id found in neither is
reported as ``JobLost`` (after a second look at the history, to close the race with a job
that finished between the two calls).

Not implemented: progress over the websocket (``/ws?clientId=``: ``progress {value, max}``).
Polling gives queued/running/finished only, so ``progress`` stays ``None`` while running.
Failures on one's own GPU cost nothing: every failure is ``billable=False``.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import uuid
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from ..registry import register
from .base import (
    Backend,
    BackendContext,
    BackendValidationError,
    GenerationRequest,
    JobLost,
    ModelSpec,
    Output,
    PollResult,
    ProviderError,
    SubmitResult,
    TransientError,
)
from .http import AddressNotAllowed, raise_for_status, send, stream_to_file

PROVIDER = "ComfyUI"
DEFAULT_PORT = 8188
WORKFLOW_DIR = Path(__file__).resolve().parent / "comfy_workflows"
DEFAULT_WORKFLOWS = {"text_to_video": "default_t2v.json", "image_to_video": "default_i2v.json"}
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_PROMPT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_VIDEO_EXT = (".mp4", ".webm", ".mov", ".mkv", ".gif", ".webp", ".avi")
_OUTPUT_KEYS = ("videos", "gifs", "images")


def normalise_host(value: str) -> str:
    """"gpu.local" -> "http://gpu.local:8188"; full URLs are kept (minus a trailing slash)."""
    value = (value or "").strip().rstrip("/")
    if not value:
        return ""
    if "://" not in value:
        host = value
        if urlsplit("http://" + host).port is None:
            host = f"{host}:{DEFAULT_PORT}"
        return "http://" + host
    return value


def load_workflow(value: Any) -> dict[str, Any]:
    """A workflow from config (dict or JSON text), checked to be ComfyUI's API format."""
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            raise ProviderError("The ComfyUI workflow is not valid JSON.") from None
    if not isinstance(value, dict) or not value:
        raise ProviderError("The ComfyUI workflow must be a JSON object of nodes.")
    if "nodes" in value and "links" in value:
        raise ProviderError(
            "This ComfyUI workflow is in the editor's format; export it with Workflow → Export (API) and use that file."
        )
    for node_id, node in value.items():
        if not isinstance(node, dict) or "class_type" not in node or not isinstance(node.get("inputs", {}), dict):
            raise ProviderError(f"The ComfyUI workflow node {node_id!r} has no class_type/inputs (is it API format?).")
    return value


def placeholders_in(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for v in node.values():
            found |= placeholders_in(v)
    elif isinstance(node, list):
        for v in node:
            found |= placeholders_in(v)
    elif isinstance(node, str):
        found.update(m.group(1) for m in PLACEHOLDER.finditer(node))
    return found


def fill_placeholders(node: Any, values: dict[str, Any]) -> Any:
    """Replace {{name}}: a string that is only a placeholder becomes the typed value (numbers
    stay numbers); a placeholder inside longer text is replaced by its text."""
    if isinstance(node, dict):
        return {k: fill_placeholders(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [fill_placeholders(v, values) for v in node]
    if isinstance(node, str):
        whole = PLACEHOLDER.fullmatch(node)
        if whole:
            return values[whole.group(1)]
        return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), node)
    return node


def _fps_value(fps: Fraction) -> int | float:
    fps = Fraction(fps)
    return int(fps) if fps.denominator == 1 else float(fps)


def _seed_for(req: GenerationRequest) -> int:
    if req.seed is not None:
        return int(req.seed)
    # Derived from the job's key, so a resubmission of the same job is the same graph.
    digest = hashlib.sha256((req.idempotency_key or uuid.uuid4().hex).encode()).hexdigest()
    return int(digest[:8], 16)


@register
class ComfyUIBackend(Backend):
    name = "comfyui"
    title = "ComfyUI (your GPU box)"
    needs_credentials = False
    default_base_url = ""  # no default: the host must be configured (see is_configured)
    default_concurrency = 2
    models = (
        ModelSpec(
            name="workflow",
            title="Project workflow",
            kinds=("text_to_video", "image_to_video"),
            min_seconds=0.1,
            max_seconds=60.0,
            cost_per_second=Decimal(0),
        ),
    )

    # -- configuration -----------------------------------------------------------------------
    def config_problem(self, config: dict[str, Any] | None, base_url: str = "") -> str:
        """What is missing or wrong in the project's ComfyUI settings ("" when they are usable)."""
        config = config or {}
        given = str(base_url or config.get("base_url") or config.get("host") or "").strip()
        if not given:
            return (
                "ComfyUI is not set up for this project: a director or producer enters the address of the GPU box "
                "(host, for example 192.168.1.20:8188) and its workflow in the project's settings (Providers)."
            )
        parts = urlsplit(normalise_host(given))
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            return f"The ComfyUI host {given!r} has a port that is not a number."
        if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in given):
            return f"The ComfyUI host {given!r} is not an address; write it as 192.168.1.20:8188 or http://gpu.local:8188."
        for kind in self.kinds:
            try:
                self.workflow_for(kind, config)
            except ProviderError as exc:
                return exc.message
        return ""

    def config_errors(self, config: dict[str, Any]) -> dict[str, str]:
        """A host that is not an address, a workflow that is not API-format JSON."""
        errors: dict[str, str] = {}
        host = str(config.get("host") or "").strip()
        if host:
            problem = self.config_problem({"host": host})
            if problem:
                errors["host"] = problem
        for key in ("workflow", *(f"workflow_{kind}" for kind in self.kinds)):
            if config.get(key):
                try:
                    load_workflow(config[key])
                except ProviderError as exc:
                    errors[key] = exc.message
        return errors

    def is_configured(self, config: dict[str, Any] | None, base_url: str = "") -> bool:
        """True when the project's settings are usable (see ``config_problem``).

        ``available()`` cannot see a project's settings, so callers check this one."""
        return not self.config_problem(config, base_url)

    def test_connection(self, ctx: BackendContext) -> dict[str, Any]:
        """Ask the GPU box what it is (short timeouts): version, GPUs, queue, and whether it
        has every node the workflow uses."""
        problem = self.config_problem(ctx.config, ctx.base_url)
        if problem:
            return {"ok": False, "detail": problem, "info": {}}
        quick = BackendContext(
            base_url=ctx.base_url, config=ctx.config, timeout=min(ctx.timeout, 5.0), address_from_project=ctx.address_from_project
        )
        host = urlsplit(self._base(quick)).netloc
        try:
            stats = self._get_json(quick, "/system_stats")
            queue = self._get_json(quick, "/queue")
            nodes = self._get_json(quick, "/object_info")
        except AddressNotAllowed as exc:
            return {"ok": False, "detail": exc.message, "info": {"host": host}}
        except ProviderError as exc:
            return {"ok": False, "detail": f"No answer from ComfyUI at {host}: {exc.message}", "info": {"host": host}}
        stats = stats if isinstance(stats, dict) else {}
        system = stats.get("system") if isinstance(stats.get("system"), dict) else {}
        version = str(system.get("comfyui_version") or "").strip()
        gpus = []
        for device in stats.get("devices") or []:
            if isinstance(device, dict) and device.get("type") not in ("cpu", None):
                gpus.append({"name": _device_name(str(device.get("name") or "GPU")), "vram_gb": _gib(device.get("vram_total"))})
        queue = queue if isinstance(queue, dict) else {}
        running, pending = len(queue.get("queue_running") or []), len(queue.get("queue_pending") or [])
        known = set(nodes) if isinstance(nodes, dict) else set()
        missing: set[str] = set()
        for kind in self.kinds:
            workflow = self.workflow_for(kind, ctx.config)
            missing |= {str(n.get("class_type")) for n in workflow.values()} - known
        parts = [f"ComfyUI {version}" if version else "ComfyUI (version not reported)"]
        if gpus:
            each = ", ".join(f"{g['name']}, {g['vram_gb']} GB" if g["vram_gb"] else g["name"] for g in gpus)
            parts.append(f"{len(gpus)} GPU{'s' if len(gpus) != 1 else ''} ({each})")
        else:
            parts.append("no GPU reported (it runs on the CPU)")
        parts.append(f"{running + pending} job{'s' if running + pending != 1 else ''} queued")
        detail = ", ".join(parts)
        if missing:
            detail += f"; the workflow uses nodes this ComfyUI does not have: {', '.join(sorted(missing))}"
        info = {
            "host": host, "version": version or None, "gpus": gpus, "queue_running": running, "queue_pending": pending,
            "missing_nodes": sorted(missing),
        }
        return {"ok": not missing, "detail": detail + ".", "info": info}

    def _base(self, ctx: BackendContext) -> str:
        config = ctx.config or {}
        base = normalise_host(str(ctx.base_url or config.get("base_url") or config.get("host") or self.default_base_url or ""))
        if not base:
            raise ProviderError(
                "ComfyUI is not set up for this project: give the address of your GPU box (for example 192.168.1.20:8188)."
            )
        return base

    def workflow_for(self, kind: str, config: dict[str, Any] | None) -> dict[str, Any]:
        config = config or {}
        given = config.get(f"workflow_{kind}") or config.get("workflow")
        if given:
            return load_workflow(given)
        name = DEFAULT_WORKFLOWS.get(kind)
        if not name:
            raise ProviderError(f"ComfyUI has no default workflow for {kind.replace('_', ' ')}.")
        return load_workflow((WORKFLOW_DIR / name).read_text())

    # -- checks ------------------------------------------------------------------------------
    def validate(self, req: GenerationRequest) -> None:
        super().validate(req)
        if req.width % 8 or req.height % 8 or req.width < 64 or req.height < 64:
            raise BackendValidationError(
                f"ComfyUI video models want sizes in multiples of 8 (64 or more); {req.width}×{req.height} was asked.",
                field="size",
            )
        if req.duration_frames is not None and req.duration_frames < 1:
            raise BackendValidationError("Ask for at least one frame.", field="duration_frames")
        if req.seed is not None and not (0 <= int(req.seed) < 2**64):
            raise BackendValidationError("ComfyUI seeds are 0 to 2^64 - 1.", field="seed")

    def placeholder_values(self, req: GenerationRequest, image_name: str | None = None) -> dict[str, Any]:
        values: dict[str, Any] = {
            k: v for k, v in (req.params or {}).items() if isinstance(k, str) and isinstance(v, (str, int, float, bool))
        }
        values.update(
            prompt=req.prompt,
            negative_prompt=req.negative_prompt,
            seed=_seed_for(req),
            width=int(req.width),
            height=int(req.height),
            frames=int(req.duration_frames or 1),
            fps=_fps_value(req.fps),
        )
        if image_name is not None:
            values["input_image"] = image_name
        return values

    def build_prompt(self, req: GenerationRequest, workflow: dict[str, Any], image_name: str | None = None) -> dict[str, Any]:
        wanted = placeholders_in(workflow)
        values = self.placeholder_values(req, image_name)
        if req.kind == "image_to_video" and "input_image" not in wanted:
            raise ProviderError("The ComfyUI workflow for image to video has no {{input_image}} placeholder (on a LoadImage node).")
        if "input_image" in wanted and image_name is None:
            raise ProviderError("The ComfyUI workflow needs a start image ({{input_image}}), and this request has none.")
        unknown = sorted(wanted - set(values))
        if unknown:
            names = ", ".join("{{" + n + "}}" for n in unknown)
            raise ProviderError(f"The ComfyUI workflow uses {names}, which Montage does not fill.")
        return fill_placeholders(workflow, values)

    # -- HTTP ------------------------------------------------------------------------------
    def _request(self, ctx: BackendContext, method: str, path: str, **kwargs: Any):
        import requests

        base = self._base(ctx)
        kwargs.setdefault("timeout", ctx.timeout)
        try:
            return send(ctx, method, base + path, provider=PROVIDER, trusted=not self._typed_by_project(ctx), **kwargs)
        except requests.RequestException as exc:
            host = urlsplit(base).netloc
            raise TransientError(f"ComfyUI: could not reach the GPU box at {host} ({exc.__class__.__name__}).") from None

    @staticmethod
    def _typed_by_project(ctx: BackendContext) -> bool:
        """Is the address one a project member typed (the host in the settings), not the operator's?"""
        return ctx.address_from_project or not ctx.base_url

    def _get_json(self, ctx: BackendContext, path: str) -> Any:
        response = self._request(ctx, "GET", path)
        raise_for_status(response, provider=PROVIDER)
        try:
            return response.json()
        except ValueError:
            raise ProviderError(f"ComfyUI answered {path} with something that is not JSON.") from None

    def _history(self, ctx: BackendContext, prompt_id: str) -> dict[str, Any] | None:
        data = self._get_json(ctx, f"/history/{prompt_id}")
        entry = data.get(prompt_id) if isinstance(data, dict) else None
        return entry if isinstance(entry, dict) else None

    def _queue_state(self, ctx: BackendContext, prompt_id: str) -> tuple[str | None, int | None]:
        data = self._get_json(ctx, "/queue") or {}
        for position, item in enumerate(data.get("queue_running") or []):
            if isinstance(item, (list, tuple)) and len(item) > 1 and item[1] == prompt_id:
                return "running", position
        for position, item in enumerate(data.get("queue_pending") or []):
            if isinstance(item, (list, tuple)) and len(item) > 1 and item[1] == prompt_id:
                return "queued", position
        return None, None

    # -- the conversation ------------------------------------------------------------------
    def submit(self, req: GenerationRequest, ctx: BackendContext) -> SubmitResult:
        self.validate(req)
        prompt_id = req.idempotency_key or str(uuid.uuid4())
        if not _PROMPT_ID.match(prompt_id):
            raise ProviderError("ComfyUI: the job's idempotency key cannot be used as a prompt_id.")
        workflow = self.workflow_for(req.kind, ctx.config)

        # Already there (a resubmission after a crash)? Then it was submitted: do not queue it twice.
        if self._history(ctx, prompt_id) is not None:
            return SubmitResult(provider_job_id=prompt_id, state="running", poll_after=1.0, raw={"resubmitted": True})
        state, position = self._queue_state(ctx, prompt_id)
        if state:
            return SubmitResult(provider_job_id=prompt_id, state=state, poll_after=3.0, raw={"resubmitted": True, "position": position})

        image_name = None
        if req.input_image is not None and (req.kind == "image_to_video" or "input_image" in placeholders_in(workflow)):
            image_name = self._upload_image(ctx, req, prompt_id)
        graph = self.build_prompt(req, workflow, image_name)
        client_id = str((ctx.config or {}).get("client_id") or "montage")
        response = self._request(ctx, "POST", "/prompt", json={"prompt": graph, "client_id": client_id, "prompt_id": prompt_id})
        body = _json_or_empty(response)
        if response.status_code >= 400:
            if _already_exists(body, response.text):
                return SubmitResult(provider_job_id=prompt_id, state="queued", poll_after=3.0, raw={"resubmitted": True})
            if response.status_code < 500 and isinstance(body, dict) and isinstance(body.get("node_errors"), (dict, list)):
                raise ProviderError(f"ComfyUI refused the workflow: {describe_errors(body)}", status=response.status_code)
            raise_for_status(response, provider=PROVIDER)
            raise ProviderError(f"ComfyUI refused the workflow (HTTP {response.status_code}).", status=response.status_code)
        node_errors = body.get("node_errors") if isinstance(body, dict) else None
        accepted_id = str((body or {}).get("prompt_id") or prompt_id)
        if node_errors:
            # Queued anyway for the outputs that validated: take it back, then fail readably.
            self._request(ctx, "POST", "/queue", json={"delete": [accepted_id]})
            raise ProviderError(f"ComfyUI refused part of the workflow: {describe_errors(body)}")
        # Older ComfyUI ignores our prompt_id and makes its own; reconcile by the one it gave.
        return SubmitResult(provider_job_id=accepted_id, state="queued", poll_after=3.0, raw={"number": (body or {}).get("number")})

    def _upload_image(self, ctx: BackendContext, req: GenerationRequest, prompt_id: str) -> str:
        image = req.input_image
        assert image is not None
        path = Path(image.path)
        suffix = path.suffix.lower() or ".png"
        filename = f"montage-{prompt_id}{suffix}"  # stable: a resubmission overwrites, not duplicates
        ctype = image.content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        try:
            data = path.read_bytes()
        except OSError:
            raise ProviderError("The start image could not be read from local storage.") from None
        response = self._request(
            ctx,
            "POST",
            "/upload/image",
            files={"image": (filename, data, ctype)},
            data={"type": "input", "overwrite": "true"},
            timeout=max(ctx.timeout, 60),
        )
        raise_for_status(response, provider=PROVIDER)
        body = _json_or_empty(response)
        name = str(body.get("name") or "") if isinstance(body, dict) else ""
        if not name:
            raise ProviderError("ComfyUI took the start image but did not say what it called it.")
        subfolder = str(body.get("subfolder") or "")
        return f"{subfolder}/{name}" if subfolder else name

    def poll(self, provider_job_id: str, ctx: BackendContext) -> PollResult:
        if not _PROMPT_ID.match(provider_job_id or ""):
            raise JobLost(f"ComfyUI: {provider_job_id!r} is not a prompt id.")
        entry = self._history(ctx, provider_job_id)
        if entry is not None:
            return self.result_from_history(entry, ctx)
        state, position = self._queue_state(ctx, provider_job_id)
        if state == "running":
            # Progress is only sent over the websocket, which we do not follow.
            return PollResult(state="running", poll_after=3.0, raw={"position": position})
        if state == "queued":
            return PollResult(state="queued", progress=0, poll_after=5.0, raw={"position": position})
        entry = self._history(ctx, provider_job_id)  # it may have finished between the two calls
        if entry is not None:
            return self.result_from_history(entry, ctx)
        raise JobLost("ComfyUI no longer knows this job (the GPU box was probably restarted); generate again.")

    def result_from_history(self, entry: dict[str, Any], ctx: BackendContext) -> PollResult:
        status = entry.get("status") or {}
        messages = [m for m in status.get("messages") or [] if isinstance(m, (list, tuple)) and len(m) == 2]
        events = {m[0]: m[1] for m in messages}
        raw = {"status": status.get("status_str"), "completed": status.get("completed")}
        if "execution_interrupted" in events:
            return PollResult(state="cancelled", error="Interrupted on the GPU box.", billable=False, raw=raw)
        if status.get("status_str") == "error" or "execution_error" in events:
            data = events.get("execution_error") or {}
            where = f"node {data.get('node_id')} ({data.get('node_type')})" if data.get("node_id") else "a node"
            what = str(data.get("exception_message") or data.get("exception_type") or "an error").strip()
            return PollResult(state="failed", error=f"ComfyUI: {where} failed: {what}", billable=False, raw=raw)
        outputs = self.collect_outputs(entry.get("outputs") or {}, ctx)
        if not outputs:
            return PollResult(
                state="failed",
                error="ComfyUI finished without any output file (does the workflow end with a SaveVideo node?).",
                billable=False,
                raw=raw,
            )
        return PollResult(state="succeeded", progress=100, outputs=outputs, raw=raw)

    def collect_outputs(self, node_outputs: dict[str, Any], ctx: BackendContext) -> list[Output]:
        base = self._base(ctx)
        found: list[tuple[bool, bool, Output]] = []
        for node_id, out in node_outputs.items():
            if not isinstance(out, dict):
                continue
            for key in _OUTPUT_KEYS:
                for item in out.get(key) or []:
                    if not isinstance(item, dict) or not item.get("filename"):
                        continue
                    filename = str(item["filename"])
                    kind = str(item.get("type") or "output")
                    query = urlencode({"filename": filename, "subfolder": item.get("subfolder") or "", "type": kind})
                    is_video = key in ("videos", "gifs") or filename.lower().endswith(_VIDEO_EXT)
                    # VHS reports "format": "video/h264-mp4", not a MIME type: go by the extension.
                    ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
                    output = Output(
                        url=f"{base}/view?{query}",
                        filename=Path(filename).name,
                        content_type=ctype,
                        meta={"node": node_id, "key": key, "type": kind},
                    )
                    found.append((is_video, kind != "temp", output))
        # Prefer saved videos; drop temporary previews when real outputs exist.
        for keep in (lambda v, s: v and s, lambda v, s: v, lambda v, s: s, lambda v, s: True):
            chosen = [o for v, s, o in found if keep(v, s)]
            if chosen:
                return chosen
        return []

    def cancel(self, provider_job_id: str, ctx: BackendContext) -> None:
        if not _PROMPT_ID.match(provider_job_id or ""):
            return
        state, _ = self._queue_state(ctx, provider_job_id)
        if state == "queued":
            raise_for_status(self._request(ctx, "POST", "/queue", json={"delete": [provider_job_id]}), provider=PROVIDER)
        elif state == "running":
            # Newer ComfyUI interrupts only this prompt; we only ask when it is the one running.
            raise_for_status(self._request(ctx, "POST", "/interrupt", json={"prompt_id": provider_job_id}), provider=PROVIDER)

    def download(self, output: Output, ctx: BackendContext, dest: Path) -> Path:
        if output.path is not None or not output.url:
            return super().download(output, ctx, dest)
        stream_to_file(ctx, output.url, dest, headers=dict(output.headers), provider=PROVIDER)
        return dest


# -- helpers -----------------------------------------------------------------------------------


def _device_name(name: str) -> str:
    """"cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync" -> "NVIDIA GeForce RTX 4090"."""
    name = name.split(" : ", 1)[0].strip()
    return re.sub(r"^[a-z]+:\d+\s+", "", name) or "GPU"


def _gib(value: Any) -> int | None:
    try:
        return round(int(value) / 1024**3) or None
    except (TypeError, ValueError):
        return None


def _json_or_empty(response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _already_exists(body: Any, text: str) -> bool:
    blob = (json.dumps(body) if body else text or "").lower()
    return "already exist" in blob or ("duplicate" in blob and "prompt" in blob)


def describe_errors(body: dict[str, Any]) -> str:
    """Readable text from ComfyUI's {error: {message, details}, node_errors: {id: {class_type, errors}}}."""
    parts: list[str] = []
    node_errors = body.get("node_errors")
    for node_id, info in (node_errors if isinstance(node_errors, dict) else {}).items():
        if not isinstance(info, dict):
            continue
        for err in info.get("errors") or []:
            if isinstance(err, dict):
                text = ": ".join(str(x) for x in (err.get("message"), err.get("details")) if x)
                parts.append(f"node {node_id} ({info.get('class_type', '?')}): {text}")
    if not parts:
        err = body.get("error")
        if isinstance(err, dict):
            parts.append(": ".join(str(x) for x in (err.get("message"), err.get("details")) if isinstance(x, str) and x))
    return "; ".join(parts)[:1000] or "no details"
