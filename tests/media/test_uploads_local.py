"""The upload flow through the API with local storage: create, PUT the bytes, complete, then a
take consumes the upload and ingest runs."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.media import services
from apps.media.models import MediaStatus, Upload, UploadStatus

from .helpers import API, error, exists

pytestmark = pytest.mark.django_db

# Every upload names its project: the tests here upload into the crew's project.
_project: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _crew_project(crew):
    _project["id"] = str(crew.project.pk)


def create(client, *, filename="clip.mp4", size=1000, content_type="video/mp4"):
    return client.post(f"{API}/uploads/", {"project": _project["id"], "filename": filename, "size": size, "content_type": content_type}, format="json")


def put(client, url, data: bytes, content_type="video/mp4"):
    return client.generic("PUT", url, data, content_type=content_type)


def upload_bytes(client, data: bytes, *, filename="clip.mp4", content_type="video/mp4") -> str:
    r = create(client, filename=filename, size=len(data), content_type=content_type)
    assert r.status_code == 201, r.json()
    body = r.json()
    r = put(client, body["url"], data, content_type=content_type)
    assert r.status_code == 200, r.json()
    return body["id"]


def test_full_flow(crew, clips, media_root, on_commit):
    client = crew.client("owner")
    data = clips.v25_audio.read_bytes()
    r = create(client, filename="My Clip (final).MP4", size=len(data))
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["method"] == "PUT" and body["mode"] == "local" and body["status"] == "pending"
    assert body["url"] == f"{API}/uploads/{body['id']}/data/"
    assert body["headers"] == {"Content-Type": "video/mp4"}
    assert "parts" not in body and body["expires_at"]

    r = put(client, body["url"], data)
    assert r.status_code == 200, r.json()
    assert r.json()["received_bytes"] == len(data)
    upload = Upload.objects.get(pk=body["id"])
    assert upload.storage_key == f"uploads/{upload.pk}/My-Clip-final.mp4"
    assert (media_root / upload.storage_key).read_bytes() == data
    assert not list((media_root / ".incoming").iterdir())  # the spool file was moved, not copied

    r = client.post(f"{API}/uploads/{body['id']}/complete/", {}, format="json")
    assert r.status_code == 200, r.json()
    done = r.json()
    assert done["id"] == body["id"] and done["status"] == "complete"
    media = done["media"]
    assert media["status"] == "pending" and media["kind"] == "unknown"
    assert media["url"].startswith(f"/media/{upload.storage_key}?")  # signed (apps.media.signing)
    assert media["proxy_url"] is None

    # Completing again is idempotent.
    again = client.post(f"{API}/uploads/{body['id']}/complete/", {}, format="json")
    assert again.status_code == 200 and again.json()["media"]["id"] == media["id"]

    # A take is made from it: ingest runs on commit (eagerly in tests).
    with on_commit():
        consumed = services.upload_consume(actor=crew.owner, upload_id=body["id"], project=crew.project)
    consumed.refresh_from_db()
    assert consumed.project_id == crew.project.pk
    assert consumed.status == MediaStatus.READY, consumed.error
    assert consumed.kind == "video" and consumed.fps == 25 and (consumed.width, consumed.height) == (320, 240)
    assert consumed.has_audio and consumed.duration_seconds == pytest.approx(1.0, abs=0.05)
    for key in (consumed.proxy_key, consumed.thumbnail_key, consumed.filmstrip_key):
        assert exists(key)

    # The media endpoint shows it to project members, with the waveform.
    r = crew.client("viewer").get(f"{API}/media/{consumed.pk}/")
    assert r.status_code == 200
    detail = r.json()
    assert detail["status"] == "ready" and detail["fps_num"] == 25 and detail["frame_count"] == 25
    assert detail["proxy_url"].split("?")[0].endswith("/proxy.mp4") and detail["filmstrip_frames"] == 10
    assert len(detail["waveform"]) >= 150
    assert crew.client("stranger").get(f"{API}/media/{consumed.pk}/").status_code == 404

    # An upload becomes one take only.
    with pytest.raises(services.ValidationError, match="already used"):
        services.upload_consume(actor=crew.owner, upload_id=body["id"], project=crew.project)


def test_take_from_upload_through_the_api(crew, clips, on_commit):
    """The production app's take endpoint consumes the upload."""
    client = crew.client("owner")
    upload_id = upload_bytes(client, clips.v24.read_bytes(), filename="a.webm", content_type="video/webm")
    assert client.post(f"{API}/uploads/{upload_id}/complete/", {}, format="json").status_code == 200
    with on_commit():
        r = client.post(f"{API}/shots/{crew.shot.pk}/takes/", {"upload": upload_id}, format="json")
    assert r.status_code == 201, r.json()
    take = client.get(f"{API}/takes/{r.json()['id']}/").json()
    assert take["status"] == "ready", take
    assert take["media"]["fps"] == 24 and take["media"]["proxy_url"]
    # The same upload cannot make a second take.
    r = client.post(f"{API}/shots/{crew.shot.pk}/takes/", {"upload": upload_id}, format="json")
    error(r, 400, "validation_error")


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"filename": "a.mp4", "size": 0, "content_type": "video/mp4"}, 400, "validation_error"),
        ({"filename": "a.mp4", "size": -5, "content_type": "video/mp4"}, 400, "validation_error"),
        ({"filename": "a.mp4", "content_type": "video/mp4"}, 400, "validation_error"),
        ({"filename": "", "size": 10, "content_type": "video/mp4"}, 400, "validation_error"),
        ({"filename": "a.html", "size": 10, "content_type": "text/html"}, 400, "unsupported_media"),
        ({"filename": "a.pdf", "size": 10, "content_type": "application/pdf"}, 400, "unsupported_media"),
    ],
)
def test_create_validation(crew, payload, status, code):
    payload = {"project": str(crew.project.pk), **payload}
    error(crew.client("owner").post(f"{API}/uploads/", payload, format="json"), status, code)


def test_create_limits_and_content_type_guess(crew, settings):
    settings.MONTAGE_UPLOAD_MAX_BYTES = 1000
    body = error(create(crew.client("owner"), size=1001), 400, "validation_error")
    assert body["detail"] == "This file is 1001 bytes; the limit is 1000 bytes."
    assert "size" in body["fields"]
    r = create(crew.client("owner"), filename="take.mov", size=10, content_type="")
    assert r.status_code == 201 and r.json()["content_type"] == "video/quicktime"
    r = create(crew.client("owner"), filename="take.mp4", size=10, content_type="video/mp4; codecs=avc1")
    assert r.status_code == 201 and r.json()["content_type"] == "video/mp4"


def test_anonymous_is_refused(crew):
    r = crew.client("anonymous").post(f"{API}/uploads/", {"filename": "a.mp4", "size": 5}, format="json")
    assert r.status_code in (401, 403)


def test_truncated_upload_is_incomplete(crew, clips):
    client = crew.client("owner")
    data = clips.v25_audio.read_bytes()
    body = create(client, size=len(data)).json()
    complete = f"{API}/uploads/{body['id']}/complete/"
    error(client.post(complete, {}, format="json"), 400, "upload_incomplete")  # nothing sent yet
    assert put(client, body["url"], data[: len(data) // 2]).status_code == 200
    r = error(client.post(complete, {}, format="json"), 400, "upload_incomplete")
    assert "of" in r["detail"]
    upload = Upload.objects.get(pk=body["id"])
    assert upload.status == UploadStatus.PENDING and upload.media_id is None
    # Sending the whole file again fixes it.
    assert put(client, body["url"], data).status_code == 200
    assert client.post(complete, {}, format="json").status_code == 200


def test_more_bytes_than_declared_is_refused_and_discarded(crew, media_root):
    client = crew.client("owner")
    body = create(client, size=100).json()
    r = error(put(client, body["url"], b"\x00\x00\x00\x18ftypmp42" + b"x" * 200), 413, "upload_too_large")
    assert "more bytes" in r["detail"]
    upload = Upload.objects.get(pk=body["id"])
    assert not (media_root / upload.storage_key).exists()
    assert not (media_root / ".incoming").exists() or not any((media_root / ".incoming").iterdir())
    assert upload.received_bytes == 0


def test_more_bytes_than_declared_without_content_length(crew, media_root):
    """A body larger than declared is cut off while streaming even when no length was given."""
    upload = services.upload_create(actor=crew.owner, project_id=crew.project.pk, filename="a.mp4", size=3 * 1024 * 1024, content_type="video/mp4")

    class Body:
        def __init__(self):
            self.reads = 0

        def read(self, n):
            self.reads += 1
            return b"\x01" * n  # endless

    body = Body()
    with pytest.raises(services.UploadTooLarge, match="more bytes"):
        services.upload_receive(actor=crew.owner, upload_id=upload.pk, stream=body, content_length=None)
    assert body.reads == 4  # read in 1 MB chunks, stopped as soon as the limit was passed
    assert not (media_root / upload.storage_key).exists()
    assert not any((media_root / ".incoming").iterdir())


def test_text_file_renamed_mp4_is_unsupported(crew, clips, media_root):
    client = crew.client("owner")
    data = clips.notes.read_bytes()
    upload_id = upload_bytes(client, data, filename="notes.mp4")
    body = error(client.post(f"{API}/uploads/{upload_id}/complete/", {}, format="json"), 400, "unsupported_media")
    assert body["detail"] == "This file is text, not a video, audio file or image."
    upload = Upload.objects.get(pk=upload_id)
    assert upload.status == UploadStatus.FAILED and upload.media_id is None
    assert not (media_root / upload.storage_key).exists()
    # Asking again gives the same answer; sending new bytes is refused.
    error(client.post(f"{API}/uploads/{upload_id}/complete/", {}, format="json"), 400, "unsupported_media")


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.4\n" + b"\x00" * 64, b"PK\x03\x04" + b"\x00" * 64, b"<!doctype html><title>x</title>"],
)
def test_other_non_media_is_unsupported(crew, data):
    client = crew.client("owner")
    upload_id = upload_bytes(client, data, filename="file.mp4")
    error(client.post(f"{API}/uploads/{upload_id}/complete/", {}, format="json"), 400, "unsupported_media")


def test_truncated_mp4_upload_completes_but_ingest_fails(crew, clips, on_commit):
    client = crew.client("owner")
    upload_id = upload_bytes(client, clips.truncated.read_bytes())
    assert client.post(f"{API}/uploads/{upload_id}/complete/", {}, format="json").status_code == 200
    with on_commit():
        media = services.upload_consume(actor=crew.owner, upload_id=upload_id, project=crew.project)
    media.refresh_from_db()
    assert media.status == MediaStatus.FAILED
    assert media.error.startswith("This file is truncated")


def test_only_the_owner_may_use_an_upload(crew, clips):
    owner = crew.client("owner")
    upload_id = upload_bytes(owner, clips.v24.read_bytes(), filename="a.webm", content_type="video/webm")
    for name in ("artist", "director", "stranger"):
        other = crew.client(name)
        error(other.get(f"{API}/uploads/{upload_id}/"), 404, "not_found")
        error(put(other, f"{API}/uploads/{upload_id}/data/", b"x"), 404, "not_found")
        error(other.post(f"{API}/uploads/{upload_id}/complete/", {}, format="json"), 404, "not_found")
    assert owner.post(f"{API}/uploads/{upload_id}/complete/", {}, format="json").status_code == 200
    with pytest.raises(services.NotFound):
        services.upload_consume(actor=crew.artist, upload_id=upload_id, project=crew.project)
    error(owner.get(f"{API}/uploads/not-a-uuid/"), 404, "not_found")


def test_consume_requires_a_complete_upload(crew):
    upload = services.upload_create(actor=crew.owner, project_id=crew.project.pk, filename="a.mp4", size=10, content_type="video/mp4")
    with pytest.raises(services.ValidationError, match="not complete"):
        services.upload_consume(actor=crew.owner, upload_id=str(upload.pk), project=crew.project)


def test_put_after_complete_is_a_conflict(crew, clips):
    client = crew.client("owner")
    data = clips.v24.read_bytes()
    body = create(client, size=len(data), content_type="video/webm").json()
    put(client, body["url"], data)
    client.post(f"{API}/uploads/{body['id']}/complete/", {}, format="json")
    error(put(client, body["url"], data), 409, "conflict")


def test_expired_upload(crew, clips):
    client = crew.client("owner")
    data = clips.v24.read_bytes()
    body = create(client, size=len(data), content_type="video/webm").json()
    Upload.objects.filter(pk=body["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    r = error(put(client, body["url"], data), 400, "upload_expired")
    assert "expired" in r["detail"]


def test_upload_detail(crew):
    client = crew.client("owner")
    body = create(client, size=10).json()
    r = client.get(f"{API}/uploads/{body['id']}/")
    assert r.status_code == 200
    assert r.json()["url"] == body["url"] and r.json()["received_bytes"] == 0


def test_streaming_never_reads_the_body_whole(crew, monkeypatch):
    """The view hands the raw request to the service, which reads it in 1 MB chunks."""
    from django.core.handlers.wsgi import WSGIRequest

    sizes = []
    original = WSGIRequest.read

    def spy(self, *args, **kwargs):
        sizes.append(args[0] if args else kwargs.get("size"))
        return original(self, *args, **kwargs)

    client = crew.client("owner")
    data = b"\x00\x00\x00\x18ftypisom" + os.urandom(3 * 1024 * 1024)
    body = create(client, size=len(data)).json()
    monkeypatch.setattr(WSGIRequest, "read", spy)
    monkeypatch.setattr(WSGIRequest, "body", property(lambda self: pytest.fail("request.body was read")))
    assert put(client, body["url"], data).status_code == 200
    assert sizes and all(s == 1024 * 1024 for s in sizes)


def test_media_payload_makes_no_queries(crew, clips, django_assert_num_queries):
    from apps.media.models import MediaFile
    from apps.media.selectors import media_payload

    from .helpers import ingest

    ingest(clips.v24, owner=crew.owner, project=crew.project)
    media = MediaFile.objects.get()
    with django_assert_num_queries(0):
        data = media_payload(media)
        detail = media_payload(media, detail=True)
    assert set(data) >= {
        "id", "status", "error", "kind", "url", "proxy_url", "thumbnail_url", "filmstrip_url",
        "duration_seconds", "fps", "width", "height", "has_audio", "size",
    }  # fmt: skip
    assert data["url"].startswith(f"/media/{media.storage_key}?")
    assert data["thumbnail_url"].startswith(f"/media/media/{media.pk}/thumbnail.jpg?")
    assert "waveform" in detail and "probe" in detail
    assert media_payload(None) is None
