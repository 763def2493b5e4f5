"""OTIO, EDL, SRT, credits and manifest from a plan (no rendering needed)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

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


# --------------------------------------------------------------------------------------------
# Transitions, markers and the .otioz bundle
# --------------------------------------------------------------------------------------------


@pytest.fixture
def edited(film):
    """The film with a crossfade (6 frames into shot 2), a fade through black (10 frames into
    the storm: the sea fades down over 5, the storm up over 5) and two markers."""
    from apps.timeline.models import Marker

    Shot.objects.filter(pk=film.shots[3].pk).update(transition_kind="fade_black", transition_frames=10)
    timeline = Timeline.objects.get(project=film.crew.project)
    Marker.objects.create(timeline=timeline, frame=12, label="Music cue", author=film.crew.director)
    Marker.objects.create(timeline=timeline, frame=70, label="Storm hits", author=film.crew.owner)
    return build_plan(project=film.crew.project, include_unapproved=True)


def _items(track):
    return [("T", i.metadata["montage"]["kind"], i.in_offset.to_frames(), i.out_offset.to_frames())
            if isinstance(i, otio.schema.Transition) else ("C", i.name) for i in track]


def test_otio_has_the_crossfade_the_fade_through_black_and_the_markers(edited):
    timeline = otio.adapters.read_from_string(otio_mod.write_otio(edited, url_for=url_for), "otio_json")
    video = timeline.video_tracks()[0]
    assert _items(video) == [
        ("C", "S01 SH01 Lighthouse"),
        ("T", "crossfade", 3, 3),
        ("C", "S01 SH02 Keeper"),
        ("C", "S02 SH01 Sea"),
        ("T", "fade_black", 0, 5),
        ("C", "BLACK"),
        ("T", "fade_black", 5, 0),
        ("C", "S02 SH02 Storm"),
    ]
    transitions = [i for i in video if isinstance(i, otio.schema.Transition)]
    assert all(t.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve for t in transitions)
    # Still exactly the rendered film's length, every shot where the render puts it.
    placed = layout(edited)
    assert video.duration().to_frames() == edited.frames == placed[-1].record_out
    clips = list(video.find_clips())
    black = clips[3]
    assert isinstance(black.media_reference, otio.schema.GeneratorReference)
    assert black.media_reference.generator_kind == "black" and black.duration().to_frames() == 10
    # The sea (24 frames at 34..58) shows 19 of its own frames then dissolves down over its last 5.
    assert video.range_of_child(clips[2]).start_time.to_frames() == 34
    assert clips[2].source_range.duration.to_frames() == 19
    # The storm starts 5 frames late: its first 5 are the fade up, as handles of the dissolve.
    assert placed[3].record_in == 58
    assert video.range_of_child(clips[4]).start_time.to_frames() == 58 + 5
    assert clips[4].source_range.start_time.to_frames() == 5
    # Markers: on the timeline, at their frame, with their label.
    markers = [(m.name, m.marked_range.start_time.to_frames()) for m in timeline.tracks.markers]
    assert markers == [("Music cue", 12), ("Storm hits", 70)]


def test_a_fade_into_the_first_shot_fades_up_from_black(film):
    Shot.objects.filter(pk=film.shots[0].pk).update(transition_kind="fade_black", transition_frames=8)
    plan = build_plan(project=film.crew.project)
    video = otio.adapters.read_from_string(otio_mod.write_otio(plan, url_for=url_for), "otio_json").video_tracks()[0]
    assert _items(video)[:3] == [("C", "BLACK"), ("T", "fade_black", 4, 0), ("C", "S01 SH01 Lighthouse")]
    assert video.duration().to_frames() == plan.frames


def test_edl_has_dissolves_black_and_locators(edited):
    text = edl.write_edl(edited, url_for=url_for)
    events = [line.split() for line in text.splitlines() if line[:3].isdigit()]
    dissolves = [(e[1], e[3], e[4]) for e in events if e[3] == "D"]
    assert dissolves == [("S001002", "D", "006"), ("BL", "D", "005"), ("S002002", "D", "005")]
    assert "* LOC: 00:00:00:12 RED     MUSIC CUE" in text
    assert "STORM HITS" in text
    back = edl.read_edl(text, rate=24)
    track = back.tracks[0]
    assert track.duration().to_frames() == edited.frames
    kinds = [t.transition_type for t in track if isinstance(t, otio.schema.Transition)]
    assert kinds == [otio.schema.TransitionTypes.SMPTE_Dissolve] * 3
    names = sorted(m.name for c in track.find_clips() for m in c.markers)
    assert names == ["MUSIC CUE", "STORM HITS"]


def test_otioz_bundles_every_clips_media_with_relative_references(edited, tmp_path, film, clips):
    from django.core.files.storage import default_storage

    project = film.crew.project
    AudioClip.objects.create(timeline=Timeline.objects.get(project=project), track="music",
                             media=stored_media(clips.voice, project=project), start_frame=0)
    plan = build_plan(project=project, include_unapproved=True)
    out = otio_mod.write_otioz(plan, tmp_path / "cut.otioz", local_file=lambda key: Path(default_storage.path(key)))

    timeline = otio.adapters.read_from_file(str(out))
    assert timeline.video_tracks()[0].duration().to_frames() == plan.frames
    assert [m.name for m in timeline.tracks.markers] == ["Music cue", "Storm hits"]
    refs = [c.media_reference for c in timeline.find_clips() if isinstance(c.media_reference, otio.schema.ExternalReference)]
    assert len(refs) == 5  # four takes, one music file
    with zipfile.ZipFile(out) as bundle:
        inside = set(bundle.namelist())
        for ref in refs:
            assert not ref.target_url.startswith(("/", "file:", "http")), ref.target_url
            assert ref.target_url in inside
        # The bytes inside are the takes' own files.
        first = refs[0].target_url
        assert hashlib.sha256(bundle.read(first)).hexdigest() == film.takes[0].media.sha256
    # Unpacked, every reference resolves relative to the bundle.
    (tmp_path / "x").mkdir()
    otio.adapters.read_from_file(str(out), extract_to_directory=str(tmp_path / "x"))
    assert all((tmp_path / "x" / ref.target_url).is_file() for ref in refs)


def test_otioz_refuses_a_bundle_past_the_size_limit(edited, tmp_path):
    from django.core.files.storage import default_storage

    with pytest.raises(otio_mod.BundleTooLarge):
        otio_mod.write_otioz(edited, tmp_path / "cut.otioz", local_file=lambda key: Path(default_storage.path(key)), max_bytes=1000)
    assert not (tmp_path / "cut.otioz").exists()


def test_credits_name_people_by_display_name_and_list_the_sound(film, clips):
    crew = film.crew
    project = crew.project
    crew.director.first_name, crew.director.last_name = "Dana", "Reyes"
    crew.director.save()
    crew.owner.first_name = "Ana Lima"
    crew.owner.save()
    timeline = Timeline.objects.get(project=project)
    # An uploaded score (the producer's file), and a speech take by the owner placed as narration.
    score = stored_media(clips.yellow, project=project, owner=crew.producer)
    score.original_name = "night-tide.mp3"
    score.save()
    AudioClip.objects.create(timeline=timeline, track="music", media=score, start_frame=0)
    from tests.rendering.conftest import real_take

    speech = real_take(
        film.shots[0], clips.voice, author=crew.owner, approved=False,
        provenance={"backend": "local-speech", "model": "espeak-ng", "kind": "speech", "prompt": "The light went out.",
                    "params": {"voice": "en-us"}},
    )
    AudioClip.objects.create(timeline=timeline, track="narration", media=speech.media, start_frame=10)
    sfx = real_take(
        film.shots[1], clips.voice, author=crew.artist, approved=False,
        provenance={"backend": "elevenlabs", "model": "eleven_text_to_sound_v2", "kind": "sound_effect", "prompt": "gulls"},
    )
    AudioClip.objects.create(timeline=timeline, track="effects", media=sfx.media, start_frame=20)

    text = credits.write_credits(build_plan(project=project))
    assert "Directed by\n  Dana Reyes\n" in text
    assert "  Ana Lima - 1. Owned" in text
    assert f"Produced by\n  {crew.producer.username}\n" in text  # no display name: the username
    assert f'Music\n  "night-tide.mp3" - uploaded by {crew.producer.username}\n' in text
    assert 'Voices\n  "The light went out." - voice en-us, local-speech (espeak-ng), by Ana Lima\n' in text
    assert f'Sound effects\n  "gulls" - elevenlabs (eleven_text_to_sound_v2), by {crew.artist.username}\n' in text
    assert "local-speech" in text.split("Made with\n")[1]


def test_manifest_lists_the_markers(edited):
    data = json.loads(manifest.write_manifest(edited))
    assert [(m["frame"], m["label"]) for m in data["markers"]] == [(12, "Music cue"), (70, "Storm hits")]


def test_a_segment_export_keeps_the_markers_inside_it_counted_from_its_start(film):
    from apps.timeline.models import Marker

    timeline = Timeline.objects.get(project=film.crew.project)
    Marker.objects.create(timeline=timeline, frame=12, label="In segment 1")
    Marker.objects.create(timeline=timeline, frame=40, label="In segment 2")
    segment = film.shots[2].segment
    plan = build_plan(project=film.crew.project, segment=segment)
    # Segment 2 starts at frame 34 of the film.
    assert [(m.frame, m.label) for m in plan.markers] == [(6, "In segment 2")]
