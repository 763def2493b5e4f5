"""Benchmark: the render engine on a 50-segment film, against a naive moviepy render.

Builds a film of 50 segments × 1 shot × 4 s in a 1280×720 24 fps master from ten distinct
source clips (mixed 24/25/30/23.976 fps; 1280×720, 1920×1080 and portrait 720×1280, with
sound; the shots reuse them with different trims, so every shot has its own cache key),
plus a music bed and a few narration clips. Prints:

* first export time (engine only: conform + segment masters + final),
* re-export time after one take changes (one piece, one master and the AAC chunks around
  that shot re-encoded),
* the same cut rendered naively with moviepy (``concatenate_videoclips(method="compose")``
  + ``write_videofile``), and the ratio naive / re-export,
* decoded audio length minus video length of the engine's MP4 (ms and frames).

Targets: re-export ≥ 50× faster than the naive render; A/V difference < 1 frame.
No assertions (figures only).

    .venv/bin/python bench/export.py [--segments 50] [--seconds 4] [--no-naive] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.rendering.engine import RenderCache, build_final, build_segment_master, conform_shot  # noqa: E402
from apps.rendering.engine.verify import audio_declared_samples, audio_sample_count, count_video_packets  # noqa: E402
from apps.rendering.plan import MasterSpec, PlanAudioClip, PlanSegment, PlanShot, RenderPlan, SourceRef  # noqa: E402
from tests.rendering.media import ffmpeg, make_tone  # noqa: E402

SPEC = MasterSpec(width=1280, height=720, fps_num=24, fps_den=1)
SOURCES = [  # (fps, width, height)
    ("24", 1280, 720),
    ("25", 1920, 1080),
    ("30", 720, 1280),
    ("24000/1001", 1280, 720),
    ("25", 1280, 720),
    ("30", 1920, 1080),
    ("24", 720, 1280),
    ("24000/1001", 1920, 1080),
    ("30", 1280, 720),
    ("24", 1920, 1080),
]


def make_source(path: Path, fps: str, w: int, h: int, seconds: float, tone: int) -> Path:
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate={fps}",
        "-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=44100",
        "-t", f"{seconds}", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-shortest", str(path),
        timeout=600,
    )  # fmt: skip
    return path


def build_plan(
    n_segments: int, shot_frames: int, sources: list[tuple[str, Path]], audio: tuple[PlanAudioClip, ...]
) -> RenderPlan:
    segments = []
    for i in range(n_segments):
        sha, _ = sources[i % len(sources)]
        in_frame = (i // len(sources)) * 3  # the same source again, another trim → another key
        shot = PlanShot(
            id=f"shot-{i}", segment_id=f"seg-{i}", segment_position=i, position=0, title=f"Shot {i + 1}",
            frames=shot_frames, in_frame=in_frame, source=SourceRef(storage_key=sha, sha256=sha),
        )  # fmt: skip
        segments.append(PlanSegment(id=f"seg-{i}", position=i, title=f"Segment {i + 1}", owner=None, shots=(shot,)))
    return RenderPlan(project_id="bench", project_title="Bench", spec=SPEC, segments=tuple(segments), audio=audio)


def _db(gain: float | None) -> str:
    return "dynamic (loudnorm)" if gain is None else f"{gain:+.2f} dB"


def cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (ffmpeg): unlike wall time, it
    does not grow when other work shares the machine."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def export(plan: RenderPlan, cache: RenderCache, files: dict[str, Path], audio_files: dict[str, Path], out: Path):
    """(wall seconds, CPU seconds, seconds spent in conform + masters, result)."""
    started, cpu0 = time.perf_counter(), cpu_seconds()
    pieces, masters = [], []
    for seg in plan.segments:
        seg_pieces = [conform_shot(s, plan.spec, cache, source_path=files[s.source.sha256]) for s in seg.shots]
        pieces += seg_pieces
        masters.append(build_segment_master(seg, seg_pieces, plan.spec, cache))
    shots_done = time.perf_counter() - started
    result = build_final(plan, masters, plan.spec, out, audio_sources=audio_files, pieces=pieces, cache=cache)
    return time.perf_counter() - started, cpu_seconds() - cpu0, shots_done, result


def naive(plan: RenderPlan, files: dict[str, Path], music: Path, out: Path, preset: str) -> tuple[float, float]:
    from moviepy import AudioFileClip, CompositeAudioClip, VideoFileClip, concatenate_videoclips

    fps = plan.spec.fps_num / plan.spec.fps_den
    started, cpu0 = time.perf_counter(), cpu_seconds()
    clips, opened = [], []
    for seg in plan.segments:
        for s in seg.shots:
            clip = VideoFileClip(str(files[s.source.sha256]))
            opened.append(clip)
            t0 = s.in_frame / fps
            sub = clip.subclipped(t0, t0 + s.frames / fps)
            if sub.w / sub.h > plan.spec.width / plan.spec.height:
                sub = sub.resized(width=plan.spec.width)
            else:
                sub = sub.resized(height=plan.spec.height)
            clips.append(sub)
    film = concatenate_videoclips(clips, method="compose")
    bed = AudioFileClip(str(music)).with_duration(film.duration).with_volume_scaled(0.5)
    film = film.with_audio(CompositeAudioClip([film.audio, bed]))
    film.write_videofile(
        str(out), fps=fps, codec="libx264", preset=preset, audio_codec="aac", audio_bitrate="192k",
        threads=2, logger=None,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    for c in opened:
        c.close()
    return elapsed, cpu_seconds() - cpu0


def av_difference(path: Path, frames: int) -> tuple[float, float | None]:
    """Audio length minus video length in ms: (as decoded — including any AAC end padding —,
    as the MP4 declares it)."""
    import av

    with av.open(str(path)) as c:
        rate = c.streams.audio[0].rate
    video_ms = frames * 1000 * SPEC.fps_den / SPEC.fps_num
    declared = audio_declared_samples(path)
    decoded_ms = audio_sample_count(path) * 1000 / rate - video_ms
    return decoded_ms, (declared * 1000 / rate - video_ms if declared is not None else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each shot")
    parser.add_argument("--no-naive", action="store_true", help="skip the moviepy render")
    parser.add_argument(
        "--naive-preset",
        default=SPEC.preset,
        help="x264 preset of the moviepy render (default: the master's; moviepy's own is medium)",
    )
    parser.add_argument("--keep", type=Path, default=None, help="work in this directory and keep it")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="montage-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    shot_frames = round(args.seconds * SPEC.fps_num / SPEC.fps_den)
    film_frames = shot_frames * args.segments
    film_seconds = film_frames * SPEC.fps_den / SPEC.fps_num
    print(f"Film: {args.segments} segments × 1 shot × {shot_frames} frames = {film_frames} frames ({film_seconds:.0f} s)")
    print(f"Master: {SPEC.width}×{SPEC.height} @ {SPEC.fps_num}/{SPEC.fps_den} fps, x264 {SPEC.preset} crf {SPEC.crf}, AAC 192k")
    print(f"Machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    try:
        t = time.perf_counter()
        src_dir = work / "sources"
        src_dir.mkdir(exist_ok=True)
        src_seconds = args.seconds + (args.segments // len(SOURCES)) * 3 / 24 + 0.5
        sources: list[tuple[str, Path]] = []
        for k, (fps, w, h) in enumerate(SOURCES):
            path = src_dir / f"src{k}.mp4"
            if not path.exists():
                make_source(path, fps, w, h, src_seconds, tone=300 + 40 * k)
            sources.append((f"sha-src{k}", path))
        changed = src_dir / "changed.mp4"
        if not changed.exists():
            make_source(changed, "25", 1920, 1080, src_seconds, tone=1000)
        music = src_dir / "music.wav"
        if not music.exists():
            make_tone(music, film_seconds + 1, freq=220, amplitude=0.2, rate=44_100)
        voice = src_dir / "voice.wav"
        if not voice.exists():
            make_tone(voice, 3.0, freq=880, amplitude=0.3, rate=22_050, channels=1)
        files = dict(sources)
        audio = (
            PlanAudioClip(
                id="music",
                track="music",
                source=SourceRef("music", "sha-music"),
                start_frame=0,
                volume=0.6,
                fade_in_frames=24,
                fade_out_frames=48,
            ),
        ) + tuple(
            PlanAudioClip(
                id=f"vo{i}",
                track="narration",
                source=SourceRef("voice", "sha-voice"),
                start_frame=i * film_frames // 6,
                text=f"Line {i}",
            )
            for i in range(1, 6)
        )
        audio_files = {"music": music, "voice": voice}
        plan = build_plan(args.segments, shot_frames, sources, audio)
        print(f"Sources: {len(SOURCES)} clips of {src_seconds:.1f} s made in {time.perf_counter() - t:.1f} s")

        shutil.rmtree(work / "cache", ignore_errors=True)
        cache = RenderCache(work / "cache")
        first, first_cpu, first_shots, result = export(plan, cache, files, audio_files, work / "out1")
        print(
            f"\nFirst export:   {first:7.1f} s  (CPU {first_cpu:.1f} s; conform + masters {first_shots:.1f} s, "
            f"final {first - first_shots:.1f} s; {result.encoded_pieces} pieces, {result.encoded_masters} masters encoded)"
        )

        # One take changes (a new take of one shot), three times over, a different shot each
        # time: the median is the figure (the machine may be busy with other work).
        times, plan2, result2, cache2 = [], plan, result, cache
        for round_no, seg_index in enumerate(k % args.segments for k in (17, 33, 5)):
            segs = list(plan2.segments)
            s = segs[seg_index].shots[0]
            new_shot = replace(s, source=SourceRef("sha-changed", f"sha-changed-{round_no}"), take_number=2)
            segs[seg_index] = replace(segs[seg_index], shots=(new_shot,))
            plan2 = replace(plan2, segments=tuple(segs))
            files[f"sha-changed-{round_no}"] = changed
            cache2 = RenderCache(work / "cache")
            elapsed, used, shots_done, result2 = export(plan2, cache2, files, audio_files, work / f"out{round_no + 2}")
            times.append((elapsed, used, shots_done))
        again, again_cpu, again_shots = sorted(times)[1]
        print(
            f"Re-export:      {again:7.1f} s  (CPU {again_cpu:.1f} s; conform + masters {again_shots:.1f} s, "
            f"final {again - again_shots:.1f} s; median of {', '.join(f'{t[0]:.1f}' for t in times)} s)"
        )
        print(
            f"                each: {result2.encoded_pieces} piece and {result2.encoded_masters} master encoded, "
            f"{cache2.stats['pieces_hit']} pieces and {cache2.stats['masters_hit']} masters from the cache;"
        )
        print(
            f"                sound: {result2.audio_chunks_encoded} of {result2.audio_chunks_encoded + result2.audio_chunks_reused} "
            f"AAC chunks encoded, the rest from the cache (loudness gain {_db(result2.gain_db)}; first export {_db(result.gain_db)})"
        )

        frames = count_video_packets(result2.mp4_path)
        decoded, declared = av_difference(result2.mp4_path, frames)
        frame_ms = 1000 * SPEC.fps_den / SPEC.fps_num
        print(f"\nEngine MP4: {frames} frames (plan: {plan2.frames}); audio − video:")
        print(f"  as the MP4 declares it:                 {declared:8.2f} ms = {declared / frame_ms:.3f} frames")
        print(f"  decoded (incl. any AAC end padding):    {decoded:8.2f} ms = {decoded / frame_ms:.3f} frames")

        if not args.no_naive:
            out = work / "naive.mp4"
            naive_s, naive_cpu = naive(plan2, files, music, out, args.naive_preset)
            n_frames = count_video_packets(out)
            n_dec, n_decl = av_difference(out, n_frames)
            print(
                f"\nNaive moviepy:  {naive_s:7.1f} s  (CPU {naive_cpu:.1f} s; compose + write_videofile, x264 {args.naive_preset})"
            )
            print(f"  its MP4: {n_frames} frames; audio − video decoded {n_dec:.1f} ms ({n_dec / frame_ms:.2f} frames)")
            print(f"\nRatio naive / re-export: {naive_s / again:.1f}× wall, {naive_cpu / again_cpu:.1f}× CPU   (target ≥ 50×)")
            print(f"Ratio naive / first export: {naive_s / first:.1f}×")
        print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
