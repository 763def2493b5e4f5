"""OTIO, EDL, SRT, credits and manifest from a plan (no rendering needed)."""

from __future__ import annotations

import json

import opentimelineio as otio
import pytest

from apps.production.models import Shot
from apps.rendering.deliverables import credits, edl, layout, manifest, srt
from apps.rendering.deliverables import otio as otio_mod
from apps.rendering.planner import build_plan
from apps.timeline.models import AudioClip, Timeline
from tests.rendering.conftest import stored_media


def url_for(key: str) -> str:
    return f"https://studio.example/media/{key}"


@pytest.fixture
def plan(film, clips):
    project = film.crew.project
    timeline = Timeline.objects.get(project=project)
    voice = stored_media(clips.voice, project=project)
    score = stored_media(clips.yellow, project=project)
    AudioClip.objects.create(timeline=timeline, track="narration", media=voice, start_frame=48, text="Hello, keeper.\n\nIt is late.")
    AudioClip.objects.create(timeline=timeline, track="narration", media=voice, start_frame=10, text="First words.")
    AudioClip.objects.create(timeline=timeline, track="music", media=score, start_frame=0)
    # Overlaps the first music clip (a second lane) and runs past the film's end (cut there).
    AudioClip.objects.create(timeline=timeline, track="music", media=score, start_frame=80)
    AudioClip.objects.create(timeline=timeline, track="music", media=score, start_frame=20)
    return build_plan(project=project)


def test_layout_places_every_shot_on_the_film_timeline(plan):
    placed = layout(plan)
    assert [(p.record_in, p.record_out) for p in placed] == [(0, 24), (18, 34), (34, 58), (58, 88)]
    assert placed[-1].record_out == plan.frames == 88


def test_otio_reads_back_with_the_film_length_and_provenance(plan, film):
    text = otio_mod.write_otio(plan, url_for=url_for)
    timeline = otio.adapters.read_from_string(text, "otio_json")
    assert timeline.duration().to_frames() == plan.frames
    assert timeline.duration().rate == 24
    video = timeline.video_tracks()[0]
    assert video.duration().to_frames() == plan.frames
    clips = list(video.find_clips())
    assert len(clips) == 4
    first = clips[0]
    assert first.media_reference.target_url == url_for(film.takes[0].media.storage_key)
    meta = first.metadata["montage"]
    assert (meta["segment"], meta["shot"], meta["artist"], meta["backend"], meta["model"], meta["seed"]) == (
        1, 1, film.crew.owner.username, "runway", "gen4_turbo", 1234)
    assert meta["prompt"] == "a lighthouse at dusk"
    # The crossfade is a Transition centred on the cut; clips + transition = the film.
    transitions = [i for i in video if isinstance(i, otio.schema.Transition)]
    assert len(transitions) == 1
    assert transitions[0].in_offset.to_frames() + transitions[0].out_offset.to_frames() == 6
    # The trimmed shot starts at its in point (4) plus the half of the fade before the cut.
    assert clips[1].source_range.start_time.to_frames() == 4 + 3
    # The slate is a generator clip.
    slate = clips[3]
    assert isinstance(slate.media_reference, otio.schema.GeneratorReference)
    assert slate.media_reference.parameters["line2"] == "NOT YET APPROVED"
    # Audio: narration and two lanes of music, none longer than the film.
    names = sorted(t.name for t in timeline.audio_tracks())
    assert names == ["music", "music 2", "narration"]
    assert all(t.duration().to_frames() <= plan.frames for t in timeline.audio_tracks())


def test_otio_rate_is_the_project_rate(film):
    project = film.crew.project
    project.fps_num, project.fps_den = 24000, 1001
    project.save()
    plan = build_plan(project=project)
    timeline = otio.adapters.read_from_string(otio_mod.write_otio(plan, url_for=url_for), "otio_json")
    assert timeline.duration().rate == pytest.approx(24000 / 1001)
    assert timeline.duration().to_frames() == plan.frames


def test_edl_parses_back_with_the_cmx_adapter(plan):
    text = edl.write_edl(plan, url_for=url_for)
    assert text.startswith("TITLE:")
    assert text.isascii()
    back = edl.read_edl(text, rate=24)
    track = back.tracks[0]
    assert track.duration().to_frames() == plan.frames
    clips = list(track.find_clips())
    assert len(clips) == 4
    assert clips[0].metadata["cmx_3600"]["reel"] == "S001001"
    # The slate reads back as black (reel BL).
    assert clips[-1].media_reference.generator_kind == "black"


def test_edl_clip_names_are_safe(film):
    Shot.objects.filter(pk=film.shots[0].pk).update(title="Le phare · «nuit»\nline two")
    plan = build_plan(project=film.crew.project)
    text = edl.write_edl(plan, url_for=url_for)
    assert text.isascii()
    assert "FROM CLIP NAME:  S01 SH01 Le phare - nuit line two" in text
    edl.read_edl(text, rate=24)


def test_srt_has_the_narration_at_its_timecode(plan):
    text = srt.write_srt(plan)
    blocks = text.strip().split("\n\n")
    assert blocks[0] == "1\n00:00:00,417 --> 00:00:01,417\nFirst words."
    # 48 frames = 2 s; 1 s of voice; the blank line inside the text is dropped.
    assert blocks[1] == "2\n00:00:02,000 --> 00:00:03,000\nHello, keeper.\nIt is late."


def test_srt_timecodes_at_ntsc_rates_are_exact_to_the_millisecond():
    assert srt.timecode(srt.frame_to_ms(48, 24000, 1001)) == "00:00:02,002"
    assert srt.timecode(srt.frame_to_ms(1, 30000, 1001)) == "00:00:00,033"
    assert srt.timecode(srt.frame_to_ms(24 * 3600 + 24 * 61, 24, 1)) == "01:01:01,000"


def test_credits_list_the_crew(plan, film):
    text = credits.write_credits(plan)
    crew = film.crew
    assert text.startswith(crew.project.title)
    assert f"Directed by\n  {crew.director.username}" in text
    assert f"Produced by\n  {crew.producer.username}" in text
    assert f"  {crew.owner.username} - 1. Owned" in text
    assert "runway" in text and "gen4_turbo" in text


def test_manifest_has_every_shot(plan, film):
    data = json.loads(manifest.write_manifest(plan, export={"id": "x"}))
    assert data["frames"] == plan.frames
    assert [(s["segment"], s["shot"]) for s in data["shots"]] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    first = data["shots"][0]
    assert first["take_id"] == str(film.takes[0].pk)
    assert first["media"]["sha256"] == film.takes[0].media.sha256
    assert (first["artist"], first["backend"], first["model"], first["prompt"], first["seed"], first["cost"]) == (
        film.crew.owner.username, "runway", "gen4_turbo", "a lighthouse at dusk", 1234, "0.5")
    assert first["approvals"]["approved_by"] == film.crew.director.username
    assert data["shots"][3]["slate"] is True and data["shots"][3]["take_id"] is None
    assert len(data["audio"]) == 5
