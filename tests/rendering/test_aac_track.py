"""The film's AAC track in cached chunks (engine.aac) and the held loudness gain (engine.final).

Chunks are made small here (half a second) so a few seconds of audio cross many joins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from apps.rendering.engine import RenderCache, aac
from apps.rendering.engine import final as final_mod
from apps.rendering.engine.audio import samples_at
from apps.rendering.engine.verify import audio_declared_samples, beep_onsets, decode_audio
from apps.rendering.plan import MasterSpec, RenderPlan
from tests.rendering.test_engine import _film_plan, _render, engine_clips  # noqa: F401 (a fixture)

RATE = 48_000
SPEC = MasterSpec(width=160, height=90, fps_num=24000, fps_den=1001)


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(aac, "CHUNK_FRAMES", 24)  # 0.512 s
    monkeypatch.setattr(aac, "PREROLL_FRAMES", 16)
    return aac


def _signal(total: int, beeps: list[int]):
    """A quiet hum with 1 kHz beeps of 50 ms starting at the given samples."""
    def read(lo: int, hi: int) -> np.ndarray:
        t = np.arange(lo, hi)
        x = 0.05 * np.sin(2 * np.pi * 110 * t / RATE)
        for b in beeps:
            on = (t >= b) & (t < b + RATE // 20)
            x = np.where(on, x + 0.5 * np.sin(2 * np.pi * 1000 * (t - b) / RATE), x)
        return np.stack([x, 0.7 * x], axis=1).astype(np.float32)

    return read


def test_chunk_grid_is_aac_frames_and_tiles_the_track(small_chunks):
    bounds = aac.chunk_bounds(100_000)
    assert bounds[0][0] == 0 and bounds[-1][1] == 100_000
    assert all(a % 1024 == 0 for a, _ in bounds)
    assert all(b1 == a2 for (_, b1), (a2, _) in zip(bounds, bounds[1:]))


def test_many_chunks_join_without_drift_or_seams(monkeypatch, tmp_path):
    monkeypatch.setattr(aac, "CHUNK_FRAMES", 24)  # 0.512 s; the pre-roll stays the real one
    total = samples_at(24 * 6 + 7, SPEC)  # 6.3 s at 23.976 fps: 13 chunks
    beeps = [int(RATE * s) for s in (0.1, 0.5115, 1.0235, 2.7, 4.0955, 5.9)]  # some right on a join
    read = _signal(total, beeps)
    cache = RenderCache(tmp_path / "cache")
    stats = aac.encode_track(total, read, SPEC, tmp_path / "chunked.m4a", cache=cache)
    assert stats.chunks == len(aac.chunk_bounds(total)) >= 12 and stats.encoded == stats.chunks

    # The declared length is the film's to the sample; the decoded beeps are where they were put.
    chunked = tmp_path / "chunked.m4a"
    assert audio_declared_samples(chunked) == total
    found = beep_onsets(chunked, threshold=0.1)
    assert len(found) == len(beeps)
    assert all(abs(f - b) <= 48 for f, b in zip(found, beeps)), (found, beeps)  # within 1 ms

    # As faithful as one encode of the whole track: no click, gap or priming at any join.
    extradata, packets = aac.encode_pcm(read(0, total), SPEC)
    aac.write_m4a(tmp_path / "whole.m4a", extradata, packets, SPEC)
    a, b = decode_audio(chunked)[:total], decode_audio(tmp_path / "whole.m4a")[:total]
    assert len(a) == len(b) == total
    src = read(0, total).mean(axis=1)
    src *= float(np.dot(b, src) / np.dot(src, src))  # the decoder's downmix scale

    def error(x: np.ndarray, around: slice) -> float:
        return float(np.sqrt(np.mean((x[around] - src[around]) ** 2)))

    for start, _ in aac.chunk_bounds(total)[1:]:
        around = slice(start - 2048, start + 2048)
        level = float(np.sqrt(np.mean(src[around] ** 2)))
        assert error(a, around) <= 1.5 * error(b, around) + 0.002 * level, start
        assert error(a, around) < 0.05 * level, start


def test_unchanged_chunks_are_reused_and_a_change_reencodes_only_what_hears_it(small_chunks, tmp_path):
    total = RATE * 5
    cache = RenderCache(tmp_path / "cache")
    first = aac.encode_track(total, _signal(total, [RATE]), SPEC, tmp_path / "one.m4a", cache=cache)
    again = aac.encode_track(total, _signal(total, [RATE]), SPEC, tmp_path / "two.m4a", cache=RenderCache(cache.root))
    assert first.encoded == first.chunks and again.encoded == 0 and again.reused == again.chunks
    assert (tmp_path / "one.m4a").read_bytes() == (tmp_path / "two.m4a").read_bytes()

    moved = RATE * 4  # the beep moves from 1 s to 4 s: chunks that hear either place change
    changed = aac.encode_track(total, _signal(total, [moved]), SPEC, tmp_path / "three.m4a", cache=RenderCache(cache.root))
    pre, post = aac.PREROLL_FRAMES * 1024, aac.POSTROLL_FRAMES * 1024
    hears = [
        (a, b)
        for a, b in aac.chunk_bounds(total)
        if any(max(a - pre, 0) < s + RATE // 20 and s < b + post for s in (RATE, moved))
    ]
    assert changed.encoded == len(hears) < changed.chunks
    assert changed.reused == changed.chunks - len(hears)
    assert beep_onsets(tmp_path / "three.m4a", threshold=0.1) == pytest.approx([moved], abs=48)


def test_a_damaged_chunk_is_encoded_again(small_chunks, tmp_path):
    total = RATE * 2
    cache = RenderCache(tmp_path / "cache")
    aac.encode_track(total, _signal(total, [RATE]), SPEC, tmp_path / "one.m4a", cache=cache)
    victim = next((cache.root / "audio").iterdir()) / "packets.bin"
    victim.write_bytes(victim.read_bytes()[:-10])  # size no longer matches meta.json
    stats = aac.encode_track(total, _signal(total, [RATE]), SPEC, tmp_path / "two.m4a", cache=RenderCache(cache.root))
    assert stats.encoded == 1 and stats.reused == stats.chunks - 1
    assert (tmp_path / "one.m4a").read_bytes() == (tmp_path / "two.m4a").read_bytes()


def test_reexport_after_one_take_changes_reuses_the_soundtrack_around_it(small_chunks, engine_clips, tmp_path):  # noqa: F811
    cache = RenderCache(tmp_path / "cache")
    plan = _film_plan(SPEC)
    *_, first = _render(plan, cache, engine_clips, tmp_path / "out1")
    chunks = len(aac.chunk_bounds(samples_at(plan.frames, SPEC)))
    # (Chunks whose input is identical — silence, a repeated sound — are encoded once.)
    assert first.audio_chunks_encoded > 0 and first.audio_chunks_encoded + first.audio_chunks_reused == chunks

    changed = _film_plan(SPEC, changed=True)  # segment 2's first shot gets another take
    *_, second = _render(changed, RenderCache(cache.root), engine_clips, tmp_path / "out2")
    assert second.gain_db == first.gain_db  # the film's loudness barely moved: the gain is held
    seg = changed.segments[1]
    start = samples_at(changed.segments[0].frames, SPEC)
    end = samples_at(changed.segments[0].frames + seg.shots[0].frames, SPEC)
    pre, post = aac.PREROLL_FRAMES * 1024, aac.POSTROLL_FRAMES * 1024
    hears = [(a, b) for a, b in aac.chunk_bounds(samples_at(changed.frames, SPEC)) if max(a - pre, 0) < end and start < b + post]
    assert 0 < second.audio_chunks_encoded <= len(hears)
    assert second.audio_chunks_reused == len(aac.chunk_bounds(samples_at(changed.frames, SPEC))) - second.audio_chunks_encoded
    assert audio_declared_samples(second.mp4_path) == samples_at(changed.frames, SPEC)


# --------------------------------------------------------------------------------------------
# The held loudness gain
# --------------------------------------------------------------------------------------------


def _measured(i: float, tp: float = -20.0) -> dict[str, float]:
    return {"I": i, "TP": tp, "LRA": 3.0, "thresh": i - 10}


def _plan(*segment_ids: str) -> RenderPlan:
    from apps.rendering.plan import PlanSegment

    segs = tuple(PlanSegment(id=s, position=k, title="", owner=None, shots=()) for k, s in enumerate(segment_ids))
    return RenderPlan(project_id="p", project_title="", spec=SPEC, segments=segs)


def test_gain_is_held_within_tolerance_and_recomputed_beyond_it(tmp_path):
    cache = RenderCache(tmp_path / "cache")
    plan = _plan("a", "b")
    assert final_mod._chosen_gain(_measured(-20.0), -16.0, cache, plan) == pytest.approx(4.0)
    # One take changed, the film is 0.3 LU quieter: 4 dB still lands within 0.5 LU of target.
    assert final_mod._chosen_gain(_measured(-20.3), -16.0, cache, plan) == pytest.approx(4.0)
    # Reordered segments are the same cut.
    assert final_mod._chosen_gain(_measured(-19.7), -16.0, cache, _plan("b", "a")) == pytest.approx(4.0)
    # 0.8 LU off would miss the target: the exact gain, remembered for next time.
    assert final_mod._chosen_gain(_measured(-20.8), -16.0, cache, plan) == pytest.approx(4.8)
    assert final_mod._chosen_gain(_measured(-20.7), -16.0, cache, plan) == pytest.approx(4.8)
    # A held gain that would push the true peak over -1.5 dBTP is not kept.
    assert final_mod._chosen_gain(_measured(-20.5, tp=-6.2), -16.0, cache, plan) == pytest.approx(4.5)
    # Another cut (another set of segments) has its own gain.
    assert final_mod._chosen_gain(_measured(-25.0), -16.0, cache, _plan("a")) == pytest.approx(9.0)
    # Silence is left alone; no single gain possible → None (dynamic loudnorm).
    assert final_mod._chosen_gain(_measured(-80.0), -16.0, cache, plan) == 0.0
    assert final_mod._chosen_gain(_measured(-30.0, tp=-3.0), -16.0, cache, plan) is None


def test_a_damaged_gain_file_is_ignored(tmp_path):
    cache = RenderCache(tmp_path / "cache")
    plan = _plan("a")
    final_mod._chosen_gain(_measured(-20.0), -16.0, cache, plan)
    path: Path = final_mod._gain_file(cache, plan)
    path.write_text("{not json")
    assert final_mod._chosen_gain(_measured(-20.2), -16.0, cache, plan) == pytest.approx(4.2)  # exact, not held


def test_a_mix_no_single_gain_can_normalise_goes_through_loudnorm_whole(engine_clips, tmp_path):  # noqa: F811
    """Quiet, with a full-scale click: +24 dB would clip, so loudnorm (dynamic) normalises it
    and the track is encoded in one run — still exactly as long as the picture."""
    from apps.rendering.plan import PlanAudioClip, PlanSegment, SourceRef
    from tests.rendering.media import ffmpeg as make
    from tests.rendering.test_engine import shot

    spec = MasterSpec(width=160, height=90, fps_num=24, fps_den=1)
    fx = tmp_path / "click.wav"
    make("-f", "lavfi", "-i", "aevalsrc='0.01*sin(2*PI*440*t)+if(between(t,1,1.002),0.99,0)':s=48000:c=stereo:d=3", "-c:a", "pcm_s16le", str(fx))
    seg = PlanSegment(id="seg-0", position=0, title="", owner=None, shots=(shot(None, frames=72),))
    clip = PlanAudioClip(id="fx", track="effects", source=SourceRef("fx", "sha-fx"), start_frame=0)
    plan = RenderPlan(project_id="p", project_title="Click", spec=spec, segments=(seg,), audio=(clip,))
    cache = RenderCache(tmp_path / "cache")
    *_, result = _render(plan, cache, engine_clips, tmp_path / "out", audio_sources={"fx": fx})
    assert result.gain_db is None and result.audio_chunks_encoded == result.audio_chunks_reused == 0
    assert audio_declared_samples(result.mp4_path) == samples_at(72, spec)
