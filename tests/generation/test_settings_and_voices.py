"""Provider settings people set up from the browser: speech voices, ComfyUI's host and
workflow (honest readiness, checked when saved) and the "Test connection" call."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.generation.backends import elevenlabs
from apps.generation.backends.local_speech import espeak_exe
from apps.generation.models import GenerationJob
from tests.fakes.comfyui import FakeComfyUI
from tests.fakes.elevenlabs import VOICES, FakeElevenLabs
from tests.fakes.luma import FakeLuma
from tests.fakes.runway import FakeRunway

from .conftest import API

pytestmark = pytest.mark.django_db

WORKFLOW = {
    "3": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}", "steps": 4, "cfg": 6.0, "model": ["4", 0], "latent_image": ["5", 0]}},
    "4": {"class_type": "UNETLoader", "inputs": {"unet_name": "model.safetensors"}},
    "5": {"class_type": "EmptyHunyuanLatentVideo", "inputs": {"width": "{{width}}", "height": "{{height}}", "length": "{{frames}}", "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}"}},
    "10": {"class_type": "CreateVideo", "inputs": {"fps": "{{fps}}", "images": ["5", 0]}},
    "11": {"class_type": "SaveVideo", "inputs": {"video": ["10", 0], "filename_prefix": "montage/{{seed}}"}},
}


def _backends(crew, who="owner"):
    r = crew.client(who).get(f"{API}/backends/?project={crew.project.pk}")
    assert r.status_code == 200
    return {b["name"]: b for b in r.json()}


def _put(crew, backend, who="director", **body):
    return crew.client(who).put(f"{API}/projects/{crew.project.pk}/credentials/{backend}/", body, format="json")


def _test(crew, backend, who="director"):
    return crew.client(who).post(f"{API}/projects/{crew.project.pk}/credentials/{backend}/test/")


@pytest.fixture
def eleven(settings):
    elevenlabs._voices_cache.clear()
    with FakeElevenLabs() as server:
        settings.MONTAGE_BACKEND_URLS = {**settings.MONTAGE_BACKEND_URLS, "elevenlabs": server.url}
        yield server
    elevenlabs._voices_cache.clear()


@pytest.fixture
def comfy(settings):
    with FakeComfyUI() as server:
        yield server


# --- voices ----------------------------------------------------------------------------------


def test_speech_backends_offer_their_voices(crew, eleven):
    listed = _backends(crew)
    assert listed["local-animatic"]["voices"] is None and listed["comfyui"]["voices"] is None
    # ElevenLabs without a key: the documented premade voices.
    names = {v["name"] for v in listed["elevenlabs"]["voices"]}
    assert {"George", "Rachel"} <= names
    # With a key: the account's own list.
    assert _put(crew, "elevenlabs", api_key="k-test").status_code == 200
    voices = _backends(crew)["elevenlabs"]["voices"]
    assert {v["id"] for v in voices} == VOICES and all(v["language"] == "en" for v in voices)
    if espeak_exe() is None:
        pytest.skip("espeak-ng is not installed")
    local = {v["id"]: v for v in _backends(crew)["local-speech"]["voices"]}
    assert "en-us" in local and local["en-us"]["name"] == "English (America)"
    assert len(local) > 20


def test_an_unknown_voice_is_refused_before_anything_is_made(crew, eleven):
    crew.project.budget_amount = Decimal("50")
    crew.project.save(update_fields=["budget_amount"])
    assert _put(crew, "elevenlabs", api_key="k-test").status_code == 200
    url = f"{API}/shots/{crew.shot.pk}/generate/"
    body = {"backend": "elevenlabs", "kind": "speech", "prompt": "The tide is coming in.", "params": {"voice": "ZZZZZZZZZZZZZZZZZZZZ"}}
    r = crew.client("owner").post(url, body, format="json")
    assert r.status_code == 400 and "voice" in r.json()["fields"], r.json()
    assert "George (JBFqnCBsd6RMkjVDRZzb)" in r.json()["detail"]
    body["params"] = {"voice": "21m00Tcm4TlvDq8ikWAM"}
    assert crew.client("owner").post(url + "estimate/", body, format="json").status_code == 200
    if espeak_exe() is not None:
        body = {"backend": "local-speech", "prompt": "Hello there.", "params": {"voice": "xx-nowhere"}}
        r = crew.client("owner").post(url, body, format="json")
        assert r.status_code == 400 and "voice" in r.json()["fields"]
    assert not GenerationJob.objects.exists()


# --- ComfyUI: host and workflow ----------------------------------------------------------------


def test_comfyui_is_configured_only_with_a_usable_host_and_workflow(crew, comfy):
    listed = _backends(crew)["comfyui"]
    assert listed["configured"] is False and "host" in listed["reason"]
    r = crew.client("owner").post(
        f"{API}/shots/{crew.shot.pk}/generate/", {"backend": "comfyui", "prompt": "waves", "duration_frames": 24}, format="json"
    )
    assert r.status_code == 400 and r.json()["code"] == "backend_unavailable"
    # Settings that cannot be right are refused when saved, by field.
    r = _put(crew, "comfyui", config={"host": "not a host", "workflow": WORKFLOW})
    assert r.status_code == 400 and "host" in r.json()["fields"]
    r = _put(crew, "comfyui", config={"host": comfy.url, "workflow": "{not json"})
    assert r.status_code == 400 and r.json()["fields"]["workflow"] == ["The ComfyUI workflow is not valid JSON."]
    editor_format = {"nodes": [], "links": []}
    r = _put(crew, "comfyui", config={"host": comfy.url, "workflow": editor_format})
    assert r.status_code == 400 and "Export (API)" in r.json()["fields"]["workflow"][0]
    assert _put(crew, "comfyui", who="artist", config={"host": comfy.url}).status_code == 403
    r = _put(crew, "comfyui", who="producer", config={"host": comfy.url, "workflow": WORKFLOW})
    assert r.status_code == 200
    listed = _backends(crew)["comfyui"]
    assert listed["configured"] is True and listed["reason"] == ""


def test_comfyui_connection_test_reports_what_it_found(crew, comfy):
    assert _put(crew, "comfyui", config={"host": comfy.url, "workflow": WORKFLOW}).status_code == 200
    r = _test(crew, "comfyui")
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True
    assert body["detail"] == "ComfyUI 0.3.43, 1 GPU (NVIDIA GeForce RTX 4090, 24 GB), 0 jobs queued."
    assert body["info"]["gpus"] == [{"name": "NVIDIA GeForce RTX 4090", "vram_gb": 24}]
    assert {c.path for c in comfy.calls} >= {"/system_stats", "/queue", "/object_info"}
    # A node the workflow needs is missing there.
    comfy.nodes.discard("EmptyHunyuanLatentVideo")
    body = _test(crew, "comfyui", who="producer").json()
    assert body["ok"] is False and "does not have: EmptyHunyuanLatentVideo" in body["detail"]
    # Nobody answers at the host.
    assert _put(crew, "comfyui", config={"host": "127.0.0.1:9", "workflow": WORKFLOW}).status_code == 200
    body = _test(crew, "comfyui").json()
    assert body["ok"] is False and body["detail"].startswith("No answer from ComfyUI at 127.0.0.1:9")
    for who, status in (("owner", 403), ("viewer", 403), ("stranger", 404)):
        r = _test(crew, "comfyui", who=who)
        assert r.status_code == status and r.json()["code"]


def test_connection_test_of_providers_with_a_key(crew, settings):
    with FakeRunway() as runway, FakeLuma() as luma:
        settings.MONTAGE_BACKEND_URLS = {"runway": runway.url, "luma": luma.url}
        assert _test(crew, "runway").json() == {"ok": False, "detail": "No API key is stored for Runway in this project.", "info": {}}
        _put(crew, "runway", api_key="sk-test")
        body = _test(crew, "runway").json()
        assert body["ok"] is True and "1250 credits left" in body["detail"]
        _put(crew, "runway", api_key="sk-wrong")
        body = _test(crew, "runway").json()
        assert body["ok"] is False and "sk-wrong" not in body["detail"] and "Runway" in body["detail"]
        _put(crew, "luma", api_key="k-test")
        body = _test(crew, "luma").json()
        assert body["ok"] is True and "1234.5 credits" in body["detail"]
    body = _test(crew, "local-animatic").json()
    assert body["ok"] is True and "runs on this server" in body["detail"]
    assert _test(crew, "no-such").status_code == 404
