"""Conform: one shot's take (or its slate) → a piece in the master spec.

A piece is ``video.mp4`` (H.264 in the master spec, exactly ``shot.frames`` frames, no
audio) plus ``audio.wav`` (PCM s16le, exactly ``samples_at(shot.frames)`` samples), cached by
``shot.conform_key(spec)``. One ffmpeg run decodes the take once and writes both.

Picture: the source's timestamps are made to start at 0, the ``fps`` filter converts to the
rational master rate (nearest source frame for each master frame, so 60 fps, 25 fps, NTSC and
variable-frame-rate sources all land on the same integer frame grid), then ``trim`` by frame
number takes [in_frame, in_frame + frames) on that grid — frame exact, no float seeking. ``tpad``
(before the trim) clones the take's last frame if the take is too short, even when the trim
starts past its end (a take replaced by a shorter one holds its last frame, it doesn't fail). Scale to fit inside the master frame
(never stretched), pad black, square pixels, BT.709 4:2:0, encoded with ``x264_args``.

Sound: the source's first audio stream (any rate, mono or stereo) is put on the same time
origin as the picture (gaps filled, pre-roll cut), resampled to the master rate and layout,
trimmed to the same range by sample number and padded with silence; no audio → silence.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from apps.rendering.plan import ConformedPiece, MasterSpec, PlanShot, SlateInfo

from . import ffmpeg
from .audio import ensure_length, samples_at, write_silence
from .cache import PIECES, RenderCache
from .errors import RenderError, shot_label
from .slate import slate_image
from .verify import count_video_packets


@dataclass
class SourceInfo:
    duration: float  # seconds, best known
    video_start: float  # seconds: the time of the first video frame
    sar: Fraction
    has_audio: bool


def probe_source(path: Path, label: str) -> SourceInfo:
    """Look at a take with PyAV; a file that is not decodable video gets a readable error."""
    import av

    try:
        container = av.open(str(path))
    except Exception as exc:  # av raises many kinds; all mean "not media we can read"
        raise RenderError(f"{label}: the source file could not be decoded ({_short(exc)}).", detail=repr(exc))
    try:
        if not container.streams.video:
            raise RenderError(f"{label}: the source file has no video in it.")
        vs = container.streams.video[0]
        start = float(vs.start_time * vs.time_base) if vs.start_time is not None and vs.time_base else 0.0
        if vs.duration is not None and vs.time_base:
            duration = float(vs.duration * vs.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        sar = vs.sample_aspect_ratio or Fraction(1)
        if sar <= 0:
            sar = Fraction(1)
        return SourceInfo(duration=duration, video_start=start, sar=Fraction(sar), has_audio=bool(container.streams.audio))
    finally:
        container.close()


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:160]


def default_slate(shot: PlanShot) -> SlateInfo:
    return SlateInfo(line1=f"SEGMENT {shot.segment_position + 1} · SHOT {shot.position + 1}", line2="NOT YET APPROVED")


def conform_shot(shot: PlanShot, spec: MasterSpec, cache: RenderCache, *, source_path: Path | None) -> ConformedPiece:
    """The shot conformed to ``spec`` (from the cache when already made: ``cache_hit=True``
    and nothing is encoded). ``source_path`` is the local file of ``shot.source``; a shot
    without a source gets its slate at its true length, with silence."""
    label = shot_label(shot)
    if shot.frames <= 0:
        raise RenderError(f"{label}: the shot has no frames on the timeline.", shot_id=shot.id)
    key = shot.conform_key(spec)
    entry = cache.get(PIECES, key)
    if entry is not None:
        cache.stats["pieces_hit"] += 1
        return ConformedPiece(shot.id, entry.video_path, entry.audio_path, shot.frames, cache_hit=True)

    try:
        with cache.build(PIECES, key) as tmp:
            video, audio = tmp / "video.mp4", tmp / "audio.wav"
            if shot.source is None:
                _conform_slate(shot, spec, video, audio, tmp)
                kind = "slate"
            else:
                if source_path is None or not Path(source_path).is_file():
                    raise RenderError(f"{label}: the take's file is not available to the render worker.")
                _conform_source(shot, spec, Path(source_path), video, audio)
                kind = "take"
            got = count_video_packets(video)
            if got != shot.frames:
                raise RenderError(f"{label}: the conformed picture has {got} frames instead of {shot.frames}.")
            cache.seal(tmp, key, kind=kind, frames=shot.frames, samples=samples_at(shot.frames, spec), shot_id=shot.id)
    except RenderError as exc:
        exc.shot_id = exc.shot_id or shot.id
        exc.segment_id = exc.segment_id or shot.segment_id
        raise
    cache.stats["pieces_encoded"] += 1
    entry = cache.get(PIECES, key)
    if entry is None:  # pragma: no cover - only if the disk loses what we just wrote
        raise RenderError(f"{label}: the conformed piece could not be stored in the render cache.", shot_id=shot.id)
    return ConformedPiece(shot.id, entry.video_path, entry.audio_path, shot.frames, cache_hit=False)


def _conform_source(shot: PlanShot, spec: MasterSpec, src: Path, video: Path, audio: Path) -> None:
    label = shot_label(shot)
    info = probe_source(src, label)
    frames = shot.frames
    in_frame = max(0, shot.in_frame)
    n_samples = samples_at(frames, spec)
    first_sample = samples_at(in_frame, spec)

    sar_fix = ""
    if info.sar != 1:
        sar_fix = f"scale=trunc(iw*{info.sar.numerator}/{info.sar.denominator}/2)*2:ih,setsar=1,"
    vf = (
        f"[0:v:0]setpts=PTS-STARTPTS,{sar_fix}fps={ffmpeg.rate(spec)}:round=near,"
        f"tpad=stop_mode=clone:stop={in_frame + frames},"
        f"trim=start_frame={in_frame}:end_frame={in_frame + frames},setpts=PTS-STARTPTS,"
        f"{ffmpeg.picture_filters(spec)}[v]"
    )
    graph = [vf]
    if info.has_audio:
        graph.append(
            f"[0:a:0]asetpts=PTS-{info.video_start:.9f}/TB,"
            f"aresample={spec.sample_rate}:async=1:first_pts=0,"
            f"aformat=sample_fmts=s16:sample_rates={spec.sample_rate}:channel_layouts={_layout(spec)},"
            f"atrim=start_sample={first_sample}:end_sample={first_sample + n_samples},asetpts=PTS-STARTPTS,"
            f"apad=whole_len={n_samples}[a]"
        )
    args = ["-i", str(src), "-filter_complex", ";".join(graph)]
    args += ["-map", "[v]", *ffmpeg.x264_args(spec), "-frames:v", str(frames), "-an", "-f", "mp4", str(video)]
    if info.has_audio:
        args += ["-map", "[a]", "-c:a", "pcm_s16le", "-ar", str(spec.sample_rate), "-ac", str(spec.channels)]
        args += ["-map_metadata", "-1", "-fflags", "+bitexact", "-f", "wav", str(audio)]
    seconds = max(info.duration, frames * spec.fps_den / spec.fps_num)
    ffmpeg.run(args, what=f"{label}: the source file could not be decoded", timeout=ffmpeg.timeout_for(seconds))
    if info.has_audio:
        ensure_length(audio, n_samples, spec)
    else:
        write_silence(audio, n_samples, spec)


def _conform_slate(shot: PlanShot, spec: MasterSpec, video: Path, audio: Path, tmp: Path) -> None:
    label = shot_label(shot)
    png = slate_image(shot.slate or default_slate(shot), spec.width, spec.height, tmp / "slate.png")
    args = ["-loop", "1", "-framerate", ffmpeg.rate(spec), "-i", str(png)]
    args += ["-vf", ffmpeg.picture_filters(spec), *ffmpeg.x264_args(spec)]
    args += ["-frames:v", str(shot.frames), "-an", "-f", "mp4", str(video)]
    seconds = shot.frames * spec.fps_den / spec.fps_num
    ffmpeg.run(args, what=f"{label}: the slate could not be made", timeout=ffmpeg.timeout_for(seconds))
    png.unlink()
    write_silence(audio, samples_at(shot.frames, spec), spec)


def _layout(spec: MasterSpec) -> str:
    return {1: "mono", 2: "stereo"}.get(spec.channels, f"{spec.channels}c")
