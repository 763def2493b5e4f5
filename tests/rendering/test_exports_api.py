"""The exports API and the job bookkeeping that needs no rendering: who may export what,
validation, listing, cancel, and the reaper for exports whose worker died.

(Nothing is rendered here: the start task is queued on commit, and these tests run inside a
transaction that never commits.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.tasks import reap_stale_jobs
from apps.projects.models import ActivityEvent
from apps.rendering import services
from apps.rendering.models import Export, ExportArtifact, ExportState
from tests.conftest import PERSONAS, make_project, make_segment, make_shot, make_user

API = "/api/v1"


def post_export(crew, persona: str, **body):
    return crew.client(persona).post(f"{API}/projects/{crew.project.pk}/exports/", body, format="json")


FINAL_EXPECTED = {"director": 202, "producer": 202, "owner": 403, "artist": 403, "viewer": 403, "stranger": 404}
SEGMENT_EXPECTED = {"director": 202, "producer": 202, "owner": 202, "artist": 403, "viewer": 403, "stranger": 404}


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_may_export_the_film(crew, persona):
    response = post_export(crew, persona, kind="final")
    if persona == "anonymous":
        assert response.status_code in (401, 403)
        return
    assert response.status_code == FINAL_EXPECTED[persona], response.json()
    if response.status_code == 202:
        body = response.json()
        assert body["state"] == "queued" and body["kind"] == "final" and body["artifacts"] == []
        export = Export.objects.get(pk=body["id"])
        assert export.created_by == crew.persona(persona)
        assert export.frames == 48 and export.segments_total == 1
    else:
        assert response.json()["code"] in ("permission_denied", "not_found")
        assert not Export.objects.exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_may_export_a_segment(crew, persona):
    response = post_export(crew, persona, kind="segment", segment=str(crew.seg.pk))
    if persona == "anonymous":
        assert response.status_code in (401, 403)
        return
    assert response.status_code == SEGMENT_EXPECTED[persona], response.json()
    if response.status_code == 202:
        assert response.json()["segment"]["id"] == str(crew.seg.pk)


def test_an_artist_cannot_export_a_segment_they_do_not_own(crew):
    make_shot(crew.open_seg)
    response = post_export(crew, "owner", kind="segment", segment=str(crew.open_seg.pk))
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "everything"},
        {},
        {"kind": "segment"},
        {"kind": "segment", "segment": "not-a-uuid"},
        {"kind": "final", "include_unapproved": "maybe"},
    ],
)
def test_bad_requests_are_400(crew, body):
    response = post_export(crew, "director", **body)
    assert response.status_code == 400, response.json()
    assert response.json()["detail"]


def test_a_segment_of_another_project_is_400(crew):
    other = make_project(make_user())
    seg = make_segment(other)
    response = post_export(crew, "director", kind="segment", segment=str(seg.pk))
    assert response.status_code == 400 and "not in this project" in response.json()["detail"]


def test_a_final_export_with_a_segment_is_400(crew):
    response = post_export(crew, "director", kind="final", segment=str(crew.seg.pk))
    assert response.status_code == 400


def test_nothing_to_export_is_400(crew):
    response = post_export(crew, "director", kind="segment", segment=str(crew.open_seg.pk))
    assert response.status_code == 400
    assert response.json()["code"] == "nothing_to_export"


def test_options_are_kept(crew):
    body = post_export(crew, "director", kind="final", include_unapproved=True, credits_roll=True).json()
    assert body["options"] == {"include_unapproved": True, "credits_roll": True}
    export = Export.objects.get(pk=body["id"])
    assert export.include_unapproved and export.credits_roll


def test_the_address_the_export_was_asked_from_is_kept_for_its_media_urls(crew, settings):
    settings.ALLOWED_HOSTS = ["*"]
    response = crew.client("director").post(
        f"{API}/projects/{crew.project.pk}/exports/", {"kind": "final"}, format="json", HTTP_HOST="films.example:8443",
        secure=True,
    )
    assert response.status_code == 202
    assert Export.objects.get(pk=response.json()["id"]).public_url == "https://films.example:8443"


@pytest.mark.parametrize(
    ("public_url", "asked_from", "expected"),
    [
        ("https://films.example/", "http://10.0.0.5:8000", "https://films.example/media/takes/a%20b.mp4"),
        ("", "http://10.0.0.5:8000", "http://10.0.0.5:8000/media/takes/a%20b.mp4"),
        ("", "", "/media/takes/a%20b.mp4"),  # the CLI with nothing set: a path on the studio's host
    ],
)
def test_media_urls_prefer_the_public_url_then_the_request(settings, public_url, asked_from, expected):
    from apps.rendering.artifacts import media_reference_url, public_base

    settings.MONTAGE_PUBLIC_URL = public_url
    url = media_reference_url("takes/a b.mp4", base=public_base(asked_from))
    assert url.startswith(expected + "?")  # a signed link (apps.media.signing)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://x/", "", "not a url"])
def test_only_http_addresses_are_kept(url):
    assert services._clean_public_url(url) == ""


def test_creating_an_export_queues_its_start_on_commit(crew, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("apps.rendering.tasks.start_export.delay", lambda export_id: sent.append(export_id))
    with django_capture_on_commit_callbacks(execute=True):
        body = post_export(crew, "producer", kind="final").json()
    assert sent == [body["id"]]
    assert ActivityEvent.objects.filter(project=crew.project, type="export.created").exists()


def test_an_export_that_cannot_be_queued_fails_with_a_reason(crew, django_capture_on_commit_callbacks, monkeypatch):
    def broken(export_id):
        raise ConnectionError("broker down")

    monkeypatch.setattr("apps.rendering.tasks.start_export.delay", broken)
    with django_capture_on_commit_callbacks(execute=True):
        body = post_export(crew, "director", kind="final").json()
    export = Export.objects.get(pk=body["id"])
    assert export.state == "failed" and export.error == services.ENQUEUE_FAILED


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_member_sees_exports_and_strangers_get_404(crew, persona):
    export_id = post_export(crew, "director", kind="final").json()["id"]
    detail = crew.client(persona).get(f"{API}/exports/{export_id}/")
    listing = crew.client(persona).get(f"{API}/projects/{crew.project.pk}/exports/")
    if persona == "anonymous":
        assert detail.status_code in (401, 403) and listing.status_code in (401, 403)
    elif persona == "stranger":
        assert detail.status_code == 404 and listing.status_code == 404
    else:
        assert detail.status_code == 200
        body = detail.json()
        for key in ("id", "kind", "state", "progress", "error", "options", "stats", "created_at", "finished_at", "artifacts"):
            assert key in body
        assert [e["id"] for e in listing.json()] == [export_id]


def test_an_unknown_export_is_404(crew):
    assert crew.client("director").get(f"{API}/exports/not-an-id/").status_code == 404
    assert crew.client("director").get(f"{API}/exports/{crew.project.pk}/").status_code == 404


def test_artifacts_are_listed_with_urls(crew):
    export_id = post_export(crew, "director", kind="final").json()["id"]
    Export.objects.filter(pk=export_id).update(state=ExportState.SUCCEEDED, progress=100)
    ExportArtifact.objects.create(export_id=export_id, kind="mp4", storage_key=f"exports/{export_id}/film.mp4", size=1234)
    body = crew.client("viewer").get(f"{API}/exports/{export_id}/").json()
    (artifact,) = body["artifacts"]
    assert artifact["url"].startswith(f"/media/exports/{export_id}/film.mp4?")  # signed for members of the project
    assert f"p={crew.project.pk}" in artifact["url"]
    assert {k: v for k, v in artifact.items() if k != "url"} == {"kind": "mp4", "size": 1234, "filename": "", "content_type": ""}
    listed = crew.client("viewer").get(f"{API}/projects/{crew.project.pk}/exports/").json()
    assert listed[0]["artifacts"][0]["kind"] == "mp4"


# --- cancel ----------------------------------------------------------------------------------

CANCEL_EXPECTED = {"director": 200, "producer": 200, "owner": 200, "artist": 403, "viewer": 403, "stranger": 404}


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_may_cancel(crew, persona):
    # The owner started this segment export: they, the director and producers may cancel it.
    export_id = post_export(crew, "owner", kind="segment", segment=str(crew.seg.pk)).json()["id"]
    response = crew.client(persona).post(f"{API}/exports/{export_id}/cancel/")
    if persona == "anonymous":
        assert response.status_code in (401, 403)
        return
    assert response.status_code == CANCEL_EXPECTED[persona], response.json()
    export = Export.objects.get(pk=export_id)
    if response.status_code == 200:
        assert response.json()["state"] == "cancelled" and export.state == "cancelled" and export.finished_at
    else:
        assert export.state == "queued"


def test_an_artist_cannot_cancel_someone_elses_export(crew):
    export_id = post_export(crew, "director", kind="final").json()["id"]
    assert crew.client("owner").post(f"{API}/exports/{export_id}/cancel/").status_code == 403


def test_cancelling_a_finished_export_is_409_and_cancelling_twice_is_fine(crew):
    export_id = post_export(crew, "director", kind="final").json()["id"]
    client = crew.client("director")
    assert client.post(f"{API}/exports/{export_id}/cancel/").status_code == 200
    assert client.post(f"{API}/exports/{export_id}/cancel/").status_code == 200
    Export.objects.filter(pk=export_id).update(state=ExportState.SUCCEEDED)
    response = client.post(f"{API}/exports/{export_id}/cancel/")
    assert response.status_code == 409 and response.json()["code"] == "conflict"


def test_a_cancelled_export_is_never_started(crew):
    export_id = post_export(crew, "director", kind="final").json()["id"]
    crew.client("director").post(f"{API}/exports/{export_id}/cancel/")
    assert services.export_start(export_id=export_id) is None
    assert Export.objects.get(pk=export_id).state == "cancelled"


# --- the reaper -------------------------------------------------------------------------------


def _running(crew, *, attempts: int, minutes_ago: int) -> Export:
    export_id = post_export(crew, "director", kind="final").json()["id"]
    long_ago = timezone.now() - timedelta(minutes=minutes_ago)
    Export.objects.filter(pk=export_id).update(
        state=ExportState.RUNNING, attempts=attempts, heartbeat_at=long_ago, started_at=long_ago, progress=40,
        segments_done=1, final_started_at=long_ago,
    )
    return Export.objects.get(pk=export_id)


def test_the_reaper_restarts_an_export_whose_worker_died_once(crew, settings, django_capture_on_commit_callbacks, monkeypatch):
    settings.MONTAGE_RENDER_STALE_SECONDS = 600
    sent = []
    monkeypatch.setattr("apps.rendering.tasks.start_export.delay", lambda export_id: sent.append(export_id))
    export = _running(crew, attempts=1, minutes_ago=11)
    fresh = _running(crew, attempts=1, minutes_ago=1)  # alive: left alone
    with django_capture_on_commit_callbacks(execute=True):
        result = reap_stale_jobs()
    assert result["rendering"] == 1
    export.refresh_from_db()
    assert export.state == "queued" and export.final_started_at is None and export.error == ""
    assert sent == [str(export.pk)]
    assert Export.objects.get(pk=fresh.pk).state == "running"
    # The second attempt claims it (attempt 2), resets the counters and renders every segment.
    attempt, segment_ids = services.export_start(export_id=export.pk)
    export.refresh_from_db()
    assert attempt == 2 and export.attempts == 2 and export.state == "running"
    assert (export.progress, export.segments_done) == (0, 0)
    assert segment_ids == [str(crew.seg.pk)]


def test_the_reaper_fails_an_export_after_the_second_dead_worker(crew, settings):
    settings.MONTAGE_RENDER_STALE_SECONDS = 600
    export = _running(crew, attempts=2, minutes_ago=11)
    assert services.export_reap_stale() == 1
    export.refresh_from_db()
    assert export.state == "failed"
    assert export.error == "The render worker stopped (attempt 2); start the export again."
    assert export.finished_at is not None
    assert ActivityEvent.objects.filter(project=crew.project, type="export.failed").exists()


def test_the_reaper_requeues_an_export_whose_start_message_was_lost(crew, settings, django_capture_on_commit_callbacks, monkeypatch):
    settings.MONTAGE_RENDER_STALE_SECONDS = 600
    sent = []
    monkeypatch.setattr("apps.rendering.tasks.start_export.delay", lambda export_id: sent.append(export_id))
    export_id = post_export(crew, "director", kind="final").json()["id"]
    Export.objects.filter(pk=export_id).update(updated_at=timezone.now() - timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.export_reap_stale() == 1
    assert sent == [export_id]
    assert Export.objects.get(pk=export_id).state == "queued"


def test_tasks_of_an_old_attempt_stop_quietly(crew):
    export_id = post_export(crew, "director", kind="final").json()["id"]
    attempt, segment_ids = services.export_start(export_id=export_id)
    Export.objects.filter(pk=export_id).update(attempts=attempt + 1)  # the reaper restarted it
    assert services.export_render_segment(export_id=export_id, segment_id=segment_ids[0], attempt=attempt) is False
    assert services.export_finish(export_id=export_id, attempt=attempt) is None
    assert Export.objects.get(pk=export_id).state == "running"
