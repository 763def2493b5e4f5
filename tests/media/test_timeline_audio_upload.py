"""A file uploaded for the audio tracks: placed on the timeline, it is ingested (length,
waveform), and the editors are told when it is ready."""

from __future__ import annotations

import pytest

from apps.media.models import MediaStatus
from apps.timeline import services as timeline_services
from apps.timeline.models import AudioClip
from tests.api.helpers import timeline_revision

from .helpers import API
from .test_uploads_local import _crew_project, upload_bytes  # noqa: F401 - _crew_project: the project uploads name

pytestmark = pytest.mark.django_db


def test_an_uploaded_file_placed_on_the_music_track_is_ingested_and_announced(crew, clips, media_root, on_commit, monkeypatch):
    published = []
    monkeypatch.setattr("apps.core.events.publish", lambda project_id, type, data, **kw: published.append((type, data, kw)))
    client = crew.client("director")
    upload_id = upload_bytes(client, clips.tone.read_bytes(), filename="score.wav", content_type="audio/wav")
    assert client.post(f"{API}/uploads/{upload_id}/complete/", {}, format="json").status_code == 200

    op = {"op": "add_audio", "track": "music", "media": upload_id, "start_frame": 24, "volume": 0.8}
    with on_commit():  # ingest runs on commit (eagerly in tests)
        r = client.patch(
            f"{API}/projects/{crew.project.pk}/timeline/", {"revision": timeline_revision(crew.project), "ops": [op]}, format="json"
        )
    assert r.status_code == 200, r.json()

    clip = AudioClip.objects.select_related("media").get(timeline__project=crew.project)
    assert clip.media.status == MediaStatus.READY, clip.media.error
    assert clip.media.kind == "audio" and clip.media.duration_seconds == pytest.approx(1.0, abs=0.05)
    assert len(clip.media.waveform) >= 50
    # The timeline shows it with its length; the editors were told when it became ready.
    body = client.get(f"{API}/projects/{crew.project.pk}/timeline/").json()
    [music] = [t for t in body["audio_tracks"] if t["track"] == "music"]
    assert music["clips"][0]["media"]["status"] == "ready"
    ready = [d for t, d, _ in published if t == "timeline.changed" and d.get("media") == str(clip.media.pk)]
    assert ready and ready[-1]["media_status"] == "ready" and ready[-1]["revision"] == body["revision"]


def test_media_finishing_with_no_clip_announces_nothing(crew, monkeypatch):
    published = []
    monkeypatch.setattr("apps.core.events.publish", lambda *a, **k: published.append(a))
    from tests.api.helpers import make_take

    take = make_take(crew.shot, author=crew.owner)
    timeline_services.timeline_media_finished(media=take.media)
    assert published == []
