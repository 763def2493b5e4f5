"""Domain behaviour of segments, shots and takes that a crew would notice."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.media.models import MediaFile
from apps.production import services
from apps.production.models import Segment, Shot, Take
from apps.projects.access import access_for
from apps.projects.models import ActivityEvent, Project
from tests.conftest import make_shot


def _media(project, **kw) -> MediaFile:
    defaults = dict(project=project, storage_key="media/x/clip.mp4", status="ready", kind="video", duration_seconds=2.0, fps=24.0, width=320, height=240)
    defaults.update(kw)
    return MediaFile.objects.create(**defaults)


def _take(shot, n=None, **kw) -> Take:
    n = n or (shot.takes.count() + 1)
    defaults = dict(shot=shot, number=n, media=_media(shot.segment.project), source="upload", status="ready")
    defaults.update(kw)
    return Take.objects.create(**defaults)


@pytest.fixture
def acc(crew):
    return {name: access_for(user=crew.persona(name), project=crew.project) for name in ("director", "producer", "owner", "artist", "viewer")}


def test_segment_status_follows_the_work(crew, acc):
    seg = crew.seg
    second = make_shot(seg)
    a, b = _take(crew.shot), _take(second)
    services.take_submit(access=acc["owner"], take=a)
    seg.refresh_from_db()
    assert seg.status == "in_review"
    services.take_approve(access=acc["director"], take=a)
    seg.refresh_from_db()
    assert seg.status == "claimed"  # one of two shots picked, nothing waiting
    services.take_approve(access=acc["director"], take=b)
    seg.refresh_from_db()
    assert seg.status == "approved"
    services.take_request_changes(access=acc["director"], take=b, comment="Warmer light, please")
    seg.refresh_from_db()
    assert seg.status == "claimed"
    assert Take.objects.get(pk=b.pk).review_state == "changes_requested"
    assert b.comments.get().body == "Warmer light, please"


def test_locked_segment_refuses_claims_and_edits(crew, acc):
    services.segment_update(access=acc["director"], segment=crew.open_seg, status="locked")
    with pytest.raises(Conflict) as exc:
        services.segment_claim(access=acc["artist"], segment=crew.open_seg)
    assert exc.value.code == "segment_locked"
    services.segment_update(access=acc["director"], segment=crew.seg, status="locked")
    with pytest.raises(Conflict):
        services.shot_create(access=acc["owner"], segment=Segment.objects.get(pk=crew.seg.pk), duration_frames=24)
    services.segment_update(access=acc["director"], segment=Segment.objects.get(pk=crew.seg.pk), status="open")
    assert Segment.objects.get(pk=crew.seg.pk).status == "claimed"  # unlocking restores the owner's state


def test_director_cannot_force_workflow_status(crew, acc):
    with pytest.raises(ValidationError):
        services.segment_update(access=acc["director"], segment=crew.open_seg, status="approved")


def test_owner_edits_title_but_not_order(crew, acc):
    services.segment_update(access=acc["owner"], segment=crew.seg, title="New title")
    with pytest.raises(PermissionDenied):
        services.segment_update(access=acc["owner"], segment=crew.seg, position=1)


def test_take_media_finished_settles_takes(crew):
    project = crew.project
    video = _media(project, status="processing")
    image = _media(project, status="processing", kind="image")
    broken = _media(project, status="processing")
    t1 = _take(crew.shot, media=video, status="processing")
    t2 = _take(crew.shot, media=image, status="processing")
    t3 = _take(crew.shot, media=broken, status="processing")
    MediaFile.objects.filter(pk=video.pk).update(status="ready")
    MediaFile.objects.filter(pk=image.pk).update(status="ready")
    MediaFile.objects.filter(pk=broken.pk).update(status="failed", error="This file could not be decoded.")
    for m in (video, image, broken):
        m.refresh_from_db()
        services.take_media_finished(media=m)
    t1.refresh_from_db(), t2.refresh_from_db(), t3.refresh_from_db()
    assert (t1.status, t2.status, t3.status) == ("ready", "failed", "failed")
    assert "image" in t2.error
    assert t3.error == "This file could not be decoded."
    # Settling twice changes nothing.
    services.take_media_finished(media=video)
    assert Take.objects.get(pk=t1.pk).status == "ready"


def test_shot_positions_stay_contiguous(crew, acc):
    seg = crew.seg
    s2 = services.shot_create(access=acc["owner"], segment=seg, duration_frames=24, title="second")
    s0 = services.shot_create(access=acc["owner"], segment=seg, duration_frames=24, title="first", position=0)
    order = list(Shot.objects.filter(segment=seg).order_by("position").values_list("title", "position"))
    assert order == [("first", 0), ("", 1), ("second", 2)]
    services.shot_delete(access=acc["owner"], shot=s0)
    assert list(Shot.objects.filter(segment=seg).order_by("position").values_list("position", flat=True)) == [0, 1]
    assert s2.pk


def test_shot_duration_validated(crew, acc):
    with pytest.raises(ValidationError):
        services.shot_create(access=acc["owner"], segment=crew.seg, duration_frames=0)


def test_events_are_recorded_only_on_commit(crew, acc, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.segment_claim(access=acc["artist"], segment=crew.open_seg)
    assert len(callbacks) == 1
    assert ActivityEvent.objects.filter(project=crew.project, type="segment.claimed").exists()


def test_seed_demo_is_idempotent(db, capsys):
    call_command("seed_demo", "--no-footage")
    call_command("seed_demo", "--no-footage")
    project = Project.objects.get(slug="the-lighthouse")
    assert project.memberships.count() == 8
    assert project.segments.count() == 6
    assert Shot.objects.filter(segment__project=project).count() == 14
    assert "dana (director)" in capsys.readouterr().out


def test_openapi_schema_and_docs(crew):
    client = crew.client("director")
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/segments/{segment_id}/claim/" in schema.content
    assert client.get("/api/v1/docs/").status_code == 200


def test_generated_audio_and_image_takes_accept_their_media(crew):
    project = crew.project
    speech = _media(project, status="processing", kind="audio")
    still = _media(project, status="processing", kind="image")
    t_speech = _take(crew.shot, media=speech, status="processing", source="generation", provenance={"kind": "speech"})
    t_still = _take(crew.shot, media=still, status="processing", source="generation", provenance={"kind": "text_to_image"})
    t_wrong = _take(crew.shot, media=_media(project, status="processing", kind="audio"), status="processing", source="generation",
                    provenance={"kind": "text_to_video"})
    for take in (t_speech, t_still, t_wrong):
        MediaFile.objects.filter(pk=take.media_id).update(status="ready")
        take.media.refresh_from_db()
        services.take_media_finished(media=take.media)
    states = {t.pk: t.status for t in Take.objects.filter(pk__in=[t_speech.pk, t_still.pk, t_wrong.pk])}
    assert states == {t_speech.pk: "ready", t_still.pk: "ready", t_wrong.pk: "failed"}
