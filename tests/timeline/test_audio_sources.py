"""Sound-only takes offered to the timeline's audio tracks, and placing one there."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.media.models import MediaFile, MediaKind
from apps.production.models import Take, TakeStatus
from apps.timeline.models import AudioClip
from tests.api.helpers import API, assert_error, make_take, timeline_revision


def _speech_take(shot, *, author, text: str, status: str = TakeStatus.READY, seconds: float = 3.0) -> Take:
    take = make_take(shot, author=author, status=status, duration_seconds=seconds)
    MediaFile.objects.filter(pk=take.media_id).update(kind=MediaKind.AUDIO, width=None, height=None, fps=None)
    Take.objects.filter(pk=take.pk).update(provenance={"backend": "local-speech", "model": "espeak-ng", "prompt": text})
    take.refresh_from_db()
    return take


def test_lists_ready_sound_only_takes_with_their_text(crew):
    speech = _speech_take(crew.shot, author=crew.owner, text="The lamp has not gone out in forty years.")
    _speech_take(crew.shot, author=crew.owner, text="still rendering", status=TakeStatus.PROCESSING)
    make_take(crew.shot, author=crew.owner)  # a picture take: not offered

    body = crew.client("viewer").get(f"{API}/projects/{crew.project.pk}/timeline/audio-sources/").json()

    assert [s["take"] for s in body] == [str(speech.pk)]
    [src] = body
    assert src["media"] == str(speech.media_id)
    assert src["text"] == "The lamp has not gone out in forty years."
    assert (src["backend"], src["model"]) == ("local-speech", "espeak-ng")
    assert src["shot"]["id"] == str(crew.shot.pk) and src["segment"]["id"] == str(crew.seg.pk)
    assert src["duration_frames"] == 72  # 3 s at 24 fps
    assert src["author"] == crew.owner.username
    assert (src["kind"], src["track"]) == ("speech", "narration")


def test_a_listed_take_can_be_placed_on_the_narration_track(crew):
    speech = _speech_take(crew.shot, author=crew.owner, text="Forty years.")
    [src] = crew.client("director").get(f"{API}/projects/{crew.project.pk}/timeline/audio-sources/").json()
    op = {"op": "add_audio", "track": "narration", "media": src["take"], "start_frame": 48, "text": src["text"]}
    res = crew.client("director").patch(
        f"{API}/projects/{crew.project.pk}/timeline/",
        {"revision": timeline_revision(crew.project), "ops": [op]},
        format="json",
    )
    assert res.status_code == 200, res.content
    clip = AudioClip.objects.get(timeline__project=crew.project)
    assert clip.track == "narration" and clip.start_frame == 48 and clip.media_id == speech.media_id


def test_one_query(crew):
    for n in range(4):
        _speech_take(crew.shot, author=crew.owner, text=f"line {n}")
    from apps.timeline.selectors import timeline_audio_sources

    with CaptureQueriesContext(connection) as ctx:
        assert len(timeline_audio_sources(project=crew.project)) == 4
    assert len(ctx.captured_queries) == 1


def test_strangers_get_404(crew):
    assert_error(crew.client("stranger").get(f"{API}/projects/{crew.project.pk}/timeline/audio-sources/"), 404)


def _sound_take(shot, *, author, kind: str, prompt: str, **prov) -> Take:
    take = _speech_take(shot, author=author, text=prompt)
    Take.objects.filter(pk=take.pk).update(provenance={"kind": kind, "prompt": prompt, **prov}, source="generation")
    take.refresh_from_db()
    return take


def test_music_and_sound_effect_takes_are_offered_labelled_by_kind(crew):
    speech = _sound_take(crew.shot, author=crew.owner, kind="speech", prompt="Forty years.", backend="elevenlabs",
                         model="eleven_v3", params={"voice_id": "JBFqnCBsd6RMkjVDRZzb"})
    music = _sound_take(crew.shot, author=crew.owner, kind="music", prompt="slow cello", backend="elevenlabs",
                        model="music_v1")
    gulls = _sound_take(crew.shot, author=crew.owner, kind="sound_effect", prompt="gulls", backend="elevenlabs",
                        model="eleven_text_to_sound_v2")
    uploaded = make_take(crew.shot, author=crew.owner)
    MediaFile.objects.filter(pk=uploaded.media_id).update(kind=MediaKind.AUDIO, width=None, height=None, fps=None)

    body = crew.client("viewer").get(f"{API}/projects/{crew.project.pk}/timeline/audio-sources/").json()

    by_take = {s["take"]: s for s in body}
    assert (by_take[str(speech.pk)]["kind"], by_take[str(speech.pk)]["track"]) == ("speech", "narration")
    assert by_take[str(speech.pk)]["voice"] == "JBFqnCBsd6RMkjVDRZzb"
    assert (by_take[str(music.pk)]["kind"], by_take[str(music.pk)]["track"]) == ("music", "music")
    assert (by_take[str(gulls.pk)]["kind"], by_take[str(gulls.pk)]["track"]) == ("sound_effect", "effects")
    assert by_take[str(uploaded.pk)]["kind"] == "upload"
    assert len(body) == 4
