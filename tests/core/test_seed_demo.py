"""The demo's footage: what `make run` shows on first start (takes made by the built-in
backend, picks on the timeline, a music bed with its waveform, a marker)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.production.models import Take
from apps.projects.models import Project
from apps.timeline.selectors import timeline_get


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MONTAGE_RENDER_CACHE_DIR = str(tmp_path / "render-cache")
    return tmp_path / "media"


def test_first_seed_makes_footage_music_and_a_marker(transactional_db, media_root, capsys):
    call_command("seed_demo")
    out = capsys.readouterr()
    assert "Demo footage skipped" not in out.err and "did not render" not in out.err, out.err
    project = Project.objects.get(slug="the-lighthouse")

    takes = Take.objects.filter(shot__segment__project=project).select_related("shot__segment", "media")
    assert {(t.shot.segment.position, t.shot.position, t.review_state) for t in takes} == {
        (0, 0, "approved"), (0, 1, "approved"), (1, 0, "submitted"),
    }
    assert all(t.status == "ready" and t.media.status == "ready" and t.media.proxy_key for t in takes)
    assert all(t.provenance.get("backend") == "local-animatic" for t in takes)

    timeline = timeline_get(project=project)
    first = timeline["segments"][0]
    assert [s["take"] is not None for s in first["shots"]] == [True, True]
    [music] = [t["clips"] for t in timeline["audio_tracks"] if t["track"] == "music"]
    assert len(music) == 1 and music[0]["media"]["status"] == "ready"
    assert music[0]["fade_in_frames"] == 48 and music[0]["volume"] == pytest.approx(0.6)
    assert music[0]["media"]["duration_seconds"] == pytest.approx(timeline["duration_frames"] / 24, abs=0.05)
    assert [m["label"] for m in timeline["markers"]] == ["Music swells as the lamp is relit"]

    call_command("seed_demo")  # again: nothing more is made
    assert Take.objects.filter(shot__segment__project=project).count() == 3
