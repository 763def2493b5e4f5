"""Uploads are bounded (issue 11, item 7): an upload names its project and needs a role there
that may add media; quotas on bytes not yet attached; unused uploads are deleted; a single PUT
is refused as soon as it passes its declared size."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.media import services
from apps.media.asgi import UploadBodyLimit
from apps.media.models import MediaFile, Upload
from apps.production.models import Take
from tests.conftest import make_project, make_user

pytestmark = pytest.mark.django_db

API = "/api/v1"
HEAD = b"\x00\x00\x00\x18ftypmp42"  # the start of an MP4: passes the sniff at completion


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    settings.USE_S3 = False
    return root


def create(client, project, *, size=100, filename="clip.mp4"):
    payload = {"filename": filename, "size": size, "content_type": "video/mp4"}
    if project is not None:
        payload["project"] = str(project.pk)
    return client.post(f"{API}/uploads/", payload, format="json")


def send(client, created: dict, data: bytes):
    return client.generic("PUT", created["url"], data, content_type="video/mp4")


def finished_upload(crew, who="owner", size=100) -> Upload:
    """A completed upload into the crew's project, through the API."""
    client = crew.client(who)
    r = create(client, crew.project, size=size)
    assert r.status_code == 201, r.json()
    assert send(client, r.json(), HEAD + b"\x00" * (size - len(HEAD))).status_code == 200
    assert client.post(f"{API}/uploads/{r.json()['id']}/complete/", {}, format="json").status_code == 200
    return Upload.objects.select_related("media").get(pk=r.json()["id"])


# --- the project and the role ----------------------------------------------------------------


def test_an_upload_names_its_project(crew):
    r = create(crew.client("owner"), None)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "validation_error" and "project" in body["fields"]
    r = create(crew.client("owner"), crew.project)
    assert r.status_code == 201 and r.json()["project"] == str(crew.project.pk)


@pytest.mark.parametrize(
    ("who", "status"),
    [("director", 201), ("producer", 201), ("owner", 201), ("artist", 201), ("viewer", 403), ("stranger", 404)],
)
def test_who_may_upload(crew, who, status):
    r = create(crew.client(who), crew.project)
    assert r.status_code == status, r.json()
    if status != 201:
        assert r.json()["code"] in ("permission_denied", "not_found")
        assert not Upload.objects.exists()


def test_an_upload_for_one_project_does_not_become_a_take_in_another(crew):
    upload = finished_upload(crew, who="director")
    other = make_project(crew.director)
    with pytest.raises(services.ValidationError, match="another project"):
        services.upload_consume(actor=crew.director, upload_id=upload.pk, project=other)


# --- quotas ---------------------------------------------------------------------------------


def test_user_quota_at_the_limit_and_one_past(crew, settings):
    settings.MONTAGE_UPLOAD_QUOTA_BYTES = 1000
    settings.MONTAGE_PROJECT_UPLOAD_QUOTA_BYTES = 10_000
    client = crew.client("owner")
    assert create(client, crew.project, size=600).status_code == 201
    assert create(client, crew.project, size=400).status_code == 201  # exactly at the limit
    r = create(client, crew.project, size=1)
    assert r.status_code == 413
    body = r.json()
    assert body["code"] == "upload_quota_exceeded"
    assert "1000 bytes" in body["detail"] and "1 bytes" in body["detail"]  # the figures
    # Someone else in the project still may.
    assert create(crew.client("artist"), crew.project, size=1).status_code == 201


def test_project_quota_at_the_limit_and_one_past(crew, settings):
    settings.MONTAGE_UPLOAD_QUOTA_BYTES = 10_000
    settings.MONTAGE_PROJECT_UPLOAD_QUOTA_BYTES = 1000
    assert create(crew.client("owner"), crew.project, size=500).status_code == 201
    assert create(crew.client("artist"), crew.project, size=500).status_code == 201
    r = create(crew.client("director"), crew.project, size=1)
    assert r.status_code == 413 and r.json()["code"] == "upload_quota_exceeded"
    assert "project" in r.json()["detail"]
    # Another project of the same director is not affected.
    assert create(crew.client("director"), make_project(crew.director), size=1).status_code == 201


def test_attached_and_abandoned_uploads_free_the_quota(crew, settings):
    settings.MONTAGE_UPLOAD_QUOTA_BYTES = 200
    settings.MONTAGE_PROJECT_UPLOAD_QUOTA_BYTES = 10_000
    upload = finished_upload(crew, size=200)
    client = crew.client("owner")
    assert create(client, crew.project, size=1).status_code == 413
    services.upload_consume(actor=crew.owner, upload_id=upload.pk, project=crew.project)  # a take took it
    r = create(client, crew.project, size=200)
    assert r.status_code == 201
    assert create(client, crew.project, size=1).status_code == 413
    Upload.objects.filter(pk=r.json()["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))  # never sent
    assert create(client, crew.project, size=200).status_code == 201


# --- orphans --------------------------------------------------------------------------------


def test_unused_uploads_are_deleted_after_the_orphan_hours(crew, media_root, settings, django_capture_on_commit_callbacks):
    settings.MONTAGE_UPLOAD_ORPHAN_HOURS = 24
    orphan = finished_upload(crew)
    taken = finished_upload(crew)
    services.upload_consume(actor=crew.owner, upload_id=taken.pk, project=crew.project)
    Take.objects.create(shot=crew.shot, number=1, media=taken.media, author=crew.owner, source="upload")
    recent = finished_upload(crew)
    paths = {u.pk: media_root / u.storage_key for u in (orphan, taken, recent)}
    assert all(p.exists() for p in paths.values())

    # 25 hours pass for the first two (simulated: their last change moves back).
    Upload.objects.filter(pk__in=[orphan.pk, taken.pk]).update(updated_at=timezone.now() - timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):  # files go once the rows are gone
        assert services.upload_reap_orphans() == 1

    assert not Upload.objects.filter(pk=orphan.pk).exists()
    assert not MediaFile.objects.filter(pk=orphan.media_id).exists()
    assert not paths[orphan.pk].exists()
    for kept in (taken, recent):  # attached, or not old enough
        assert Upload.objects.filter(pk=kept.pk).exists() and paths[kept.pk].exists()


def test_an_upload_placed_as_a_reference_image_is_not_an_orphan(crew, media_root):
    upload = finished_upload(crew, who="director")
    r = crew.client("director").post(
        f"{API}/projects/{crew.project.pk}/references/", {"tag": "mara", "images": [str(upload.pk)]}, format="json"
    )
    assert r.status_code == 201, r.json()
    Upload.objects.filter(pk=upload.pk).update(updated_at=timezone.now() - timedelta(hours=48))
    assert services.upload_reap_orphans() == 0
    assert (media_root / upload.storage_key).exists()


def test_an_upload_used_as_a_generation_input_is_not_an_orphan(crew, media_root, tmp_path):
    """The job's provenance points at its input image: re-running or re-reading that take
    needs the file long after the orphan hours."""
    from tests.generation.test_local_jobs import make_upload

    upload = make_upload(crew.owner, tmp_path)
    upload.project = crew.project
    upload.save(update_fields=["project"])
    r = crew.client("owner").post(
        f"{API}/shots/{crew.shot.pk}/generate/",
        {"backend": "local-animatic", "model": "ken-burns", "input_image": str(upload.pk), "duration_frames": 12},
        format="json",
    )
    assert r.status_code == 202, r.json()
    Upload.objects.filter(pk=upload.pk).update(updated_at=timezone.now() - timedelta(hours=48))
    assert services.upload_reap_orphans() == 0
    assert MediaFile.objects.get(pk=upload.media_id).project_id == crew.project.pk
    assert (media_root / upload.storage_key).exists()
    # ...and it no longer counts against the quotas of bytes nobody uses.
    assert not services.unattached_uploads().filter(pk=upload.pk).exists()


def test_the_reaper_runs_the_orphan_cleanup(crew, media_root, django_capture_on_commit_callbacks):
    orphan = finished_upload(crew)
    Upload.objects.filter(pk=orphan.pk).update(updated_at=timezone.now() - timedelta(hours=100))
    with django_capture_on_commit_callbacks(execute=True):
        services.media_reap_stale()
    assert not Upload.objects.filter(pk=orphan.pk).exists()
    assert not (media_root / orphan.storage_key).exists()


# --- a PUT past its declared size -----------------------------------------------------------


def test_put_past_the_declared_size_is_refused_and_nothing_kept(crew, media_root):
    client = crew.client("owner")
    created = create(client, crew.project, size=100).json()
    r = send(client, created, HEAD + b"x" * 200)
    assert r.status_code == 413 and r.json()["code"] == "upload_too_large"
    upload = Upload.objects.get(pk=created["id"])
    assert upload.received_bytes == 0 and not (media_root / upload.storage_key).exists()
    incoming = media_root / ".incoming"
    assert not incoming.exists() or not any(incoming.iterdir())


def test_streamed_body_is_cut_off_at_the_first_chunk_past_the_size(crew, media_root):
    upload = services.upload_create(actor=crew.owner, project_id=crew.project.pk, filename="a.mp4", size=1024 * 1024 + 10)

    class Endless:
        reads = 0

        def read(self, n):
            Endless.reads += 1
            return b"\x01" * n

    with pytest.raises(services.UploadTooLarge):
        services.upload_receive(actor=crew.owner, upload_id=upload.pk, stream=Endless(), content_length=None)
    assert Endless.reads == 2  # 1 MB, then the chunk that passed the size: no more
    assert not any((media_root / ".incoming").iterdir())


def _asgi_put(app, path: str, chunks: int, chunk_size: int, content_length: int | None = None):
    """PUT ``chunks`` × ``chunk_size`` bytes through ``app``; returns (status, body, chunks the
    client had to send)."""
    sent = {"chunks": 0}
    out: list[dict] = []

    async def receive():
        sent["chunks"] += 1
        more = sent["chunks"] < chunks
        return {"type": "http.request", "body": b"\x01" * chunk_size, "more_body": more}

    async def send(message):
        out.append(message)

    headers = [(b"content-type", b"video/mp4")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {"type": "http", "method": "PUT", "path": path, "headers": headers, "query_string": b""}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in out if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in out if m["type"] == "http.response.body")
    return start["status"], body, sent["chunks"]


async def _like_django(scope, receive, send):
    """Reads the whole body before answering, as Django's ASGI handler does; a disconnect
    while reading ends it without an answer."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"stored"})


@pytest.mark.django_db(transaction=True)
def test_the_server_stops_reading_a_body_past_its_declared_size(crew):
    """In front of Django (which would read the whole body first) the guard counts the bytes
    and answers 413 after the first chunk that passes the size, without reading the rest."""
    upload = services.upload_create(actor=crew.owner, project_id=crew.project.pk, filename="a.mp4", size=250_000)
    app = UploadBodyLimit(_like_django)
    path = f"{API}/uploads/{upload.pk}/data/"

    status, body, read = _asgi_put(app, path, chunks=1000, chunk_size=100_000)
    assert status == 413 and b"upload_too_large" in body
    assert read == 3  # 100 kB, 200 kB, 300 kB > 250 kB: stop

    status, _, read = _asgi_put(app, path, chunks=1000, chunk_size=100_000, content_length=100_000_000)
    assert status == 413 and read == 0  # the declared length alone is enough to refuse

    status, body, read = _asgi_put(app, path, chunks=2, chunk_size=125_000, content_length=250_000)
    assert status == 200 and body == b"stored" and read == 2  # exactly the size: through to Django

    # Other requests are not touched.
    status, _, read = _asgi_put(app, f"{API}/uploads/{make_user().pk}/data/", chunks=3, chunk_size=10)
    assert status == 200 and read == 3
