"""Exports end to end with real ffmpeg on tiny clips: the render queue in eager mode, every
artifact checked by reading it back, the render cache making re-exports incremental, bad
sources failing with a sentence that names the shot, cancel, and the export_cut command."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import av
import opentimelineio as otio
import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from apps.projects.access import access_for
from apps.projects.models import ActivityEvent
from apps.rendering import services
from apps.rendering.deliverables.edl import read_edl
from apps.rendering.models import Export, ExportArtifact
from apps.timeline.models import AudioClip, Timeline
from apps.timeline.selectors import timeline_get
from tests.rendering.conftest import approve, real_take, stored_media

API = "/api/v1"
KINDS = {"mp4", "otio", "otioz", "edl", "srt", "credits", "manifest"}


def video_frames(path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def streams(path) -> set[str]:
    with av.open(str(path)) as container:
        return {s.type for s in container.streams}


def artifact_path(export: Export, kind: str) -> Path:
    return Path(default_storage.path(export.artifacts.get(kind=kind).storage_key))


def run_export(project, **kwargs) -> Export:
    export = services.export_create_for(project=project, kind=kwargs.pop("kind", "final"), enqueue=False, **kwargs)
    return services.export_run(export_id=export.pk)


@pytest.fixture
def narrated(film, clips):
    """The film with a narration line (text → SRT) and a score under it."""
    project = film.crew.project
    timeline = Timeline.objects.get(project=project)
    voice = stored_media(clips.voice, project=project)
    AudioClip.objects.create(timeline=timeline, track="narration", media=voice, start_frame=30, text="The light went out.")
    AudioClip.objects.create(timeline=timeline, track="music", media=stored_media(clips.yellow, project=project), start_frame=0, volume=0.5)
    return film


def test_a_final_export_renders_the_cut_and_every_deliverable(narrated, api, django_capture_on_commit_callbacks, monkeypatch):
    crew = narrated.crew
    published = []
    monkeypatch.setattr("apps.rendering.exports.state.publish", lambda project_id, type, data, **kw: published.append((type, data)))
    expected_frames = timeline_get(project=crew.project)["duration_frames"]

    with django_capture_on_commit_callbacks(execute=True):
        response = api(crew.producer).post(f"{API}/projects/{crew.project.pk}/exports/", {"kind": "final"}, format="json")
    assert response.status_code == 202, response.json()
    body = api(crew.viewer).get(f"{API}/exports/{response.json()['id']}/").json()
    assert body["state"] == "succeeded", body["error"]
    assert body["progress"] == 100 and body["finished_at"]
    assert {a["kind"] for a in body["artifacts"]} == KINDS
    assert all(a["url"].startswith("/media/exports/") and a["size"] > 0 for a in body["artifacts"])
    assert body["stats"]["encoded_pieces"] == 4 and body["stats"]["encoded_masters"] == 2
    export = Export.objects.get(pk=body["id"])

    # The MP4 is exactly as long as the timeline, with sound.
    mp4 = artifact_path(export, "mp4")
    assert video_frames(mp4) == expected_frames == 88
    assert streams(mp4) >= {"video", "audio"}

    # OTIO reads back, as long as the MP4.
    timeline = otio.adapters.read_from_file(str(artifact_path(export, "otio")))
    assert timeline.duration().to_frames() == expected_frames
    clip = next(iter(timeline.find_clips()))
    assert clip.metadata["montage"]["backend"] == "runway" and clip.metadata["montage"]["seed"] == 1234
    # Its media URLs are absolute, on the address the export was asked from.
    urls = [c.media_reference.target_url for c in timeline.find_clips() if hasattr(c.media_reference, "target_url")]
    assert len(urls) == 5 and all(u.startswith("http://testserver/media/") for u in urls), urls

    # The .otioz opens with OTIO and holds every clip's media (relative references).
    bundle_path = artifact_path(export, "otioz")
    bundled = otio.adapters.read_from_file(str(bundle_path))
    assert bundled.duration().to_frames() == expected_frames
    refs = [c.media_reference.target_url for c in bundled.find_clips() if hasattr(c.media_reference, "target_url")]
    with zipfile.ZipFile(bundle_path) as zf:
        assert len(refs) == 5 and all(r.startswith("media/") and r in zf.namelist() for r in refs), refs

    # The EDL parses with the CMX 3600 adapter, same picture length.
    edl = read_edl(artifact_path(export, "edl").read_text(), rate=24)
    assert edl.tracks[0].duration().to_frames() == expected_frames

    # The narration line is in the SRT at frame 30 = 1.25 s.
    srt = artifact_path(export, "srt").read_text()
    assert "00:00:01,250 --> 00:00:02,250\nThe light went out." in srt

    credits_text = artifact_path(export, "credits").read_text()
    assert crew.director.username in credits_text and crew.owner.username in credits_text

    manifest = json.loads(artifact_path(export, "manifest").read_text())
    assert len(manifest["shots"]) == 4
    assert [s["take_id"] for s in manifest["shots"]] == [str(t.pk) for t in narrated.takes[:3]] + [None]
    assert manifest["shots"][0]["media"]["sha256"] == narrated.takes[0].media.sha256
    assert manifest["render"]["frames"] == expected_frames

    # Progress went up on the project's socket; the end is in the activity feed.
    progress = [d["progress"] for t, d in published if t == "export.progress"]
    assert progress and progress == sorted(progress)
    assert ActivityEvent.objects.filter(project=crew.project, type="export.finished").exists()


def _media_urls(export: Export) -> list[str]:
    timeline = otio.adapters.read_from_file(str(artifact_path(export, "otio")))
    return [c.media_reference.target_url for c in timeline.find_clips() if hasattr(c.media_reference, "target_url")]


def test_media_urls_start_with_the_public_url_when_it_is_set(film, api, settings, django_capture_on_commit_callbacks):
    settings.MONTAGE_PUBLIC_URL = "https://films.example/"
    settings.ALLOWED_HOSTS = ["*"]
    crew = film.crew
    with django_capture_on_commit_callbacks(execute=True):
        response = api(crew.director).post(f"{API}/projects/{crew.project.pk}/exports/", {"kind": "final"}, format="json",
                                           HTTP_HOST="studio.local:8123")
    export = Export.objects.get(pk=response.json()["id"])
    assert export.state == "succeeded", export.error
    urls = _media_urls(export)
    assert len(urls) == 3 and all(u.startswith("https://films.example/media/") for u in urls), urls
    assert "https://films.example/media/" in artifact_path(export, "edl").read_text()


def test_without_a_public_url_media_urls_use_the_requests_host(film, api, settings, django_capture_on_commit_callbacks):
    settings.MONTAGE_PUBLIC_URL = ""
    settings.ALLOWED_HOSTS = ["*"]
    crew = film.crew
    with django_capture_on_commit_callbacks(execute=True):
        response = api(crew.director).post(f"{API}/projects/{crew.project.pk}/exports/", {"kind": "final"}, format="json",
                                           HTTP_HOST="studio.local:8123")
    export = Export.objects.get(pk=response.json()["id"])
    assert export.public_url == "http://studio.local:8123"
    urls = _media_urls(export)
    assert len(urls) == 3 and all(u.startswith("http://studio.local:8123/media/") for u in urls), urls


def test_re_exports_encode_only_what_changed(film, clips):
    project = film.crew.project
    first = run_export(project)
    assert first.state == "succeeded", first.error
    assert (first.stats["encoded_pieces"], first.stats["encoded_masters"]) == (4, 2)

    again = run_export(project)
    assert again.state == "succeeded", again.error
    assert (again.stats["encoded_pieces"], again.stats["encoded_masters"]) == (0, 0)
    assert (again.stats["cached_pieces"], again.stats["cached_masters"]) == (4, 2)

    # A different pick for one shot: that shot and its segment, nothing else.
    new_take = real_take(film.shots[2], clips.wide, author=film.crew.director, approved=False)
    approve(film.crew, new_take)
    third = run_export(project)
    assert third.state == "succeeded", third.error
    assert (third.stats["encoded_pieces"], third.stats["encoded_masters"]) == (1, 1)
    assert video_frames(artifact_path(third, "mp4")) == timeline_get(project=project)["duration_frames"]


def test_an_artist_exports_their_segment(film, api, django_capture_on_commit_callbacks):
    crew = film.crew
    with django_capture_on_commit_callbacks(execute=True):
        response = api(crew.owner).post(
            f"{API}/projects/{crew.project.pk}/exports/", {"kind": "segment", "segment": str(crew.seg.pk)}, format="json"
        )
    export = Export.objects.get(pk=response.json()["id"])
    assert export.state == "succeeded", export.error
    assert video_frames(artifact_path(export, "mp4")) == 24 + 16 - 6
    assert artifact_path(export, "mp4").name.endswith("-segment-01.mp4")


def test_include_unapproved_renders_the_latest_takes(film):
    export = run_export(film.crew.project, include_unapproved=True)
    assert export.state == "succeeded", export.error
    # Shot 4's submitted take is 1.5 s = 36 frames instead of the 30-frame slate.
    assert video_frames(artifact_path(export, "mp4")) == 24 + 16 - 6 + 24 + 36


def test_a_missing_source_fails_the_export_naming_the_shot(film):
    default_storage.delete(film.takes[2].media.storage_key)  # segment 2, shot 1
    export = run_export(film.crew.project)
    assert export.state == "failed"
    assert "Segment 2 · shot 1" in export.error and "missing" in export.error
    assert not ExportArtifact.objects.filter(export=export).exists()
    assert not default_storage.exists(f"exports/{export.pk}/") or not default_storage.listdir(f"exports/{export.pk}")[1]
    assert ActivityEvent.objects.filter(project=film.crew.project, type="export.failed").exists()


def test_an_undecodable_source_fails_the_export_naming_the_shot(film):
    take = film.takes[1]  # segment 1, shot 2
    path = Path(default_storage.path(take.media.storage_key))
    path.write_bytes(b"not a video at all" * 100)
    type(take.media).objects.filter(pk=take.media.pk).update(sha256="0" * 64)  # new bytes, new identity
    export = run_export(film.crew.project)
    assert export.state == "failed"
    assert export.error.startswith("Segment 1 · shot 2")
    assert not export.artifacts.exists()


def test_cancel_stops_a_running_export_and_publishes_nothing(film):
    crew = film.crew
    export = services.export_create_for(project=crew.project, kind="final", enqueue=False)

    def cancel_on_first_progress(value: int) -> None:
        services.export_cancel(access=access_for(user=crew.director, project=crew.project), export=export)

    done = services.export_run(export_id=export.pk, listener=cancel_on_first_progress)
    assert done.state == "cancelled"
    assert not done.artifacts.exists()
    assert done.shots_done < done.shots_total  # it stopped early


def test_the_credits_roll_is_appended_to_the_film(film):
    export = run_export(film.crew.project, credits_roll=True)
    assert export.state == "succeeded", export.error
    frames = video_frames(artifact_path(export, "mp4"))
    assert frames > 88
    assert export.stats["frames"] == frames
    timeline = otio.adapters.read_from_file(str(artifact_path(export, "otio")))
    assert timeline.duration().to_frames() == frames
    # The roll is not a stored file: a generator clip, not a URL nobody can fetch.
    roll = list(timeline.video_tracks()[0].find_clips())[-1]
    assert roll.name == "CREDITS" and roll.media_reference.generator_kind == "credits"


def test_export_cut_writes_every_file(film, tmp_path, capsys):
    out = tmp_path / "out"
    call_command("export_cut", film.crew.project.slug, "--out", str(out), "--no-progress")
    names = sorted(p.name for p in out.iterdir())
    slug = film.crew.project.slug
    assert names == sorted(
        [f"{slug}.mp4", f"{slug}.otio", f"{slug}.otioz", f"{slug}.edl", f"{slug}.srt", f"{slug}-credits.txt",
         f"{slug}-manifest.json"]
    )
    assert video_frames(out / f"{slug}.mp4") == 88
    assert Export.objects.get(project=film.crew.project).state == "succeeded"


def test_export_cut_exports_one_segment(film, tmp_path):
    out = tmp_path / "seg"
    call_command("export_cut", film.crew.project.slug, "--out", str(out), "--segment", "2", "--no-progress")
    (mp4,) = out.glob("*.mp4")
    assert mp4.name.endswith("-segment-02.mp4")
    assert video_frames(mp4) == 24 + 30


def test_export_cut_fails_with_the_reason(film, tmp_path):
    default_storage.delete(film.takes[0].media.storage_key)
    with pytest.raises(CommandError, match="Segment 1 · shot 1"):
        call_command("export_cut", film.crew.project.slug, "--out", str(tmp_path / "x"), "--no-progress")
    with pytest.raises(CommandError, match="no project"):
        call_command("export_cut", "no-such-film", "--out", str(tmp_path / "x"), "--no-progress")


def test_the_join_counts_each_segment_once_and_starts_the_final_once(film):
    """A segment task delivered twice (a retry, a redelivery after a worker died) neither
    double-counts nor starts the final step twice."""
    export = services.export_create_for(project=film.crew.project, kind="final", enqueue=False)
    attempt, (first, second) = services.export_start(export_id=export.pk)
    assert services.export_render_segment(export_id=export.pk, segment_id=first, attempt=attempt) is False
    assert services.export_render_segment(export_id=export.pk, segment_id=first, attempt=attempt) is False
    export.refresh_from_db()
    assert (export.segments_done, export.final_started_at) == (1, None)
    # A chord body run early (or for a set that is not complete) joins nothing.
    assert services.export_finish(export_id=export.pk, attempt=attempt) is None
    assert Export.objects.get(pk=export.pk).state == "running"
    assert services.export_render_segment(export_id=export.pk, segment_id=second, attempt=attempt) is True
    assert services.export_render_segment(export_id=export.pk, segment_id=second, attempt=attempt) is False
    export.refresh_from_db()
    assert export.segments_done == 2 and export.final_started_at is not None
    assert services.export_finish(export_id=export.pk, attempt=attempt).state == "succeeded"
    assert services.export_finish(export_id=export.pk, attempt=attempt) is None  # a duplicate: nothing to do


def test_start_export_fans_out_as_a_chord_joined_by_the_final_step(film, monkeypatch):
    from apps.rendering import tasks

    sent = {}

    def fake_chord(header):
        sent["header"] = list(header)
        return lambda body: sent.setdefault("body", body)

    monkeypatch.setattr(tasks, "chord", fake_chord)
    export = services.export_create_for(project=film.crew.project, kind="final", enqueue=False)
    assert tasks.start_export(str(export.pk)) == 2
    attempt = Export.objects.get(pk=export.pk).attempts
    segments = [str(film.crew.seg.pk), str(film.crew.open_seg.pk)]  # in timeline order
    assert [(t.task, t.args) for t in sent["header"]] == [
        ("apps.rendering.tasks.render_export_segment", (str(export.pk), s, attempt)) for s in segments
    ]
    assert (sent["body"].task, sent["body"].args) == ("apps.rendering.tasks.finish_export", (str(export.pk), attempt))
    assert not tasks.render_export_segment.ignore_result  # the chord counts its results


def test_an_export_whose_chord_cannot_be_sent_fails_with_a_reason(film, monkeypatch):
    from apps.rendering import tasks

    def broken(header):
        raise ConnectionError("result backend down")

    monkeypatch.setattr(tasks, "chord", broken)
    export = services.export_create_for(project=film.crew.project, kind="final", enqueue=False)
    tasks.start_export(str(export.pk))
    export.refresh_from_db()
    assert export.state == "failed" and export.error == services.ENQUEUE_FAILED


def test_an_export_whose_worker_died_is_finished_by_the_second_attempt(film, settings, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    settings.MONTAGE_RENDER_STALE_SECONDS = 60
    export = services.export_create_for(project=film.crew.project, kind="final", enqueue=False)
    attempt, (first, _second) = services.export_start(export_id=export.pk)
    services.export_render_segment(export_id=export.pk, segment_id=first, attempt=attempt)
    # ...and the worker died: no heartbeat since.
    Export.objects.filter(pk=export.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.export_reap_stale() == 1  # re-queued: the eager start task runs it all again
    export.refresh_from_db()
    assert export.state == "succeeded", export.error
    assert export.attempts == 2
    # Segment 1 was conformed before the worker died: only segment 2 is encoded now.
    assert (export.stats["encoded_pieces"], export.stats["cached_pieces"]) == (2, 2)
    assert video_frames(artifact_path(export, "mp4")) == 88


def test_exports_work_with_media_in_s3(crew, clips, s3):
    """Takes in S3 are downloaded for the render (only when not cached) and the artifacts are
    uploaded to S3; a key that vanished fails the export naming the shot."""
    from apps.production.models import Shot

    crew.project.width, crew.project.height = 160, 90
    crew.project.save()
    Shot.objects.filter(pk=crew.shot.pk).update(duration_frames=24)
    take = real_take(crew.shot, clips.red, author=crew.owner, reviewer=crew.director)
    assert take.media.storage_key in s3.object_keys()
    export = run_export(crew.project)
    assert export.state == "succeeded", export.error
    keys = set(s3.object_keys())
    artifacts = {a.kind: a for a in export.artifacts.all()}
    assert set(artifacts) == KINDS
    assert all(a.storage_key in keys and s3.size(a.storage_key) == a.size for a in artifacts.values())
    timeline = otio.adapters.read_from_string(default_storage.open(artifacts["otio"].storage_key).read().decode(), "otio_json")
    assert next(iter(timeline.find_clips())).media_reference.target_url == f"s3://{s3.bucket}/{take.media.storage_key}"

    s3.client.delete_object(Bucket=s3.bucket, Key=take.media.storage_key)
    failed = run_export(crew.project)
    assert failed.state == "failed" and "Segment 1 · shot 1" in failed.error
    assert not failed.artifacts.exists()


def test_the_final_step_rebuilds_masters_it_cannot_see(film, render_cache_dir):
    """Render workers on several hosts without a shared cache volume: the final task does not
    find a segment master made elsewhere, and rebuilds it instead of failing."""
    import shutil

    export = services.export_create_for(project=film.crew.project, kind="final", enqueue=False)
    attempt, segment_ids = services.export_start(export_id=export.pk)
    for segment_id in segment_ids:
        services.export_render_segment(export_id=export.pk, segment_id=segment_id, attempt=attempt)
    shutil.rmtree(render_cache_dir / "masters")
    shutil.rmtree(render_cache_dir / "pieces")
    done = services.export_finish(export_id=export.pk, attempt=attempt)
    assert done is not None and done.state == "succeeded"
    assert video_frames(artifact_path(done, "mp4")) == 88
    assert done.stats["encoded_pieces"] == 8  # every shot twice: once per "host"
