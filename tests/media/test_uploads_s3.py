"""The upload flow against S3 (moto's server): presigned PUT, multipart, ingest from S3."""

from __future__ import annotations

import pytest
import requests

from apps.media import services
from apps.media.models import MediaStatus, Upload, UploadMethod, UploadStatus

from .helpers import API, error

pytestmark = pytest.mark.django_db

# Every upload names its project: the tests here upload into the crew's project.
_project: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _crew_project(crew):
    _project["id"] = str(crew.project.pk)

MB = 1024 * 1024


def create(client, *, size, filename="clip.mp4", content_type="video/mp4"):
    r = client.post(f"{API}/uploads/", {"project": _project["id"], "filename": filename, "size": size, "content_type": content_type}, format="json")
    assert r.status_code == 201, r.json()
    return r.json()


def test_presigned_single_put(crew, clips, s3, on_commit):
    client = crew.client("owner")
    data = clips.v25_audio.read_bytes()
    body = create(client, size=len(data))
    assert body["mode"] == "s3" and body["method"] == "PUT"
    assert body["url"].startswith(s3.endpoint) and "X-Amz-Signature" in body["url"]
    r = requests.put(body["url"], data=data, headers=body["headers"], timeout=10)
    assert r.status_code == 200, r.text
    upload = Upload.objects.get(pk=body["id"])
    assert s3.size(upload.storage_key) == len(data)

    r = client.post(f"{API}/uploads/{body['id']}/complete/", {}, format="json")
    assert r.status_code == 200, r.json()
    media = r.json()["media"]
    assert media["status"] == "pending" and media["url"].startswith(s3.endpoint)
    assert client.post(f"{API}/uploads/{body['id']}/complete/", {}, format="json").json()["media"]["id"] == media["id"]

    with on_commit():
        consumed = services.upload_consume(actor=crew.owner, upload_id=body["id"], project=crew.project)
    consumed.refresh_from_db()
    assert consumed.status == MediaStatus.READY, consumed.error
    assert consumed.fps == 25 and consumed.has_audio and (consumed.width, consumed.height) == (320, 240)
    keys = s3.object_keys()
    for key in (consumed.proxy_key, consumed.thumbnail_key, consumed.filmstrip_key):
        assert key in keys
    assert s3.client.head_object(Bucket=s3.bucket, Key=consumed.proxy_key)["ContentType"] == "video/mp4"
    # URLs are presigned GETs that work.
    from apps.media.selectors import media_payload

    payload = media_payload(consumed)
    got = requests.get(payload["thumbnail_url"], timeout=10)
    assert got.status_code == 200 and got.content[:2] == b"\xff\xd8"


def test_multipart(crew, s3, settings, clips, on_commit):
    settings.MONTAGE_UPLOAD_MULTIPART_THRESHOLD = 6 * MB
    settings.MONTAGE_UPLOAD_PART_SIZE = 5 * MB
    video = clips.v24.read_bytes()
    # A real (small) WebM followed by padding: 11 MB → parts of 5 + 5 + 1 MB. Matroska readers
    # stop at the end of the segment, so ingest still sees a 1 s clip.
    data = video + b"\x00" * (11 * MB - len(video))
    client = crew.client("owner")
    body = create(client, size=len(data), filename="big.webm", content_type="video/webm")
    assert body["mode"] == "s3_multipart" and body["url"] is None
    assert body["part_size"] == 5 * MB
    assert [p["number"] for p in body["parts"]] == [1, 2, 3]
    assert [p["size"] for p in body["parts"]] == [5 * MB, 5 * MB, 1 * MB]

    etags = []
    for part in body["parts"]:
        start = (part["number"] - 1) * body["part_size"]
        if part["number"] == 3:
            break  # leave the last part out for now
        r = requests.put(part["url"], data=data[start : start + part["size"]], timeout=10)
        assert r.status_code == 200, r.text
        etags.append({"number": part["number"], "etag": r.headers["ETag"]})
    r = error(client.post(f"{API}/uploads/{body['id']}/complete/", {"parts": etags}, format="json"), 400, "upload_incomplete")
    assert "part 3" in r["detail"]

    last = body["parts"][2]
    r = requests.put(last["url"], data=data[10 * MB :], timeout=10)
    etags.append({"number": 3, "etag": r.headers["ETag"]})
    bad = [dict(etags[0], etag='"0000"'), *etags[1:]]
    error(client.post(f"{API}/uploads/{body['id']}/complete/", {"parts": bad}, format="json"), 400, "upload_incomplete")

    r = client.post(f"{API}/uploads/{body['id']}/complete/", {"parts": etags}, format="json")
    assert r.status_code == 200, r.json()
    upload = Upload.objects.get(pk=body["id"])
    assert upload.method == UploadMethod.S3_MULTIPART and upload.status == UploadStatus.COMPLETE
    assert s3.size(upload.storage_key) == len(data)
    again = client.post(f"{API}/uploads/{body['id']}/complete/", {"parts": etags}, format="json")
    assert again.status_code == 200

    with on_commit():
        media = services.upload_consume(actor=crew.owner, upload_id=body["id"], project=crew.project)
    media.refresh_from_db()
    assert media.status == MediaStatus.READY, media.error
    assert media.fps == 24 and media.size == len(data)


def test_multipart_complete_without_etags_uses_what_s3_has(crew, s3, settings):
    settings.MONTAGE_UPLOAD_MULTIPART_THRESHOLD = 6 * MB
    settings.MONTAGE_UPLOAD_PART_SIZE = 5 * MB
    data = b"\x1a\x45\xdf\xa3" + b"\x01" * (7 * MB - 4)
    client = crew.client("owner")
    body = create(client, size=len(data), filename="x.mkv", content_type="video/x-matroska")
    for part in body["parts"]:
        start = (part["number"] - 1) * body["part_size"]
        assert requests.put(part["url"], data=data[start : start + part["size"]], timeout=10).status_code == 200
    r = client.post(f"{API}/uploads/{body['id']}/complete/", {}, format="json")
    assert r.status_code == 200, r.json()


def test_s3_truncated_and_oversized(crew, s3, clips):
    client = crew.client("owner")
    data = clips.v25_audio.read_bytes()
    body = create(client, size=len(data))
    complete = f"{API}/uploads/{body['id']}/complete/"
    error(client.post(complete, {}, format="json"), 400, "upload_incomplete")  # nothing there yet
    requests.put(body["url"], data=data[:1000], headers=body["headers"], timeout=10)
    error(client.post(complete, {}, format="json"), 400, "upload_incomplete")
    assert Upload.objects.get(pk=body["id"]).media_id is None
    # Too many bytes: refused and discarded.
    requests.put(body["url"], data=data + b"extra", headers=body["headers"], timeout=10)
    error(client.post(complete, {}, format="json"), 400, "validation_error")
    assert Upload.objects.get(pk=body["id"]).storage_key not in s3.object_keys()
    # The right bytes: fine.
    requests.put(body["url"], data=data, headers=body["headers"], timeout=10)
    assert client.post(complete, {}, format="json").status_code == 200


def test_s3_non_media_is_rejected_and_deleted(crew, s3, clips):
    client = crew.client("owner")
    data = clips.notes.read_bytes()
    body = create(client, size=len(data), filename="notes.mp4")
    requests.put(body["url"], data=data, headers=body["headers"], timeout=10)
    error(client.post(f"{API}/uploads/{body['id']}/complete/", {}, format="json"), 400, "unsupported_media")
    assert s3.object_keys() == []


def test_s3_others_get_404(crew, s3):
    body = create(crew.client("owner"), size=100)
    error(crew.client("artist").post(f"{API}/uploads/{body['id']}/complete/", {}, format="json"), 404, "not_found")
    # The local data endpoint is not for S3 uploads.
    r = crew.client("owner").generic("PUT", f"{API}/uploads/{body['id']}/data/", b"x" * 100, content_type="video/mp4")
    error(r, 400, "validation_error")


def test_expired_multipart_upload_is_aborted(crew, s3, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.MONTAGE_UPLOAD_MULTIPART_THRESHOLD = 6 * MB
    settings.MONTAGE_UPLOAD_PART_SIZE = 5 * MB
    upload = services.upload_create(actor=crew.owner, project_id=crew.project.pk, filename="a.mp4", size=7 * MB, content_type="video/mp4")
    assert s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads")
    Upload.objects.filter(pk=upload.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    services.media_reap_stale()
    assert not s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads")
    upload.refresh_from_db()
    assert upload.status == UploadStatus.FAILED


def test_public_endpoint_for_browser_urls(crew, s3, settings, clips):
    """Inside docker-compose the storage endpoint is http://minio:9000; browsers get URLs signed
    for AWS_S3_PUBLIC_ENDPOINT_URL instead."""
    public = s3.endpoint.replace("127.0.0.1", "localhost")
    settings.AWS_S3_PUBLIC_ENDPOINT_URL = public
    client = crew.client("owner")
    data = clips.v24.read_bytes()
    body = create(client, size=len(data), filename="a.webm", content_type="video/webm")
    assert body["url"].startswith(public + "/")
    assert requests.put(body["url"], data=data, headers=body["headers"], timeout=10).status_code == 200
    r = client.post(f"{API}/uploads/{body['id']}/complete/", {}, format="json")
    assert r.status_code == 200, r.json()
    url = r.json()["media"]["url"]
    assert url.startswith(public + "/") and "X-Amz-Signature" in url
    assert requests.get(url, timeout=10).content == data
