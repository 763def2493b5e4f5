"""The render engine with real ffmpeg on tiny clips: frame-exact conform at every project rate
from mixed-rate and variable-rate sources, never-stretched framing, trims, slates, segment
masters with transitions, a multi-segment film whose flashes and beeps stay in sync at every
join, the audio mix (ducking, loudness), and the cache (nothing encoded twice)."""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from apps.rendering.engine import RenderCache, RenderError, build_final, build_segment_master, conform_shot, heartbeat_scope
from apps.rendering.engine import ffmpeg as engine_ffmpeg
from apps.rendering.engine.audio import read_wav, samples_at, span_samples
from apps.rendering.engine.cache import MASTERS, PIECES
from apps.rendering.engine.final import normalise_filter, parse_ebur128
from apps.rendering.engine.verify import decode_audio, gray_frames
from apps.rendering.plan import MasterSpec, PlanAudioClip, PlanSegment, PlanShot, RenderPlan, SlateInfo, SourceRef
from tests.rendering.media import (
    audio_declared_samples,
    audio_sample_count,
    beep_onsets,
    count_video_frames,
    flash_frames,
    flash_onsets,
    frame_luma,
    make_clip,
    make_tone,
    video_frame_pts,
)

RATES = {"24": (24, 1), "25": (25, 1), "23.976": (24000, 1001), "29.97": (30000, 1001)}

# name: (fps, frames, make_clip kwargs). Every clip flashes and beeps at 1.25 s (1.2 s at 60 fps).
SOURCES = {
    "src2398": ("24000/1001", 60, dict(audio="stereo48", flash_at_frame=30, beep_at_frame=30)),
    "src25": (25, 64, dict(audio="mono44", flash_at_frame=32, beep_at_frame=32)),  # 1.28 s
    "src30": (30, 75, dict(audio="stereo48", flash_at_frame=36, flash_frames=2, beep_at_frame=36)),  # 1.2 s
    "src60": (60, 150, dict(audio="stereo48", flash_at_frame=72, flash_frames=3, beep_at_frame=72)),  # 1.2 s
    "srcvfr": (24, 60, dict(audio="stereo48", flash_at_frame=30, beep_at_frame=30, vfr=True)),
    "src2997": ("30000/1001", 75, dict(audio="mono48", flash_at_frame=36, flash_frames=2, beep_at_frame=36)),
}


@pytest.fixture(scope="session")
def engine_clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("engine-clips")
    out = {}
    for name, (fps, frames, kw) in SOURCES.items():
        out[name] = make_clip(d / f"{name}.mp4", frames=frames, fps=fps, **kw)
    out["big"] = make_clip(d / "big.mp4", frames=30, fps=25, size=(320, 180))  # larger, no audio
    out["small"] = make_clip(d / "small.mp4", frames=30, fps=25, size=(96, 54), audio="mono44")
    out["portrait"] = make_clip(d / "portrait.mp4", frames=30, fps=30, size=(90, 160), audio="mono48")
    out["scope"] = make_clip(d / "scope.mp4", frames=30, fps=24, size=(240, 100))  # 2.4:1 → letterboxed
    out["alt"] = make_clip(d / "alt.mp4", frames=60, fps=24, audio="stereo48", flash_at_frame=40, beep_at_frame=40)
    (d / "notes.mp4").write_text("These are my notes for the film, not a video.\n" * 20)
    out["notes"] = d / "notes.mp4"
    out["music"] = make_tone(d / "music.wav", 6.0, freq=440, amplitude=0.25)
    out["voice"] = make_tone(d / "voice.wav", 1.0, freq=1500, amplitude=0.3, channels=1, rate=22_050)
    return out


@pytest.fixture
def cache(tmp_path) -> RenderCache:
    return RenderCache(tmp_path / "render-cache")


def spec_at(rate: str, **kw) -> MasterSpec:
    num, den = RATES[rate]
    return MasterSpec(width=kw.pop("width", 160), height=kw.pop("height", 90), fps_num=num, fps_den=den, **kw)


def shot(
    name: str | None,
    *,
    frames: int,
    seg: int = 0,
    pos: int = 0,
    in_frame: int = 0,
    kind: str = "cut",
    n: int = 0,
    sha: str | None = None,
    slate=None,
) -> PlanShot:
    source = SourceRef(storage_key=f"takes/{name}.mp4", sha256=sha or f"sha-{name}") if name else None
    return PlanShot(
        id=f"shot-{seg}-{pos}", segment_id=f"seg-{seg}", segment_position=seg, position=pos, title=f"Shot {pos + 1}",
        frames=frames, in_frame=in_frame, transition_kind=kind, transition_frames=n, source=source, slate=slate,
    )  # fmt: skip


def flash_seconds(name: str) -> float:
    fps, _, kw = SOURCES[name]
    return float(kw["flash_at_frame"] / Fraction(str(fps)))


def onset(wav: np.ndarray, threshold: float = 0.05) -> int | None:
    loud = np.flatnonzero(np.abs(wav[:, 0].astype(np.float32)) / 32768 >= threshold)
    return int(loud[0]) if len(loud) else None


# --------------------------------------------------------------------------------------------
# Conform
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", list(RATES))
@pytest.mark.parametrize("name", list(SOURCES))
def test_conform_is_frame_and_sample_exact_at_every_rate(engine_clips, cache, rate, name):
    spec = spec_at(rate)
    in_frame, frames = 7, 41
    s = shot(name, frames=frames, in_frame=in_frame)
    piece = conform_shot(s, spec, cache, source_path=engine_clips[name])

    assert piece.frames == frames and not piece.cache_hit
    pts = video_frame_pts(piece.video_path)
    assert len(pts) == frames
    assert len({b - a for a, b in zip(pts, pts[1:])}) == 1  # constant frame rate
    wav = read_wav(piece.audio_path, spec)
    assert wav.shape == (samples_at(frames, spec), 2)

    # The flash lands on the master frame nearest its time, minus the trim.
    expected = round(flash_seconds(name) * spec.fps) - in_frame
    got = flash_onsets(piece.video_path)
    assert len(got) == 1
    same_rate = Fraction(str(SOURCES[name][0])) == spec.fps and name != "srcvfr"
    assert got[0] == expected if same_rate else abs(got[0] - expected) <= 1, (got, expected)
    # The beep is where the flash is (within a frame), in the piece's own PCM.
    beep = onset(wav)
    assert beep is not None
    beep_frames = beep / spec.sample_rate * spec.fps
    assert abs(beep_frames - got[0]) < 1.0, (beep_frames, got)
    if name in ("src25", "src2997"):  # mono sources come out as two equal channels
        assert np.array_equal(wav[:, 0], wav[:, 1])


def test_vfr_source_really_is_variable(engine_clips):
    pts = video_frame_pts(engine_clips["srcvfr"])
    assert len({b - a for a, b in zip(pts, pts[1:])}) > 3


def test_trims_are_frame_exact(engine_clips, cache):
    spec = spec_at("23.976")
    for in_frame in (0, 1, 13, 29, 30):
        piece = conform_shot(shot("src2398", frames=32, in_frame=in_frame), spec, cache, source_path=engine_clips["src2398"])
        assert count_video_frames(piece.video_path) == 32
        assert flash_frames(piece.video_path) == [30 - in_frame]
        beep = onset(read_wav(piece.audio_path, spec))
        assert abs(beep - span_samples(in_frame, 30 - in_frame, spec)) < 300  # < 7 ms (AAC source)
    piece = conform_shot(shot("src2398", frames=20, in_frame=31), spec, cache, source_path=engine_clips["src2398"])
    assert flash_frames(piece.video_path) == []


def test_short_source_holds_its_last_frame_and_pads_silence(engine_clips, cache):
    spec = spec_at("24")
    # src2398 has 60 frames (2.5 s): from frame 40, 50 frames → 20 real, 30 held.
    piece = conform_shot(shot("src2398", frames=50, in_frame=40), spec, cache, source_path=engine_clips["src2398"])
    assert count_video_frames(piece.video_path) == 50
    last_real, held = frame_luma(piece.video_path, 19), frame_luma(piece.video_path, 49)
    assert abs(float(last_real.mean()) - float(held.mean())) < 2
    wav = read_wav(piece.audio_path, spec)
    assert len(wav) == samples_at(50, spec)
    assert not wav[samples_at(21, spec) :].any()  # silence after the take's sound ends
    # A trim that starts past the end of the take (it was replaced by a shorter one) holds
    # the take's last frame instead of failing the export.
    past = conform_shot(shot("src2398", frames=10, in_frame=75), spec, cache, source_path=engine_clips["src2398"])
    assert count_video_frames(past.video_path) == 10
    assert abs(float(frame_luma(past.video_path, 9).mean()) - float(held.mean())) < 2
    assert len(read_wav(past.audio_path, spec)) == samples_at(10, spec)


def _non_black_box(img: np.ndarray) -> tuple[int, int, int, int]:
    bright = img > 40
    cols = np.flatnonzero(bright.any(axis=0))
    rows = np.flatnonzero(bright.any(axis=1))
    return int(cols[0]), int(cols[-1]) + 1, int(rows[0]), int(rows[-1]) + 1


@pytest.mark.parametrize(
    "name, aspect",
    [("big", 16 / 9), ("small", 16 / 9), ("portrait", 9 / 16), ("scope", 2.4)],
)
def test_pictures_are_fitted_never_stretched(engine_clips, cache, name, aspect):
    spec = spec_at("25")
    piece = conform_shot(shot(name, frames=10), spec, cache, source_path=engine_clips[name])
    img = frame_luma(piece.video_path, 5)
    assert img.shape == (90, 160)
    x0, x1, y0, y1 = _non_black_box(img)
    assert abs((x1 - x0) / (y1 - y0) - aspect) / aspect < 0.05, (x0, x1, y0, y1)
    if name == "portrait":  # pillarboxed: black columns left and right, centred
        assert (x1 - x0) in range(48, 54) and (y0, y1) == (0, 90)
        assert img[:, : x0 - 1].max() < 30 and img[:, x1 + 1 :].max() < 30
        assert abs(x0 - (160 - x1)) <= 2
    elif name == "scope":  # letterboxed
        assert (x0, x1) == (0, 160) and abs(y0 - (90 - y1)) <= 2
    else:
        assert (x0, x1, y0, y1) == (0, 160, 0, 90)


def test_source_without_audio_gets_exact_silence(engine_clips, cache):
    spec = spec_at("29.97")
    piece = conform_shot(shot("big", frames=23), spec, cache, source_path=engine_clips["big"])
    wav = read_wav(piece.audio_path, spec)
    assert wav.shape == (23 * 48000 * 1001 // 30000, 2) and not wav.any()


def test_slate_stands_in_at_the_shots_true_length(cache):
    spec = spec_at("23.976")
    info = SlateInfo(line1="SEGMENT 12 · SHOT 3", line2="NOT YET APPROVED")
    piece = conform_shot(shot(None, frames=37, seg=11, pos=2, slate=info), spec, cache, source_path=None)
    assert count_video_frames(piece.video_path) == 37
    wav = read_wav(piece.audio_path, spec)
    assert len(wav) == samples_at(37, spec) and not wav.any()
    img = frame_luma(piece.video_path, 0)
    assert img[:5].max() < 30 and img[-5:].max() < 30  # a black card…
    assert (img > 150).sum() > 100  # …with white text on it
    # Without SlateInfo the engine writes its own card; the slate's text is part of its key.
    plain = conform_shot(shot(None, frames=37, seg=11, pos=2), spec, cache, source_path=None)
    assert plain.video_path != piece.video_path and count_video_frames(plain.video_path) == 37


def test_undecodable_source_names_the_shot_and_leaves_nothing(engine_clips, cache):
    spec = spec_at("24")
    with pytest.raises(RenderError) as info:
        conform_shot(shot("notes", frames=10, seg=1, pos=2), spec, cache, source_path=engine_clips["notes"])
    assert str(info.value).startswith("Segment 2 · shot 3: the source file could not be decoded (")
    assert info.value.shot_id == "shot-1-2"
    with pytest.raises(RenderError, match="Segment 1 · shot 1: the take's file is not available"):
        conform_shot(shot("src25", frames=10), spec, cache, source_path=None)
    assert not any((cache.root / PIECES).iterdir()) and not any((cache.root / "tmp").iterdir())


def test_half_written_or_damaged_cache_entries_are_rebuilt(engine_clips, cache):
    spec = spec_at("25")
    s = shot("src25", frames=12)
    first = conform_shot(s, spec, cache, source_path=engine_clips["src25"])
    assert conform_shot(s, spec, cache, source_path=engine_clips["src25"]).cache_hit
    # A killed worker's leftovers: the entry without its meta.json is not trusted.
    (first.video_path.parent / "meta.json").unlink()
    again = conform_shot(s, spec, cache, source_path=engine_clips["src25"])
    assert not again.cache_hit and count_video_frames(again.video_path) == 12
    # A truncated file (size differs from meta.json) is not trusted either.
    with open(again.audio_path, "r+b") as fh:
        fh.truncate(100)
    third = conform_shot(s, spec, cache, source_path=engine_clips["src25"])
    assert not third.cache_hit and len(read_wav(third.audio_path, spec)) == samples_at(12, spec)
    assert cache.stats["pieces_encoded"] == 3 and cache.stats["pieces_hit"] == 1


# --------------------------------------------------------------------------------------------
# Segment masters and transitions
# --------------------------------------------------------------------------------------------


def _master(segment: PlanSegment, spec, cache, clips):
    pieces = [
        conform_shot(s, spec, cache, source_path=clips[s.source.storage_key[6:-4]] if s.source else None) for s in segment.shots
    ]
    return pieces, build_segment_master(segment, pieces, spec, cache)


def test_crossfade_and_fade_black_keep_segment_length_and_sync(engine_clips, cache):
    spec = spec_at("23.976", gop_seconds=1)  # 24-frame GOPs: most of each shot is stream-copied
    seg = PlanSegment(
        id="seg-0", position=0, title="", owner=None,
        shots=(
            shot("src2398", frames=60, pos=0),
            shot("src25", frames=60, pos=1, kind="crossfade", n=8),
            shot("src30", frames=60, pos=2, kind="fade_black", n=10),
            shot("alt", frames=50, pos=3, kind="crossfade", n=12),
        ),
    )  # fmt: skip
    assert seg.frames == 60 + 52 + 60 + 38
    _, master = _master(seg, spec, cache, engine_clips)
    pts = video_frame_pts(master.video_path)
    assert len(pts) == seg.frames and len({b - a for a, b in zip(pts, pts[1:])}) == 1
    wav = read_wav(master.audio_path, spec)
    assert len(wav) == samples_at(seg.frames, spec)

    # Flashes where the timeline puts them: shot 2 starts 8 frames early (crossfade).
    # Shots start at 0, 52, 112, 160; src25 flashes at 1.28 s → frame 30.7 → 31.
    expected = [30, 52 + 31, 112 + 29, 160 + 40]
    got = flash_onsets(master.video_path)
    assert len(got) == 4 and all(abs(g - e) <= 1 for g, e in zip(got, expected)), (got, expected)
    beeps = beep_onsets(master.audio_path)
    assert len(beeps) == 4
    for b, e in zip(beeps, expected):
        assert abs(b / spec.sample_rate * spec.fps - e) < 1.0

    # fade_black: 5 frames down to black, then 5 up from it; nothing overlaps.
    lumas = {i: float(img.mean()) for i, img in gray_frames(master.video_path, start=104, stop=120)}
    assert lumas[112] < 5 and lumas[106] > 80 and lumas[118] > 80
    assert lumas[108] > lumas[110] > lumas[112] < lumas[114] < lumas[116]
    # crossfade: the overlap blends the two pictures (both grey here, so it stays grey).
    assert all(60 < float(img.mean()) < 120 for _, img in gray_frames(master.video_path, start=52, stop=60))

    # Only the edges around transitions were re-encoded (from the last keyframe before each
    # transition to the first after it); whole GOPs in between are stream copy.
    meta = cache.get(MASTERS, seg.master_key(spec)).meta
    assert meta["parts"] == [
        ["copy", 48], ["render", 4 + 8 + 16], ["copy", 24], ["render", 12 + 24], ["copy", 24], ["render", 12 + 12], ["copy", 26],
    ]  # fmt: skip


def test_transitions_longer_than_the_shot_are_refused(engine_clips, cache):
    spec = spec_at("24")
    seg = PlanSegment(
        id="seg-0", position=0, title="", owner=None,
        shots=(shot("src2398", frames=20, pos=0), shot("src25", frames=12, pos=1, kind="crossfade", n=8),
               shot("src30", frames=20, pos=2, kind="crossfade", n=8)),
    )  # fmt: skip
    with pytest.raises(RenderError, match=r"Segment 1 · shot 2: the crossfades into and out of this shot \(8 \+ 8 frames\)"):
        _master(seg, spec, cache, engine_clips)


# --------------------------------------------------------------------------------------------
# The film: three segments, joins everywhere, sync checked at every one
# --------------------------------------------------------------------------------------------


def _film_plan(spec: MasterSpec, *, changed: bool = False) -> RenderPlan:
    rows = [
        [("src2398", 60, 5, "cut", 0), ("srcvfr", 55, 0, "cut", 0), ("src60", 50, 8, "cut", 0)],
        [("src25", 58, 0, "cut", 0), ("src30", 61, 3, "crossfade", 6), ("src2997", 60, 0, "fade_black", 8)],
        [("src30", 47, 0, "cut", 0), (None, 30, 0, "cut", 0), ("src2398", 50, 2, "cut", 0)],
    ]
    segments = []
    for si, row in enumerate(rows):
        shots = []
        for k, (name, frames, in_frame, kind, n) in enumerate(row):
            if changed and (si, k) == (1, 0):
                name = "alt"
            shots.append(shot(name, frames=frames, seg=si, pos=k, in_frame=in_frame, kind=kind, n=n))
        segments.append(PlanSegment(id=f"seg-{si}", position=si, title=f"Segment {si + 1}", owner=None, shots=tuple(shots)))
    return RenderPlan(project_id="p", project_title="Sync test", spec=spec, segments=tuple(segments))


def _render(plan: RenderPlan, cache: RenderCache, clips, out_dir: Path, **kw):
    pieces, masters = [], []
    for seg in plan.segments:
        p, m = _master(seg, plan.spec, cache, clips)
        pieces += p
        masters.append(m)
    kw.setdefault("cache", cache)  # as exports do: the AAC track in cached chunks
    result = build_final(plan, masters, plan.spec, out_dir, audio_sources=kw.pop("audio_sources", {}), pieces=pieces, **kw)
    return pieces, masters, result


@pytest.fixture(scope="module")
def sync_film(engine_clips, tmp_path_factory):
    root = tmp_path_factory.mktemp("sync-film")
    spec = MasterSpec(width=160, height=90, fps_num=24000, fps_den=1001)
    plan = _film_plan(spec)
    cache = RenderCache(root / "cache")
    seen: list[float] = []
    pieces, masters, result = _render(plan, cache, engine_clips, root / "out", progress=seen.append)
    return dict(root=root, spec=spec, plan=plan, cache=cache, pieces=pieces, masters=masters, result=result, progress=seen)


def test_film_is_frame_exact_and_audio_matches_video_to_the_sample(sync_film):
    plan, spec, result = sync_film["plan"], sync_film["spec"], sync_film["result"]
    mp4 = result.mp4_path
    assert mp4.is_file() and result.frames == plan.frames == 165 + 173 + 127
    pts = video_frame_pts(mp4)
    assert len(pts) == plan.frames and len({b - a for a, b in zip(pts, pts[1:])}) == 1
    assert result.duration_seconds == pytest.approx(plan.frames * 1001 / 24000)
    # The container's audio length is the picture's to the sample; the decoder adds at most
    # the AAC encoder's last-frame padding (< 1024 samples): under one frame either way.
    assert audio_declared_samples(mp4) == samples_at(plan.frames, spec)
    frame_samples = spec.sample_rate * spec.fps_den / spec.fps_num
    assert 0 <= audio_sample_count(mp4) - samples_at(plan.frames, spec) < frame_samples
    assert result.encoded_pieces == 9 and result.encoded_masters == 3
    p = sync_film["progress"]
    assert p[0] == 0.0 and p[-1] == 1.0 and p == sorted(p)
    with open(mp4, "rb") as fh:  # +faststart: the moov atom comes before the media data
        head = fh.read(4096)
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))


def test_flashes_and_beeps_line_up_at_every_join(sync_film):
    plan, spec, mp4 = sync_film["plan"], sync_film["spec"], sync_film["result"].mp4_path
    flashes = flash_onsets(mp4)
    beeps = beep_onsets(mp4, threshold=0.02)
    with_flash = sum(1 for seg in plan.segments for s in seg.shots if s.source)
    assert len(flashes) == with_flash == 8, flashes
    assert len(beeps) == len(flashes), (beeps, flashes)
    for f, b in zip(flashes, beeps):
        assert abs(b / spec.sample_rate - f * spec.fps_den / spec.fps_num) < spec.fps_den / spec.fps_num, (f, b)
    # And each flash is where the timeline says (segment starts + shot offsets).
    timeline_start, expected = 0, []
    for seg in plan.segments:
        t = timeline_start
        for k, s in enumerate(seg.shots):
            if k and s.transition_kind == "crossfade":
                t -= s.transition_frames
            if s.source:
                name = s.source.storage_key[6:-4]
                expected.append(t + round(flash_seconds(name) * spec.fps) - s.in_frame)
            t += s.frames
        timeline_start += seg.frames
    assert all(abs(f - e) <= 1 for f, e in zip(flashes, expected)), (flashes, expected)


def test_second_export_encodes_nothing(sync_film, engine_clips, monkeypatch):
    calls = []
    real_run = engine_ffmpeg.run
    monkeypatch.setattr(engine_ffmpeg, "run", lambda *a, **k: calls.append(a) or real_run(*a, **k))
    cache = RenderCache(sync_film["cache"].root)
    pieces, masters, result = _render(sync_film["plan"], cache, engine_clips, sync_film["root"] / "out2")
    assert all(p.cache_hit for p in pieces) and all(m.cache_hit for m in masters)
    assert cache.stats["pieces_encoded"] == 0 and cache.stats["masters_encoded"] == 0
    assert result.encoded_pieces == 0 and result.encoded_masters == 0
    # Only the final's two ffmpeg runs (measure the mix, then mux) ran; the AAC track came
    # from the cache, chunk by chunk.
    assert len(calls) == 2 and not any("libx264" in a[0] or "aac" in a[0] for a in calls)
    assert result.audio_chunks_encoded == 0 and result.audio_chunks_reused == 2
    assert count_video_frames(result.mp4_path) == sync_film["plan"].frames


def test_changing_one_take_reencodes_only_its_piece_and_segment(sync_film, engine_clips):
    cache = RenderCache(sync_film["cache"].root)
    plan = _film_plan(sync_film["spec"], changed=True)
    pieces, masters, result = _render(plan, cache, engine_clips, sync_film["root"] / "out3")
    assert cache.stats["pieces_encoded"] == 1 and cache.stats["masters_encoded"] == 1
    assert [m.cache_hit for m in masters] == [True, False, True]
    assert [p.shot_id for p in pieces if not p.cache_hit] == ["shot-1-0"]
    assert count_video_frames(result.mp4_path) == plan.frames
    assert audio_declared_samples(result.mp4_path) == samples_at(plan.frames, plan.spec)


@pytest.mark.parametrize("rate", list(RATES))
def test_final_length_is_exact_at_every_rate(engine_clips, tmp_path, rate):
    spec = spec_at(rate)
    seg = PlanSegment(
        id="seg-0", position=0, title="", owner=None,
        shots=(shot("src60", frames=37, pos=0), shot("srcvfr", frames=41, pos=1, kind="crossfade", n=30),
               shot("src25", frames=33, pos=2, in_frame=3)),
    )  # fmt: skip
    seg2 = PlanSegment(id="seg-1", position=1, title="", owner=None, shots=(shot("src2997", frames=29, seg=1, pos=0),))
    plan = RenderPlan(project_id="p", project_title="Rates", spec=spec, segments=(seg, seg2))
    cache = RenderCache(tmp_path / "cache")
    _, masters, result = _render(plan, cache, engine_clips, tmp_path / "out")
    assert [m.frames for m in masters] == [37 + 41 - 30 + 33, 29]
    assert count_video_frames(result.mp4_path) == plan.frames
    assert audio_declared_samples(result.mp4_path) == samples_at(plan.frames, spec)
    for m in masters:
        assert len(read_wav(m.audio_path, spec)) == samples_at(m.frames, spec)


# --------------------------------------------------------------------------------------------
# The audio mix
# --------------------------------------------------------------------------------------------


def _tone_level(samples: np.ndarray, freq: float, rate: int = 48_000) -> float:
    """Amplitude of ``freq`` in ``samples`` (a single-bin DFT)."""
    t = np.arange(len(samples)) / rate
    return float(2 * np.abs(np.sum(samples * np.exp(-2j * np.pi * freq * t))) / len(samples))


def test_music_narration_ducking_fades_and_loudness(engine_clips, cache, tmp_path):
    spec = spec_at("24")
    seg = PlanSegment(id="seg-0", position=0, title="", owner=None, shots=(shot(None, frames=120),))  # 5 s of slate
    music = PlanAudioClip(
        id="m1", track="music", source=SourceRef("audio/music.wav", "sha-music"), start_frame=0, volume=0.8,
        fade_in_frames=12, fade_out_frames=24,
    )  # fmt: skip
    voice = PlanAudioClip(
        id="n1", track="narration", source=SourceRef("audio/voice.wav", "sha-voice"), start_frame=60, text="Hello."
    )
    plan = RenderPlan(project_id="p", project_title="Mix", spec=spec, segments=(seg,), audio=(music, voice))
    _, _, result = _render(
        plan,
        cache,
        engine_clips,
        tmp_path / "out",
        audio_sources={"m1": engine_clips["music"], "audio/voice.wav": engine_clips["voice"]},
    )
    total = samples_at(120, spec)
    assert audio_declared_samples(result.mp4_path) == total  # the 6 s music clip was cut at the film's end
    mix = decode_audio(result.mp4_path)[:total]
    sr = spec.sample_rate
    before = _tone_level(mix[int(1.2 * sr) : int(2.2 * sr)], 440)  # music alone
    under = _tone_level(mix[int(2.6 * sr) : int(3.0 * sr)], 440)  # music under the voice
    assert 20 * np.log10(under / before) == pytest.approx(-12, abs=1.5)
    assert _tone_level(mix[int(2.6 * sr) : int(3.0 * sr)], 1500) > under  # the voice is on top
    # Fades: silent start rising over 0.5 s; falling to silence at the very end.
    assert np.abs(mix[:200]).max() < 0.05 * np.abs(mix[sr : 2 * sr]).max()
    assert np.abs(mix[-200:]).max() < 0.1 * np.abs(mix[sr : 2 * sr]).max()
    # Loudness normalised to the project's target.
    log = engine_ffmpeg.run(
        ["-i", str(result.mp4_path), "-map", "0:a", "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"],
        what="measure", timeout=60, loglevel="info",
    )  # fmt: skip
    measured = parse_ebur128(log)
    assert measured["I"] == pytest.approx(spec.loudness_target, abs=1.0)
    assert measured["TP"] <= -1.0


def test_missing_audio_file_is_a_readable_error(engine_clips, cache, tmp_path):
    spec = spec_at("24")
    seg = PlanSegment(id="seg-0", position=0, title="", owner=None, shots=(shot(None, frames=24),))
    clip = PlanAudioClip(id="m1", track="music", source=SourceRef("audio/gone.wav", "sha-gone"), start_frame=12)
    plan = RenderPlan(project_id="p", project_title="Mix", spec=spec, segments=(seg,), audio=(clip,))
    with pytest.raises(RenderError, match=r"Music clip at 00:00:00:12: its audio file is not available"):
        _render(plan, cache, engine_clips, tmp_path / "out")
    assert not list((tmp_path / "out").glob("*.mp4"))


def test_loudness_filter_choice():
    assert normalise_filter(None, -16) == "anull"
    assert normalise_filter({"I": -70.0, "TP": float("-inf"), "LRA": 0, "thresh": 0}, -16) == "anull"
    assert normalise_filter({"I": -23.0, "TP": -12.0, "LRA": 3.0, "thresh": -33.0}, -16) == "volume=7.00dB"
    dynamic = normalise_filter({"I": -23.0, "TP": -2.0, "LRA": 3.0, "thresh": -33.0}, -16)
    assert dynamic.startswith("loudnorm=I=-16:TP=-1.5") and "measured_I=-23.0" in dynamic
    log = "...\nSummary:\n\n  Integrated loudness:\n    I:         -21.8 LUFS\n    Threshold: -31.8 LUFS\n\n  Loudness range:\n" \
          "    LRA:         2.5 LU\n    Threshold: -41.8 LUFS\n\n  True peak:\n    Peak:      -21.1 dBFS\n"  # fmt: skip
    assert parse_ebur128(log) == {"I": -21.8, "thresh": -31.8, "LRA": 2.5, "TP": -21.1}


def test_sample_positions_are_integer_and_tile_the_timeline():
    spec = spec_at("29.97")
    assert [samples_at(n, spec) for n in range(6)] == [0, 1601, 3203, 4804, 6406, 8008]
    cuts = [0, 7, 8, 31, 100, 101, 555, 1000]
    assert sum(span_samples(a, b - a, spec) for a, b in zip(cuts, cuts[1:])) == samples_at(1000, spec)


def test_cache_sweep_removes_abandoned_builds(cache):
    stale = cache.root / "tmp" / "pieces-abandoned"
    stale.mkdir()
    (stale / "video.mp4").write_bytes(b"half")
    assert cache.sweep(older_than_seconds=-1) == 1 and not stale.exists()


def test_master_refuses_pieces_of_other_shots(engine_clips, cache):
    spec = spec_at("24")
    seg = PlanSegment(id="seg-0", position=0, title="", owner=None, shots=(shot("src25", frames=10),))
    other = conform_shot(shot("src30", frames=11, pos=1), spec, cache, source_path=engine_clips["src30"])
    with pytest.raises(RenderError, match="does not belong"):
        build_segment_master(seg, [other], spec, cache)


# --------------------------------------------------------------------------------------------
# The ffmpeg runner
# --------------------------------------------------------------------------------------------


def test_ffmpeg_runs_are_bounded_in_time():
    started = time.monotonic()
    with pytest.raises(RenderError, match=r"^Segment 9: ffmpeg ran longer than 1 s and was stopped\.$"):
        engine_ffmpeg.run(["-re", "-f", "lavfi", "-i", "sine=d=600", "-f", "null", "-"], what="Segment 9", timeout=0.6)
    assert time.monotonic() - started < 5


def test_a_failing_heartbeat_stops_the_run(monkeypatch):
    class Cancelled(Exception):
        pass

    def beat():
        raise Cancelled

    monkeypatch.setattr(engine_ffmpeg, "HEARTBEAT_EVERY_SECONDS", 0.2)
    started = time.monotonic()
    with heartbeat_scope(beat), pytest.raises(Cancelled):
        engine_ffmpeg.run(["-re", "-f", "lavfi", "-i", "sine=d=600", "-f", "null", "-"], what="x", timeout=60)
    assert time.monotonic() - started < 5


def test_ffmpeg_errors_are_sentences():
    with pytest.raises(RenderError) as info:
        engine_ffmpeg.run(
            ["-i", "/nonexistent/take.mp4", "-f", "null", "-"],
            what="Segment 1 · shot 1: the source file could not be decoded",
            timeout=30,
        )
    message = str(info.value)
    assert message.startswith("Segment 1 · shot 1: the source file could not be decoded (") and "No such file" in message
    assert info.value.detail
