"""Deleting takes (who may, what is refused: the pick, work in flight; what is kept), and what a
take says it is (kind, medium, seed) with what follows from it: only picture is reviewed."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.generation import ledger
from apps.generation.models import GenerationJob, LedgerEntry
from apps.media.models import MediaFile
from apps.production.models import Comment, Segment, Take
from apps.projects.models import ActivityEvent, Reference
from tests.api.helpers import API, assert_error, make_media, make_take


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def _stored_media(project, *, owner) -> MediaFile:
    """A ready media file with its source and derived files really in storage."""
    media = make_media(project, owner=owner)
    keys = {}
    for field, name in (("storage_key", "source/clip.mp4"), ("thumbnail_key", "thumbnail.jpg"), ("proxy_key", "proxy.mp4")):
        keys[field] = default_storage.save(f"media/{media.pk}/{name}", ContentFile(b"bytes of " + name.encode()))
    MediaFile.objects.filter(pk=media.pk).update(**keys)
    media.refresh_from_db()
    return media


def _delete(crew, who: str, take: Take):
    return crew.client(who).delete(f"{API}/takes/{take.pk}/")


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("artist", 403, "permission_denied"),  # another artist (owns nothing here)
        ("producer", 403, "permission_denied"),
        ("viewer", 403, "permission_denied"),
        ("stranger", 404, "not_found"),  # not a member: the take does not exist for them
    ],
)
def test_only_the_author_or_the_director_may_delete(crew, who, status, code):
    take = make_take(crew.shot, author=crew.owner, status="failed")
    assert_error(_delete(crew, who, take), status, code)
    assert Take.objects.filter(pk=take.pk).exists()


def test_anonymous_cannot_delete(crew):
    take = make_take(crew.shot, author=crew.owner)
    response = _delete(crew, "anonymous", take)
    assert response.status_code in (401, 403)
    assert Take.objects.filter(pk=take.pk).exists()


def test_author_deletes_own_take_and_its_files_go(crew, media_root, django_capture_on_commit_callbacks):
    media = _stored_media(crew.project, owner=crew.owner)
    take = make_take(crew.shot, author=crew.owner, status="failed")
    Take.objects.filter(pk=take.pk).update(media=media)
    Comment.objects.create(take=take, author=crew.director, body="Not this one")
    files = [media.storage_key, media.thumbnail_key, media.proxy_key]
    assert all(default_storage.exists(name) for name in files)

    with django_capture_on_commit_callbacks(execute=True):
        response = _delete(crew, "owner", take)

    assert response.status_code == 204
    assert not Take.objects.filter(pk=take.pk).exists()
    assert not Comment.objects.filter(take_id=take.pk).exists()
    assert not MediaFile.objects.filter(pk=media.pk).exists()
    assert not any(default_storage.exists(name) for name in files)
    event = ActivityEvent.objects.get(project=crew.project, type="take.deleted")
    assert event.data["id"] == str(take.pk) and event.data["number"] == take.number
    assert event.data["shot"] == str(crew.shot.pk) and event.data["segment"] == str(crew.seg.pk)
    assert event.actor == crew.owner
    listed = crew.client("owner").get(f"{API}/shots/{crew.shot.pk}/takes/").json()
    assert [t["id"] for t in listed] == []


def test_owner_cannot_delete_someone_elses_take_but_the_director_can(crew):
    theirs = make_take(crew.shot, author=crew.director)
    assert_error(_delete(crew, "owner", theirs), 403, "permission_denied")
    mine = make_take(crew.shot, author=crew.owner)
    assert _delete(crew, "director", mine).status_code == 204
    assert _delete(crew, "director", theirs).status_code == 204
    assert not Take.objects.filter(shot=crew.shot).exists()


def test_author_who_no_longer_works_on_the_segment_cannot_delete(crew):
    take = make_take(crew.shot, author=crew.owner)
    Segment.objects.filter(pk=crew.seg.pk).update(owner=crew.artist)
    assert_error(_delete(crew, "owner", take), 403, "permission_denied")


def test_the_pick_is_never_deleted(crew):
    pick = make_take(crew.shot, author=crew.owner, review_state="approved")
    for who in ("owner", "director"):
        body = assert_error(_delete(crew, who, pick), 409, "conflict")
        assert body["detail"].startswith("This take is the approved pick of the shot;")
    assert Take.objects.get(pk=pick.pk).review_state == "approved"


def test_a_take_still_being_made_is_not_deleted(crew):
    take = make_take(crew.shot, author=crew.owner, status="processing")
    body = assert_error(_delete(crew, "owner", take), 409, "take_processing")
    assert "cancel" in body["detail"]
    assert Take.objects.filter(pk=take.pk).exists()


def test_the_input_of_a_running_job_is_kept_until_it_ends(crew):
    source = make_take(crew.shot, author=crew.owner)
    upscale = make_take(crew.shot, author=crew.owner, status="processing")
    Take.objects.filter(pk=upscale.pk).update(
        source="generation",
        parent=source,
        provenance={"kind": "upscale", "parent_take": str(source.pk), "input_media": [str(source.media_id)]},
    )
    body = assert_error(_delete(crew, "owner", source), 409, "take_in_use")
    assert f"take {upscale.number} of this shot" in body["detail"]

    Take.objects.filter(pk=upscale.pk).update(status="ready")
    assert _delete(crew, "owner", source).status_code == 204
    child = Take.objects.get(pk=upscale.pk)
    assert child.parent_id is None  # the link is cleared…
    assert child.provenance["parent_take"] == str(source.pk)  # …the record of how it was made is not
    # The file was also the child's input, but no row uses it any more: it went.
    assert not MediaFile.objects.filter(pk=source.media_id).exists()


def test_a_file_used_elsewhere_is_kept(crew):
    take = make_take(crew.shot, author=crew.owner)
    ref = Reference.objects.create(project=crew.project, tag="mara", name="Mara")
    ref.images.add(take.media)
    assert _delete(crew, "owner", take).status_code == 204
    assert MediaFile.objects.filter(pk=take.media_id).exists()
    assert list(ref.images.all()) == [take.media]


def test_locked_segment_refuses(crew):
    take = make_take(crew.shot, author=crew.owner)
    Segment.objects.filter(pk=crew.seg.pk).update(status="locked")
    assert_error(_delete(crew, "director", take), 409, "segment_locked")


def test_deleting_the_only_submitted_take_ends_the_review(crew):
    Segment.objects.filter(pk=crew.seg.pk).update(status="in_review")
    take = make_take(crew.shot, author=crew.owner, review_state="submitted")
    assert _delete(crew, "owner", take).status_code == 204
    assert Segment.objects.get(pk=crew.seg.pk).status == "claimed"
    assert crew.client("director").get(f"{API}/projects/{crew.project.pk}/review/").json() == []


def test_money_spent_on_a_deleted_take_stays_spent(crew):
    job = GenerationJob.objects.create(
        project=crew.project, shot=crew.shot, author=crew.owner, backend="fake", kind="text_to_video",
        idempotency_key=str(uuid.uuid4()),
    )  # fmt: skip
    LedgerEntry.objects.create(project=crew.project, user=crew.owner, job=job, kind="reserve", amount=Decimal("0.50"))
    LedgerEntry.objects.create(project=crew.project, user=crew.owner, job=job, kind="settle", amount=Decimal("0.40"))
    take = make_take(crew.shot, author=crew.owner, status="failed")
    Take.objects.filter(pk=take.pk).update(source="generation", cost=Decimal("0.40"), provenance={"job": str(job.pk), "seed": 7})
    before = ledger.totals(crew.project)
    assert _delete(crew, "owner", take).status_code == 204
    assert ledger.totals(crew.project) == before == (Decimal("0"), Decimal("0.4000"))
    assert GenerationJob.objects.filter(pk=job.pk).exists()


def test_take_data_says_what_the_take_is(crew):
    speech = make_take(crew.shot, author=crew.owner)
    Take.objects.filter(pk=speech.pk).update(source="generation", provenance={"kind": "speech", "seed": 43})
    clip = make_take(crew.shot, author=crew.owner)
    listed = {t["id"]: t for t in crew.client("viewer").get(f"{API}/shots/{crew.shot.pk}/takes/").json()}
    assert (listed[str(speech.pk)]["kind"], listed[str(speech.pk)]["medium"], listed[str(speech.pk)]["seed"]) == (
        "speech",
        "audio",
        43,
    )
    assert (listed[str(clip.pk)]["kind"], listed[str(clip.pk)]["medium"], listed[str(clip.pk)]["seed"]) == (
        "upload",
        "video",
        None,
    )


def test_sound_and_stills_are_not_reviewed_as_the_shots_picture(crew):
    speech = make_take(crew.shot, author=crew.owner)
    still = make_take(crew.shot, author=crew.owner)
    Take.objects.filter(pk=speech.pk).update(source="generation", provenance={"kind": "speech"})
    Take.objects.filter(pk=still.pk).update(source="generation", provenance={"kind": "text_to_image"})
    body = assert_error(crew.client("owner").post(f"{API}/takes/{speech.pk}/submit/"), 409, "take_not_video")
    assert "audio track" in body["detail"]
    assert_error(crew.client("director").post(f"{API}/takes/{still.pk}/approve/"), 409, "take_not_video")
    assert set(Take.objects.filter(shot=crew.shot).values_list("review_state", flat=True)) == {"draft"}
