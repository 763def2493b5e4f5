"""ComfyUI adapter against the fake ComfyUI server (no database)."""

from __future__ import annotations

import json
import uuid
from fractions import Fraction

import pytest

from apps.generation.backends.base import (
    BackendContext,
    BackendValidationError,
    GenerationRequest,
    InputFile,
    JobLost,
    ProviderError,
    TransientError,
)
from apps.generation.backends.comfyui import (
    WORKFLOW_DIR,
    ComfyUIBackend,
    fill_placeholders,
    normalise_host,
    placeholders_in,
)
from tests.fakes.comfyui import FakeComfyUI
from tests.fakes.server import tiny_png
from tests.generation.adapter_cases import check_expired_output, check_lost_job, run_to_end

WORKFLOW = {
    "3": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}", "steps": 4, "cfg": 6.0, "model": ["4", 0], "latent_image": ["5", 0]}},
    "4": {"class_type": "UNETLoader", "inputs": {"unet_name": "model.safetensors"}},
    "5": {"class_type": "EmptyHunyuanLatentVideo", "inputs": {"width": "{{width}}", "height": "{{height}}", "length": "{{frames}}", "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}"}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{negative_prompt}}"}},
    "10": {"class_type": "CreateVideo", "inputs": {"fps": "{{fps}}", "images": ["9", 0]}},
    "11": {"class_type": "SaveVideo", "inputs": {"video": ["10", 0], "filename_prefix": "montage/{{shot}}-{{seed}}"}},
}
I2V = {
    **WORKFLOW,
    "12": {"class_type": "LoadImage", "inputs": {"image": "{{input_image}}"}},
}


@pytest.fixture
def fake():
    with FakeComfyUI() as server:
        yield server


@pytest.fixture
def backend():
    return ComfyUIBackend()


@pytest.fixture
def ctx(fake, tmp_path):
    # No credentials: the api_key here must never be sent.
    return BackendContext(api_key="k-test", base_url="", workdir=tmp_path, config={"host": fake.url, "workflow": WORKFLOW}, timeout=5)


def t2v(**kw) -> GenerationRequest:
    defaults = {
        "kind": "text_to_video",
        "model": "workflow",
        "prompt": "a paper boat in the rain",
        "negative_prompt": "blurry",
        "duration_frames": 49,
        "fps": Fraction(24),
        "width": 832,
        "height": 480,
        "seed": 1234,
        "params": {"shot": "sh010"},
        "idempotency_key": str(uuid.uuid4()),
    }
    defaults.update(kw)
    return GenerationRequest(**defaults)


def posted_prompts(fake):
    return [c.json() for c in fake.calls if c.method == "POST" and c.path == "/prompt"]


# -- configuration and workflows ---------------------------------------------------------------


def test_needs_a_host_not_a_key(backend, fake, tmp_path):
    assert backend.needs_credentials is False
    assert backend.available() == (True, "")
    assert not backend.is_configured({})
    assert backend.is_configured({"host": "192.168.1.20"})
    assert backend.is_configured({}, base_url="http://gpu:8188")
    with pytest.raises(ProviderError, match="not set up"):
        backend.submit(t2v(), BackendContext(workdir=tmp_path, config={}))
    assert normalise_host("192.168.1.20") == "http://192.168.1.20:8188"
    assert normalise_host("gpu.local:9000") == "http://gpu.local:9000"
    assert normalise_host("https://comfy.example.com/") == "https://comfy.example.com"


def test_default_workflows_are_api_format_with_placeholders(backend):
    t2v_graph = backend.workflow_for("text_to_video", {})
    i2v_graph = backend.workflow_for("image_to_video", {})
    assert {"prompt", "negative_prompt", "seed", "width", "height", "frames", "fps"} <= placeholders_in(t2v_graph)
    assert "input_image" in placeholders_in(i2v_graph) and "input_image" not in placeholders_in(t2v_graph)
    assert any(n["class_type"] == "SaveVideo" for n in t2v_graph.values())
    assert (WORKFLOW_DIR / "default_t2v.json").is_file()


def test_placeholders_keep_their_types(backend):
    graph = backend.build_prompt(t2v(fps=Fraction(24000, 1001)), WORKFLOW)
    latent = graph["5"]["inputs"]
    assert latent == {"width": 832, "height": 480, "length": 49, "batch_size": 1}
    assert all(type(latent[k]) is int for k in ("width", "height", "length"))
    assert graph["3"]["inputs"]["seed"] == 1234 and type(graph["3"]["inputs"]["seed"]) is int
    assert graph["10"]["inputs"]["fps"] == pytest.approx(23.976, abs=1e-3)
    assert type(graph["10"]["inputs"]["fps"]) is float
    assert backend.build_prompt(t2v(), WORKFLOW)["10"]["inputs"]["fps"] == 24
    assert type(backend.build_prompt(t2v(), WORKFLOW)["10"]["inputs"]["fps"]) is int
    assert graph["6"]["inputs"]["text"] == "a paper boat in the rain"
    assert graph["11"]["inputs"]["filename_prefix"] == "montage/sh010-1234"  # inside text: as text
    assert graph["3"]["inputs"]["model"] == ["4", 0]  # links untouched
    assert WORKFLOW["5"]["inputs"]["width"] == "{{width}}"  # the template is not modified
    assert fill_placeholders({"a": "{{ x }}"}, {"x": 3}) == {"a": 3}


def test_seed_is_stable_per_job_when_not_given(backend):
    key = str(uuid.uuid4())
    a = backend.build_prompt(t2v(seed=None, idempotency_key=key), WORKFLOW)["3"]["inputs"]["seed"]
    b = backend.build_prompt(t2v(seed=None, idempotency_key=key), WORKFLOW)["3"]["inputs"]["seed"]
    assert a == b and isinstance(a, int)


def test_bad_workflows_fail_readably(backend, ctx):
    with pytest.raises(ProviderError, match=r"\{\{mystery\}\}"):
        backend.build_prompt(t2v(), {"1": {"class_type": "X", "inputs": {"v": "{{mystery}}"}}})
    with pytest.raises(ProviderError, match="Export \\(API\\)"):
        backend.workflow_for("text_to_video", {"workflow": {"nodes": [], "links": []}})
    with pytest.raises(ProviderError, match="not valid JSON"):
        backend.workflow_for("text_to_video", {"workflow": "{nope"})
    assert backend.workflow_for("text_to_video", {"workflow": json.dumps(WORKFLOW)}) == WORKFLOW
    with pytest.raises(ProviderError, match="input_image"):
        backend.build_prompt(t2v(kind="image_to_video"), WORKFLOW, image_name="x.png")


def test_validate(backend):
    backend.validate(t2v())
    with pytest.raises(BackendValidationError, match="multiples of 8"):
        backend.validate(t2v(width=830))
    with pytest.raises(BackendValidationError):
        backend.validate(t2v(duration_frames=None))


# -- the conversation ------------------------------------------------------------------------


def test_text_to_video_end_to_end(fake, backend, ctx, tmp_path):
    req = t2v()
    job = backend.submit(req, ctx)
    assert job.provider_job_id == req.idempotency_key and job.state == "queued"

    [sent] = posted_prompts(fake)
    assert sent["prompt_id"] == req.idempotency_key
    assert sent["client_id"] == "montage"
    assert sent["prompt"]["5"]["inputs"]["width"] == 832
    assert fake.executions == {req.idempotency_key: 1}
    assert all("authorization" not in c.headers and "k-test" not in json.dumps(c.headers) for c in fake.calls)

    result, seen = run_to_end(backend, job.provider_job_id, ctx)
    assert seen[0] == "queued" and "running" in seen and seen[-1] == "succeeded"
    assert result.progress == 100
    [output] = result.outputs  # the temporary preview PNG is left out
    assert output.url.startswith(fake.url + "/view?")
    assert "filename=take_00001_.mp4" in output.url and "subfolder=montage" in output.url and "type=output" in output.url
    assert output.content_type == "video/mp4"

    dest = backend.download(output, ctx, tmp_path / "take.mp4")
    assert dest.read_bytes()[4:8] == b"ftyp"


@pytest.mark.parametrize("key", ["gifs", "videos"])
def test_other_video_output_keys(fake, backend, ctx, key):
    fake.scenario["output_key"] = key
    job = backend.submit(t2v(), ctx)
    result, _ = run_to_end(backend, job.provider_job_id, ctx)
    assert [o.meta["key"] for o in result.outputs] == [key]
    assert result.outputs[0].content_type == "video/mp4"


def test_image_is_uploaded_first_and_its_name_substituted(fake, backend, tmp_path):
    still = tmp_path / "still.png"
    still.write_bytes(tiny_png("832x480"))
    ctx = BackendContext(base_url=fake.url, workdir=tmp_path, config={"workflow_image_to_video": I2V, "workflow": WORKFLOW})
    req = t2v(kind="image_to_video", input_image=InputFile(path=still, content_type="image/png"))
    backend.submit(req, ctx)
    paths = [(c.method, c.path) for c in fake.calls]
    assert paths.index(("POST", "/upload/image")) < paths.index(("POST", "/prompt"))
    name = f"montage-{req.idempotency_key}.png"
    assert fake.uploads[name] == still.read_bytes()
    assert posted_prompts(fake)[0]["prompt"]["12"]["inputs"]["image"] == name


def test_resubmission_is_idempotent(fake, backend, ctx):
    req = t2v()
    first = backend.submit(req, ctx)
    again = backend.submit(req, ctx)  # e.g. the worker died before recording the submission
    assert again.provider_job_id == first.provider_job_id
    assert len(posted_prompts(fake)) == 1
    assert fake.executions == {req.idempotency_key: 1}
    # Later in its life (finished, in the history) it is still not queued again.
    run_to_end(backend, first.provider_job_id, ctx)
    assert backend.submit(req, ctx).provider_job_id == first.provider_job_id
    assert len(posted_prompts(fake)) == 1


def test_already_exists_answer_counts_as_submitted(fake, backend, ctx):
    req = t2v()
    backend.submit(req, ctx)
    fake.scenario["invisible"] = True  # the first submission is not visible yet: we post again
    again = backend.submit(req, ctx)
    assert again.provider_job_id == req.idempotency_key and again.state == "queued"
    assert len(posted_prompts(fake)) == 2
    assert fake.executions == {req.idempotency_key: 1}  # the server ran it once


def test_node_errors_fail_without_billing(fake, backend, ctx):
    fake.scenario["node_errors"] = True
    with pytest.raises(ProviderError) as err:
        backend.submit(t2v(), ctx)
    assert not err.value.retryable and not err.value.billable
    assert "node 3 (KSampler)" in err.value.message and "not in" in err.value.message
    assert fake.executions == {}


def test_execution_error_fails(fake, backend, ctx):
    fake.scenario["fail_after_running"] = True
    job = backend.submit(t2v(), ctx)
    result, seen = run_to_end(backend, job.provider_job_id, ctx)
    assert "running" in seen
    assert result.state == "failed" and result.billable is False
    assert "node 8 (KSampler)" in result.error and "out of memory" in result.error


def test_restart_loses_the_job(fake, backend, ctx):
    job = backend.submit(t2v(), ctx)
    assert backend.poll(job.provider_job_id, ctx).state in ("queued", "running")
    fake.restart()
    with pytest.raises(JobLost, match="restarted"):
        backend.poll(job.provider_job_id, ctx)


def test_lose_job_scenario(fake, backend, ctx):
    check_lost_job(backend, fake, ctx, t2v())


def test_expired_output(fake, backend, ctx, tmp_path):
    check_expired_output(backend, fake, ctx, t2v(), tmp_path)


def test_cancel_pending_and_running(fake, backend, ctx):
    pending = backend.submit(t2v(), ctx)
    backend.cancel(pending.provider_job_id, ctx)
    deletes = [c.json() for c in fake.calls if c.method == "POST" and c.path == "/queue"]
    assert deletes == [{"delete": [pending.provider_job_id]}]
    with pytest.raises(JobLost):
        backend.poll(pending.provider_job_id, ctx)

    running = backend.submit(t2v(), ctx)
    assert backend.poll(running.provider_job_id, ctx).state == "queued"
    assert backend.poll(running.provider_job_id, ctx).state == "running"
    backend.cancel(running.provider_job_id, ctx)
    assert [c.json() for c in fake.calls if c.path == "/interrupt"] == [{"prompt_id": running.provider_job_id}]
    result, _ = run_to_end(backend, running.provider_job_id, ctx)
    assert result.state == "cancelled"


def test_unreachable_box_is_transient(backend, tmp_path):
    ctx = BackendContext(workdir=tmp_path, config={"host": "127.0.0.1:9", "workflow": WORKFLOW}, timeout=2)
    with pytest.raises(TransientError, match="127.0.0.1:9"):
        backend.submit(t2v(), ctx)
