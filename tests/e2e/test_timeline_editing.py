"""Timeline edits made with the mouse, in a real browser (issue #6): the gestures themselves.

The film of ``film.make_film`` (Dusk: "Lamp room" + "Stairs", 24 frames each, owned by the
artist; Storm; Dawn). Every edit is checked on the page (data attributes) and through
``GET /api/v1/projects/{id}/timeline/``.

- Shot order: the segment's owner drags "Stairs" before "Lamp room" with the mouse (HTML5
  drag and drop: down / move / up), then back with ``locator.drag_to``; the director's page
  follows live.
- Trim handles: dragging ``trim-handle-in-/out-<shotId>`` by k frames' worth of pixels at the
  current zoom moves the in/out point by k (±1); dragged past the pick's ends it stops there
  (0 … 24); again after zooming in.
- Music: the director uploads a short WAV (made here with ffmpeg) on the music track; the
  clip appears, its file is ingested by the worker and its waveform is drawn (an svg of bars
  in ``audio-clip-<id>``); dragged along the track it gets a new start frame; volume and fades
  are set in the clip panel; removed, then brought back with Undo.

Screenshots: ``test-artifacts/e2e/timeline-edit-NN-*.png``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="e2e: the playwright package is not installed").expect

from .film import (  # noqa: E402
    Film,
    api_trim,
    assert_not_reloaded,
    director_and_artist_on_dusk,
    expect_trim,
    make_film,
    open_timeline,
)
from .harness import BrowserApi  # noqa: E402
from .ui import LIVE, UI, tid  # noqa: E402

pytestmark = pytest.mark.e2e

INGEST = 90_000  # ms: an upload probed and its waveform drawn by the worker (a busy 2-core box)


def make_wav(path: Path, *, seconds: float = 2.0) -> Path:
    """A mono 48 kHz WAV: a 440 Hz tone whose loudness swells and falls twice a second."""
    import imageio_ffmpeg

    expr = "0.9*sin(2*PI*440*t)*(0.55+0.45*sin(2*PI*2*t))"
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"aevalsrc={expr}:s=48000:d={seconds}",
        "-ac", "1", "-c:a", "pcm_s16le", str(path),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return path


def px_per_frame(page, film: Film) -> float:
    """The zoom the page draws at: a segment block is exactly (end − start) × px/frame wide."""
    block = tid(page, f"segment-block-{film.dusk}")
    frames = int(block.get_attribute("data-end")) - int(block.get_attribute("data-start"))
    box = block.bounding_box()
    assert box and frames > 0
    return box["width"] / frames


def drag_by(page, locator, dx: float, *, steps: int = 12) -> None:
    """Press on the middle of ``locator``, move ``dx`` pixels sideways, release."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box, locator
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y, steps=steps)
    page.mouse.move(x + dx, y, steps=steps)
    page.mouse.up()


def shot_positions(page, shots: list[str], timeout: int = LIVE) -> None:
    for position, shot in enumerate(shots):
        expect(tid(page, f"shot-block-{shot}")).to_have_attribute("data-position", str(position), timeout=timeout)


def api_shot_order(timeline: dict, segment: str) -> list[str]:
    seg = next(s for s in timeline["segments"] if s["id"] == segment)
    return [s["id"] for s in sorted(seg["shots"], key=lambda s: s["position"])]


def music_clips(timeline: dict) -> list[dict]:
    return next(t["clips"] for t in timeline["audio_tracks"] if t["track"] == "music")


def near(value: int, expected: int) -> bool:
    return abs(value - expected) <= 1


# --- 1. the owner reorders the shots of their segment with the mouse ----------------------------


def test_owner_drags_a_shot_to_a_new_position_in_their_segment(studio, settings, tmp_path):
    film = make_film(studio, settings, tmp_path)
    boss, ana, api = director_and_artist_on_dusk(studio, film)
    for page in (boss, ana):
        shot_positions(page, [film.lamp, film.stairs], timeout=UI)
    _, timeline = api.call("GET", film.api_path, expect=200)
    assert api_shot_order(timeline, film.dusk) == [film.lamp, film.stairs], timeline
    # The owner's shot blocks are draggable.
    expect(tid(ana, f"shot-block-{film.stairs}")).to_have_attribute("draggable", "true")
    expect(tid(ana, f"shot-block-{film.waves}")).to_have_count(0)  # Storm is not expanded

    # --- the real gesture: press on Stairs, drag it onto the left half of Lamp room, release -----
    stairs = tid(ana, f"shot-block-{film.stairs}")
    lamp = tid(ana, f"shot-block-{film.lamp}")
    grip, target = stairs.bounding_box(), lamp.bounding_box()
    assert grip and target
    ana.mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2)
    ana.mouse.down()
    ana.mouse.move(target["x"] + target["width"] / 2, target["y"] + target["height"] / 2, steps=8)
    ana.mouse.move(target["x"] + target["width"] * 0.2, target["y"] + target["height"] / 2, steps=8)
    ana.mouse.up()
    swapped = [film.stairs, film.lamp]
    shot_positions(ana, swapped, timeout=UI)
    # Stairs now opens the segment, Lamp room follows it; the director's page follows live.
    expect(tid(ana, f"shot-block-{film.stairs}")).to_have_attribute("data-start", "0")
    expect(tid(ana, f"shot-block-{film.lamp}")).to_have_attribute("data-start", "24")
    shot_positions(boss, swapped)
    timeline = api.wait_for(film.api_path, lambda t: api_shot_order(t, film.dusk) == swapped)
    # Nothing else changed: the trims, the segments' order.
    assert api_trim(timeline, film.lamp) == (0, 24) and api_trim(timeline, film.stairs) == (0, 24), timeline
    assert [s["id"] for s in sorted(timeline["segments"], key=lambda s: s["position"])] == [film.dusk, film.storm, film.dawn]
    expect(tid(ana, "timeline-undo")).to_be_enabled()
    studio.snap(ana, "timeline-edit-01-owner-dragged-stairs-first")

    # --- and back, with Playwright's drag_to: Lamp room dropped on the left part of Stairs -----
    tid(ana, f"shot-block-{film.lamp}").drag_to(
        tid(ana, f"shot-block-{film.stairs}"), target_position={"x": 10, "y": 20}, steps=10
    )
    shot_positions(ana, [film.lamp, film.stairs], timeout=UI)
    shot_positions(boss, [film.lamp, film.stairs])
    api.wait_for(film.api_path, lambda t: api_shot_order(t, film.dusk) == [film.lamp, film.stairs])

    # A drop where it started changes nothing (no edit sent).
    _, before = api.call("GET", film.api_path, expect=200)
    tid(ana, f"shot-block-{film.lamp}").drag_to(tid(ana, f"shot-block-{film.lamp}"), target_position={"x": 20, "y": 20}, steps=6)
    shot_positions(ana, [film.lamp, film.stairs])
    _, after = api.call("GET", film.api_path, expect=200)
    assert after["revision"] == before["revision"], (before["revision"], after["revision"])
    for page in (boss, ana):
        expect(tid(page, "timeline-notice")).to_have_count(0)
        assert_not_reloaded(page)


# --- 2. trim handles --------------------------------------------------------------------------


def test_trim_handles_move_in_and_out_by_the_dragged_frames_and_stop_at_the_pick(studio, settings, tmp_path):
    film = make_film(studio, settings, tmp_path)
    ana, _ = open_timeline(studio, "artist", film.artist.username, film)
    api = BrowserApi(ana)
    tid(ana, f"segment-expand-{film.dusk}").click()
    expect_trim(ana, film.lamp, 0, 24, timeout=UI)
    ppf = px_per_frame(ana, film)
    assert ppf >= 2, ppf  # the first zoom keeps a 24-frame shot comfortably wide

    def handle(shot: str, edge: str):
        return tid(ana, f"trim-handle-{edge}-{shot}")

    def trimmed(shot: str, check) -> tuple[int, int]:
        """The shot's trim once the page shows one that passes ``check``; the API agrees."""
        block = tid(ana, f"shot-block-{shot}")
        expect(tid(ana, "timeline-page")).not_to_contain_text("saving…", timeout=UI)
        seen = (int(block.get_attribute("data-in")), int(block.get_attribute("data-out")))
        assert check(seen), f"{shot}: the page shows in/out {seen}"
        api.wait_for(film.api_path, lambda t: api_trim(t, shot) == seen)
        return seen

    # --- the out point, 6 frames earlier -----------------------------------------------------
    drag_by(ana, handle(film.lamp, "out"), -6 * ppf)
    expect(tid(ana, f"shot-block-{film.lamp}")).not_to_have_attribute("data-out", "24", timeout=UI)
    _, out = trimmed(film.lamp, lambda t: t[0] == 0 and near(t[1], 18))
    # The shot got shorter on the page: Stairs starts where Lamp room now ends.
    expect(tid(ana, f"shot-block-{film.stairs}")).to_have_attribute("data-start", str(out))

    # --- the in point, 4 frames later --------------------------------------------------------
    drag_by(ana, handle(film.lamp, "in"), 4 * ppf)
    expect(tid(ana, f"shot-block-{film.lamp}")).not_to_have_attribute("data-in", "0", timeout=UI)
    in_, _ = trimmed(film.lamp, lambda t: near(t[0], 4) and t[1] == out)
    studio.snap(ana, "timeline-edit-02-trim-handles")

    # --- past the pick's ends: clamped to 0 … 24 (the red clip is one second) -------------------
    drag_by(ana, handle(film.lamp, "out"), 20 * ppf)
    expect(tid(ana, f"shot-block-{film.lamp}")).to_have_attribute("data-out", "24", timeout=UI)
    trimmed(film.lamp, lambda t: t == (in_, 24))
    drag_by(ana, handle(film.lamp, "in"), -15 * ppf)
    expect(tid(ana, f"shot-block-{film.lamp}")).to_have_attribute("data-in", "0", timeout=UI)
    trimmed(film.lamp, lambda t: t == (0, 24))

    # --- zoomed in: the same pixels are fewer frames ------------------------------------------
    zoom_label = tid(ana, "timeline-page").locator(".tl-toolbar .muted.small").filter(has_text="px/frame")
    before = zoom_label.inner_text()
    tid(ana, "timeline-zoom-in").click()
    expect(zoom_label).not_to_have_text(before)
    zoomed = px_per_frame(ana, film)
    assert zoomed > ppf * 1.5, (ppf, zoomed)
    drag_by(ana, handle(film.stairs, "out"), -5 * zoomed)
    expect(tid(ana, f"shot-block-{film.stairs}")).not_to_have_attribute("data-out", "24", timeout=UI)
    trimmed(film.stairs, lambda t: t[0] == 0 and near(t[1], 19))
    drag_by(ana, handle(film.stairs, "in"), 3 * zoomed)
    expect(tid(ana, f"shot-block-{film.stairs}")).not_to_have_attribute("data-in", "0", timeout=UI)
    stairs_trim = trimmed(film.stairs, lambda t: near(t[0], 3) and near(t[1], 19))
    studio.snap(ana, "timeline-edit-03-trim-handles-zoomed")

    # Lamp room kept its whole pick; nothing was reported.
    _, timeline = api.call("GET", film.api_path, expect=200)
    assert api_trim(timeline, film.lamp) == (0, 24), timeline
    assert api_trim(timeline, film.stairs) == stairs_trim, timeline
    expect(tid(ana, "timeline-notice")).to_have_count(0)
    assert_not_reloaded(ana)


# --- 3. a music clip: upload, waveform, drag, panel, remove + undo ------------------------------


def test_director_places_music_drags_it_sets_volume_and_fades_removes_and_undoes(studio, settings, tmp_path):
    film = make_film(studio, settings, tmp_path)
    wav = make_wav(tmp_path / "theme.wav", seconds=2.0)
    boss, _ = open_timeline(studio, "director", film.director.username, film)
    api = BrowserApi(boss)
    track = tid(boss, "audio-track-music")
    clips_on_track = track.locator('[data-testid^="audio-clip-"]')
    expect(clips_on_track).to_have_count(0)

    # --- upload a WAV onto the music track at the playhead (frame 0) -------------------------
    tid(boss, "timeline-add-audio").click()
    form = tid(boss, "audio-add-form")
    expect(form).to_be_visible()
    expect(tid(boss, "audio-add-track")).to_have_value("music")
    expect(tid(boss, "audio-add-submit")).to_be_disabled()
    tid(boss, "audio-add-file").set_input_files(str(wav))
    expect(tid(boss, "audio-add-submit")).to_be_enabled()
    tid(boss, "audio-add-submit").click()
    expect(form).to_have_count(0, timeout=UI)
    expect(clips_on_track).to_have_count(1, timeout=UI)
    timeline = api.wait_for(film.api_path, lambda t: len(music_clips(t)) == 1)
    clip = music_clips(timeline)[0]
    cid = clip["id"]
    assert clip["start_frame"] == 0 and clip["volume"] == 1.0, clip
    assert clip["media"]["original_name"] == "theme.wav", clip
    block = tid(boss, f"audio-clip-{cid}")
    expect(block).to_have_attribute("data-track", "music")
    expect(block).to_have_attribute("data-start", "0")

    # --- the worker ingests the file: the clip gets its length and its waveform -----------------
    timeline = api.wait_for(
        film.api_path, lambda t: (music_clips(t) or [{}])[0].get("media", {}).get("status") == "ready", timeout=INGEST / 1000
    )
    assert music_clips(timeline)[0]["length_frames"] == 48, music_clips(timeline)
    bars = block.locator("svg.tl-waveform rect")
    expect(bars.first).to_be_attached(timeout=INGEST)  # drawn only from the ingested peaks
    assert bars.count() >= 10, bars.count()
    expect(block).not_to_have_class(re.compile(r"\bunknown-length\b"), timeout=UI)  # dashed until its length is known
    ppf = px_per_frame(boss, film)
    box = block.bounding_box()
    assert box and near(round(box["width"] / ppf), 48), (box, ppf)
    studio.snap(boss, "timeline-edit-04-music-clip-with-waveform")

    # --- drag the clip 30 frames to the right along the track --------------------------------
    drag_by(boss, block, 30 * ppf)
    expect(block).not_to_have_attribute("data-start", "0", timeout=UI)
    start = int(block.get_attribute("data-start"))
    assert near(start, 30), start
    api.wait_for(film.api_path, lambda t: music_clips(t)[0]["start_frame"] == start)
    box_after = block.bounding_box()
    assert box_after and abs(box_after["x"] - box["x"] - start * ppf) <= 2, (box, box_after, ppf)
    expect(bars.first).to_be_attached()  # still drawn after the move

    # --- the clip panel: volume and fades -------------------------------------------------------
    panel = tid(boss, f"audio-clip-panel-{cid}")
    block.click()  # a press without a move: selects, edits nothing
    expect(panel).to_be_visible()
    expect(tid(boss, f"audio-start-{cid}")).to_have_value(str(start))
    for field, value in (("audio-volume", 60), ("audio-fade-in", 6), ("audio-fade-out", 12)):
        box_field = tid(boss, f"{field}-{cid}")
        box_field.fill(str(value))
        box_field.press("Enter")
        expect(box_field).to_have_value(str(value), timeout=UI)
    timeline = api.wait_for(
        film.api_path,
        lambda t: (c := music_clips(t)[0])["volume"] == 0.6 and c["fade_in_frames"] == 6 and c["fade_out_frames"] == 12,
    )
    clip = music_clips(timeline)[0]
    assert clip["id"] == cid and clip["start_frame"] == start, clip
    # The fades are drawn to scale on the clip: 6 and 12 frames wide.
    for edge, frames in (("in", 6), ("out", 12)):
        fade = block.locator(f".tl-fade.{edge}")
        expect(fade).to_have_count(1)
        fade_box = fade.bounding_box()
        assert fade_box and abs(fade_box["width"] - frames * ppf) <= 1, (edge, fade_box, ppf)
    expect(block).to_have_attribute("title", f"theme.wav · {clip_timecode(start)} · volume 60%")
    studio.snap(boss, "timeline-edit-05-music-clip-moved-volume-fades")

    # --- remove it, then Undo brings it back as it was ----------------------------------------------
    tid(boss, f"audio-remove-{cid}").click()
    expect(clips_on_track).to_have_count(0, timeout=UI)
    expect(panel).to_have_count(0)
    api.wait_for(film.api_path, lambda t: music_clips(t) == [])
    tid(boss, "timeline-undo").click()
    expect(clips_on_track).to_have_count(1, timeout=UI)
    timeline = api.wait_for(film.api_path, lambda t: len(music_clips(t)) == 1)
    back = music_clips(timeline)[0]
    for key in ("start_frame", "volume", "fade_in_frames", "fade_out_frames", "track", "length_frames"):
        assert back[key] == clip[key], (key, back, clip)
    assert back["media"]["id"] == clip["media"]["id"], (back, clip)
    restored = tid(boss, f"audio-clip-{back['id']}")
    expect(restored).to_have_attribute("data-start", str(start))
    expect(restored.locator("svg.tl-waveform rect").first).to_be_attached(timeout=UI)
    expect(restored.locator(".tl-fade.in")).to_have_count(1)
    expect(tid(boss, "timeline-redo")).to_be_enabled()
    expect(tid(boss, "timeline-notice")).to_have_count(0)
    studio.snap(boss, "timeline-edit-06-music-clip-removed-and-restored")
    assert_not_reloaded(boss)


def clip_timecode(frame: int, fps: int = 24) -> str:
    """The page's non-drop timecode HH:MM:SS:FF at a whole frame rate."""
    seconds, ff = divmod(frame, fps)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}"
