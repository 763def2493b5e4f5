"""The generation API: backends, generate (+ estimate), jobs, cancel; bad requests leave nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.generation.models import GenerationJob, LedgerEntry
from apps.production.models import Take
from tests.conftest import make_shot

from .conftest import API, drive

pytestmark = pytest.mark.django_db


def _post(crew, who="owner", shot=None, **body):
    body.setdefault("backend", "fake-generic")
    body.setdefault("prompt", "waves against the pier")
    body.setdefault("duration_frames", 96)
    shot = shot or crew.shot
    return crew.client(who).post(f"{API}/shots/{shot.pk}/generate/", body, format="json")


def _stored_file(name: str, data: bytes) -> str:
    import tempfile

    from apps.media import storage

    with tempfile.NamedTemporaryFile(suffix=name) as fh:
        fh.write(data)
        fh.flush()
        return storage.store_path(f"test-inputs/{name}", fh.name)


def _upload(user, name="still.png"):
    from apps.media.models import MediaFile, Upload
    from tests.fakes.server import tiny_png

    data = tiny_png("64x48")
    key = _stored_file(name, data)
    media = MediaFile.objects.create(owner=user, storage_key=key, original_name=name, content_type="image/png", size=len(data))
    return Upload.objects.create(
        owner=user, filename=name, size=len(data), content_type="image/png", method="local", storage_key=key,
        status="complete", media=media, expires_at=timezone.now() + timedelta(hours=1),
    )


# --- backends ----------------------------------------------------------------------------------


def test_backends_list(keyed, fake, scripted):
    plain = keyed.client("viewer").get(f"{API}/backends/").json()
    by_name = {b["name"]: b for b in plain}
    fg = by_name["fake-generic"]
    assert fg["title"] == "Fake Generic" and fg["kinds"] == ["text_to_video", "image_to_video"]
    assert fg["configured"] is False and fg["available"] is True
    model = fg["models"][0]
    assert model["name"] == "fg-1" and model["durations"] == [4.0, 8.0] and model["max_variations"] == 2
    assert model["sizes"] == [{"width": 1280, "height": 720}, {"width": 720, "height": 1280}]
    assert fg["estimated_cost"] == {"per_second": "0.1000", "per_output": "0.0000"}
    assert by_name["fake-scripted"]["configured"] is True  # needs no key

    scoped = keyed.client("artist").get(f"{API}/backends/?project={keyed.project.pk}").json()
    assert {b["name"]: b for b in scoped}["fake-generic"]["configured"] is True
    assert keyed.client("stranger").get(f"{API}/backends/?project={keyed.project.pk}").status_code == 404


# --- generate ----------------------------------------------------------------------------------


def test_generate_202_then_job_detail(keyed, fake):
    r = _post(keyed, variations=2, seed=42, negative_prompt="blurry")
    assert r.status_code == 202, r.json()
    body = r.json()
    job = body["job"]
    assert job["state"] == "queued" and job["backend"] == "fake-generic" and job["model"] == "fg-1"
    assert job["kind"] == "text_to_video" and job["variations"] == 2 and job["estimated_cost"] == "0.8000"
    assert job["seed"] == 42 and job["currency"] == "USD"
    assert len(body["takes"]) == 2 and {t["status"] for t in body["takes"]} == {"processing"}
    assert body["takes"][0]["provenance"]["negative_prompt"] == "blurry"
    assert body["takes"][0]["source"] == "generation"

    drive(job["id"])
    detail = keyed.client("viewer").get(f"{API}/generation-jobs/{job['id']}/").json()
    assert detail["state"] == "succeeded" and detail["actual_cost"] == "0.8000"
    assert [t["media"] is not None for t in detail["takes"]] == [True, True]
    assert keyed.client("stranger").get(f"{API}/generation-jobs/{job['id']}/").status_code == 404
    assert keyed.client("viewer").get(f"{API}/generation-jobs/not-a-uuid/").status_code == 404


def test_estimate_creates_nothing(keyed, fake):
    r = keyed.client("owner").post(
        f"{API}/shots/{keyed.shot.pk}/generate/estimate/",
        {"backend": "fake-generic", "prompt": "x", "duration_frames": 192, "variations": 3}, format="json",
    )
    assert r.status_code == 200, r.json()
    assert r.json()["estimated_cost"] == "2.4000" and r.json()["currency"] == "USD" and r.json()["calls"] == 2
    assert GenerationJob.objects.count() == 0 and LedgerEntry.objects.count() == 0 and Take.objects.count() == 0


def test_default_duration_snaps_to_what_the_model_makes(keyed, fake):
    shot = make_shot(keyed.seg, duration_frames=60)  # 2.5 s → the model's 4 s
    r = _post(keyed, shot=shot, duration_frames=None)
    assert r.status_code == 202, r.json()
    assert r.json()["takes"][0]["provenance"]["duration_seconds"] == 4.0


def test_ntsc_projects_still_get_whole_second_clips(keyed, fake):
    keyed.project.fps_num, keyed.project.fps_den = 24000, 1001
    keyed.project.save(update_fields=["fps_num", "fps_den"])
    r = _post(keyed, duration_frames=96)  # 4.004 s at 23.976
    assert r.status_code == 202, r.json()


def test_cancel_via_api(keyed, fake):
    job = _post(keyed).json()["job"]
    assert keyed.client("viewer").post(f"{API}/generation-jobs/{job['id']}/cancel/").status_code == 403
    r = keyed.client("owner").post(f"{API}/generation-jobs/{job['id']}/cancel/")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert r.json()["takes"][0]["error"] == "Cancelled."
    again = keyed.client("director").post(f"{API}/generation-jobs/{job['id']}/cancel/")
    assert again.status_code == 200


def test_cancel_a_finished_job_is_409(keyed, fake):
    job = _post(keyed).json()["job"]
    drive(job["id"])
    r = keyed.client("owner").post(f"{API}/generation-jobs/{job['id']}/cancel/")
    assert r.status_code == 409 and r.json()["code"] == "job_finished"


def test_project_job_list(keyed, fake):
    first = _post(keyed).json()["job"]
    _post(keyed)
    drive(first["id"])
    url = f"{API}/projects/{keyed.project.pk}/generation-jobs/"
    assert len(keyed.client("viewer").get(url).json()) == 2
    assert [j["id"] for j in keyed.client("viewer").get(url + "?state=succeeded").json()] == [first["id"]]
    assert len(keyed.client("viewer").get(url + "?state=queued,running").json()) == 1
    assert keyed.client("viewer").get(url + "?state=bogus").status_code == 400
    assert keyed.client("stranger").get(url).status_code == 404


def test_image_to_video_from_an_upload(keyed, fake):
    upload = _upload(keyed.owner)
    r = _post(keyed, input_image=str(upload.pk))
    assert r.status_code == 202, r.json()
    job = r.json()["job"]
    assert job["kind"] == "image_to_video"
    assert r.json()["takes"][0]["provenance"]["input_media"] == [str(upload.media_id)]
    drive(job["id"])
    assert fake.calls[0].json()["image"].endswith(".png")
    # someone else's upload is not theirs to use
    assert _post(keyed, who="director", input_image=str(upload.pk)).status_code == 400


def test_a_video_take_as_input_image_uses_its_first_or_last_frame(keyed, fake):
    from apps.media.models import MediaFile
    from tests.fakes.server import tiny_mp4

    data = tiny_mp4(seconds=0.5, size="160x120")
    media = MediaFile.objects.create(
        project=keyed.project, storage_key=_stored_file("clip.mp4", data), original_name="clip.mp4",
        content_type="video/mp4", kind="video", status="ready", size=len(data),
    )
    take = Take.objects.create(shot=keyed.shot, number=1, media=media, source="upload", status="ready", author=keyed.owner)
    r = _post(keyed, input_image=str(take.pk), input_frame="last")
    assert r.status_code == 202, r.json()
    assert r.json()["takes"][0]["provenance"]["input_image"]["frame"] == "last"
    drive(r.json()["job"]["id"])
    assert fake.calls[0].json()["image"] == "last-frame.png"
    # the first frame unless told
    r = _post(keyed, input_image=str(take.pk))
    assert r.status_code == 202, r.json()
    drive(r.json()["job"]["id"])
    assert [c for c in fake.calls if c.method == "POST"][-1].json()["image"] == "first-frame.png"
    r = _post(keyed, input_image=str(take.pk), input_frame="middle")
    assert r.status_code == 400 and "input_frame" in r.json()["fields"]
    r = _post(keyed, input_frame="last")
    assert r.status_code == 400 and "input_frame" in r.json()["fields"]


# --- bad requests: no provider call, no rows ----------------------------------------------------


BAD = [
    ("unknown backend", "owner", {"backend": "no-such"}, 400, "validation_error", "backend"),
    ("unsupported kind", "owner", {"kind": "speech"}, 400, "validation_error", "kind"),
    ("unknown kind", "owner", {"kind": "hologram"}, 400, "validation_error", "kind"),
    ("duration not allowed", "owner", {"duration_frames": 50}, 400, "validation_error", "duration_frames"),
    ("missing input image", "owner", {"kind": "image_to_video"}, 400, "validation_error", "input_image"),
    ("unknown input image", "owner", {"input_image": "00000000-0000-0000-0000-000000000000"}, 400, "validation_error", "input_image"),
    ("unknown model", "owner", {"model": "fg-99"}, 400, "validation_error", "model"),
    ("size not allowed", "owner", {"params": {"size": "640x480"}}, 400, "validation_error", "size"),
    ("too many variations", "owner", {"variations": 9}, 400, "validation_error", "variations"),
    ("unknown @tag", "owner", {"prompt": "@nobody walks"}, 400, "validation_error", "prompt"),
    ("artist in someone else's segment", "artist", {}, 403, "permission_denied", None),
    ("producer", "producer", {}, 403, "permission_denied", None),
    ("viewer", "viewer", {}, 403, "permission_denied", None),
    ("stranger", "stranger", {}, 404, "not_found", None),
]


@pytest.mark.parametrize("case,who,body,status,code,field", BAD, ids=[b[0] for b in BAD])
def test_bad_requests_leave_nothing(keyed, fake, case, who, body, status, code, field):
    r = _post(keyed, who=who, **body)
    assert r.status_code == status, r.json()
    assert r.json()["code"] == code
    if field:
        assert field in r.json().get("fields", {}), r.json()
    assert fake.calls == []
    assert GenerationJob.objects.count() == 0 and LedgerEntry.objects.count() == 0 and Take.objects.count() == 0


def test_locked_segment_is_409(keyed, fake):
    keyed.seg.status = "locked"
    keyed.seg.save(update_fields=["status"])
    r = _post(keyed, who="director")
    assert r.status_code == 409 and r.json()["code"] == "segment_locked"


def test_unavailable_local_tool_is_backend_unavailable(keyed, scripted, monkeypatch):
    monkeypatch.setattr(type(scripted), "available", lambda self: (False, "espeak-ng is not installed"))
    r = _post(keyed, backend="fake-scripted", model="fs-free")
    assert r.status_code == 400 and r.json()["code"] == "backend_unavailable"
    assert "espeak-ng" in r.json()["detail"]
    assert GenerationJob.objects.count() == 0


def test_director_may_generate_in_any_segment(keyed, fake):
    keyed.project.budget_amount = Decimal("5")
    keyed.project.save(update_fields=["budget_amount"])
    assert _post(keyed, who="director").status_code == 202
