"""The render plan: picks, unapproved takes, slates, trims, transitions, audio and credits —
and the exported length always equals what the timeline shows."""

from __future__ import annotations

from apps.production.models import Shot
from apps.rendering.planner import build_plan, plan_from_dict, plan_to_dict
from apps.timeline.models import AudioClip, Timeline
from apps.timeline.selectors import timeline_get
from tests.conftest import make_segment, make_shot
from tests.rendering.conftest import real_take, stored_media


def shots_of(plan):
    return [s for seg in plan.segments for s in seg.shots]


def test_the_pick_is_used_and_a_shot_without_one_is_a_slate(film):
    plan = build_plan(project=film.crew.project)
    shots = shots_of(plan)
    assert [s.take_id for s in shots] == [str(film.takes[0].pk), str(film.takes[1].pk), str(film.takes[2].pk), None]
    slate = shots[3]
    assert slate.source is None
    assert (slate.slate.line1, slate.slate.line2) == ("SEGMENT 2 · SHOT 2", "NOT YET APPROVED")
    assert slate.frames == 30  # the shot's planned length
    assert shots[0].source.sha256 == film.takes[0].media.sha256
    assert shots[0].source.storage_key == film.takes[0].media.storage_key


def test_include_unapproved_uses_the_latest_ready_take(film, clips):
    s4 = film.shots[3]
    newer = real_take(s4, clips.red, author=film.crew.artist, approved=False)
    real_take(s4, clips.green, author=film.crew.artist, approved=False, status="processing")  # not ready: skipped
    plan = build_plan(project=film.crew.project, include_unapproved=True)
    last = shots_of(plan)[3]
    assert last.take_id == str(newer.pk)
    assert last.frames == 24  # the take's own length (1 s at 24 fps)
    # A shot with no ready take at all still gets a slate.
    empty = make_shot(film.crew.open_seg, duration_frames=12)
    plan = build_plan(project=film.crew.project, include_unapproved=True)
    slate = next(s for s in shots_of(plan) if s.id == str(empty.pk))
    assert slate.slate.line2 == "NO TAKE YET" and slate.frames == 12


def test_trims_and_transitions_follow_the_timeline(film):
    plan = build_plan(project=film.crew.project)
    first, second = plan.segments[0].shots
    assert (first.in_frame, first.frames, first.transition_kind) == (0, 24, "cut")
    assert (second.in_frame, second.frames) == (4, 16)
    assert (second.transition_kind, second.transition_frames) == ("crossfade", 6)
    assert plan.segments[0].frames == 24 + 16 - 6


def test_export_length_equals_the_timeline(film):
    project = film.crew.project
    # A crossfade into a segment's first shot, a fade from black, an out point past the end
    # of the take, an empty segment: all counted exactly as the timeline counts them.
    Shot.objects.filter(pk=film.shots[2].pk).update(transition_kind="crossfade", transition_frames=5)
    Shot.objects.filter(pk=film.shots[3].pk).update(transition_kind="fade_black", transition_frames=4)
    make_segment(project, title="Empty")
    timeline = timeline_get(project=project)
    plan = build_plan(project=project)
    assert plan.frames == timeline["duration_frames"] == 24 + 16 - 6 + 24 + 30
    assert [s.frames for s in plan.segments] == [s["duration_frames"] for s in timeline["segments"] if s["shots"]]
    for shot, tl_shot in zip(shots_of(plan), [s for seg in timeline["segments"] for s in seg["shots"]]):
        assert (shot.frames, shot.in_frame if shot.source else tl_shot["in_frame"]) == (
            tl_shot["duration_frames"], tl_shot["in_frame"])
    # The crossfade into segment 2's first shot has nothing to mix with: a cut.
    assert plan.segments[1].shots[0].transition_kind == "cut"


def test_other_frame_rates_count_frames_like_the_timeline(film):
    project = film.crew.project
    project.fps_num, project.fps_den = 24000, 1001
    project.save()
    plan = build_plan(project=project)
    assert plan.frames == timeline_get(project=project)["duration_frames"]
    assert plan.spec.fps_num == 24000 and plan.spec.fps_den == 1001


def test_a_segment_plan_has_only_that_segment_numbered_as_in_the_film(film):
    plan = build_plan(project=film.crew.project, segment=film.crew.open_seg)
    assert [s.id for s in plan.segments] == [str(film.crew.open_seg.pk)]
    assert plan.segments[0].position == 1
    assert plan.segments[0].shots[1].slate.line1 == "SEGMENT 2 · SHOT 2"
    assert plan.audio == ()


def test_provenance_is_in_every_shot(film):
    first = shots_of(build_plan(project=film.crew.project))[0]
    meta = first.meta
    assert meta["segment"] == 1 and meta["shot"] == 1
    assert meta["artist"] == film.crew.owner.username
    assert (meta["backend"], meta["model"], meta["prompt"], meta["seed"]) == ("runway", "gen4_turbo", "a lighthouse at dusk", 1234)
    assert meta["cost"] == "0.5"
    assert meta["approved_by"] == film.crew.director.username and meta["approved_at"]
    assert meta["sha256"] == film.takes[0].media.sha256


def test_audio_clips_come_from_the_timeline(film, clips):
    project = film.crew.project
    timeline = Timeline.objects.get(project=project)
    voice = stored_media(clips.voice, project=project)
    AudioClip.objects.create(timeline=timeline, track="narration", media=voice, start_frame=10, text="Hello, keeper.")
    plan = build_plan(project=project)
    (clip,) = plan.audio
    assert (clip.track, clip.start_frame, clip.text, clip.length_frames) == ("narration", 10, "Hello, keeper.", 24)
    assert clip.source.sha256 == voice.sha256


def test_a_speech_take_can_be_placed_on_the_narration_track_with_its_text(film, clips, api):
    """add_audio takes a take id (e.g. a text-to-speech take) and the narration text."""
    crew = film.crew
    speech = real_take(film.shots[0], clips.voice, author=crew.owner, approved=False,
                       provenance={"backend": "elevenlabs", "model": "eleven_multilingual_v2", "kind": "text_to_speech"})
    revision = Timeline.objects.get(project=crew.project).revision
    response = api(crew.director).patch(
        f"/api/v1/projects/{crew.project.pk}/timeline/",
        {"revision": revision, "ops": [{"op": "add_audio", "track": "narration", "media": str(speech.pk), "start_frame": 12,
                                         "text": "The light went out at midnight."}]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    (clip,) = build_plan(project=crew.project).audio
    assert clip.track == "narration" and clip.start_frame == 12
    assert clip.text == "The light went out at midnight."
    assert clip.source.storage_key == speech.media.storage_key


def test_credits_name_the_crew_and_what_they_used(film):
    plan = build_plan(project=film.crew.project)
    by_user = {c["username"]: c for c in plan.credits}
    crew = film.crew
    assert by_user[crew.director.username]["role"] == "director"
    assert by_user[crew.producer.username]["role"] == "producer"
    owner = by_user[crew.owner.username]
    assert owner["role"] == "artist"
    assert owner["segments"] == ["1. Owned"]
    assert "runway" in owner["backends"] and "gen4_turbo" in owner["models"]
    assert crew.viewer.username not in by_user
    # crew.artist only made an unapproved take: not in the cut, not in the credits.
    assert crew.artist.username not in by_user


def test_the_plan_survives_a_round_trip_through_json(film):
    import json

    plan = build_plan(project=film.crew.project)
    again = plan_from_dict(json.loads(json.dumps(plan_to_dict(plan))))
    assert again == plan
    assert again.frames == plan.frames
    assert shots_of(again)[0].meta == shots_of(plan)[0].meta
