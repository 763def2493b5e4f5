"""Admin pages, and two takes racing for one upload."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection

from apps.media import services
from apps.media.models import MediaFile, Upload

from .helpers import stored_media


@pytest.mark.django_db
def test_admin_pages(client, clips, monkeypatch):
    from apps.media.tasks import ingest_media

    sent = []
    monkeypatch.setattr(ingest_media, "delay", lambda media_id: sent.append(media_id))
    admin = User.objects.create_superuser("boss", "boss@example.com", "pw-Montage-42")
    client.force_login(admin)
    media = stored_media(clips.v24, owner=admin)
    from tests.conftest import make_project

    services.upload_create(actor=admin, project_id=make_project(admin).pk, filename="a.mp4", size=10, content_type="video/mp4")
    assert client.get("/admin/media/mediafile/").status_code == 200
    assert client.get(f"/admin/media/mediafile/{media.pk}/change/").status_code == 200
    assert client.get("/admin/media/upload/").status_code == 200
    assert client.get(f"/admin/media/upload/{Upload.objects.get().pk}/change/").status_code == 200
    MediaFile.objects.filter(pk=media.pk).update(status="failed", error="x", ingest_attempts=3)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        r = client.post("/admin/media/mediafile/", {"action": "reingest", "_selected_action": [str(media.pk)]})
    assert r.status_code == 302
    media.refresh_from_db()
    assert media.status == "pending" and media.ingest_attempts == 0 and sent == [str(media.pk)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_takes_racing_for_one_upload(crew, clips, monkeypatch):
    from apps.media.tasks import ingest_media

    monkeypatch.setattr(ingest_media, "delay", lambda media_id: None)
    data = clips.v24.read_bytes()
    upload = services.upload_create(actor=crew.owner, project_id=crew.project.pk, filename="a.webm", size=len(data), content_type="video/webm")

    class Body:
        def __init__(self):
            self.data = data

        def read(self, n):
            chunk, self.data = self.data[:n], self.data[n:]
            return chunk

    services.upload_receive(actor=crew.owner, upload_id=upload.pk, stream=Body(), content_length=len(data))
    services.upload_complete(actor=crew.owner, upload_id=upload.pk)

    barrier = threading.Barrier(4)
    results: list[str] = []

    def consume():
        try:
            barrier.wait()
            services.upload_consume(actor=crew.owner, upload_id=upload.pk, project=crew.project)
            results.append("ok")
        except services.ValidationError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == ["ok", "refused", "refused", "refused"]
