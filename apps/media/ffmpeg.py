"""ffmpeg helpers for ingest: thumbnail, filmstrip, browser proxy, waveform.

The binary is a system ``ffmpeg`` on PATH when there is one, else the one imageio-ffmpeg
ships. Every call has a timeout (the process is killed when it runs out) and can call a
``heartbeat`` callback while it runs, so that a long encode keeps its job row fresh.
"""

from __future__ import annotations

import functools
import itertools
import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from fractions import Fraction

from django.conf import settings

logger = logging.getLogger(__name__)

Heartbeat = Callable[[], None] | None

HEARTBEAT_EVERY_SECONDS = 20.0
PROXY_LONG_SIDE = 1280
PROXY_SHORT_SIDE = 720
THUMBNAIL_MAX_WIDTH = 640
THUMBNAIL_MAX_HEIGHT = 360
FILMSTRIP_FRAMES = 10
FILMSTRIP_TILE_WIDTH = 160
WAVEFORM_BUCKETS = 200
WAVEFORM_RATE = 8000


class FFmpegError(Exception):
    """ffmpeg failed. ``stderr`` holds the tail of its log (for logs, not for people)."""

    def __init__(self, message: str, *, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


class FFmpegTimeout(FFmpegError):
    def __init__(self, seconds: float, *, stderr: str = "") -> None:
        super().__init__(f"ffmpeg ran longer than {seconds:.0f} s and was stopped.", stderr=stderr)
        self.seconds = seconds


@functools.cache
def ffmpeg_exe() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def base_timeout() -> float:
    return float(getattr(settings, "MONTAGE_FFMPEG_TIMEOUT_SECONDS", 300))


def encode_timeout(duration_seconds: float | None) -> float:
    """Budget for a whole-file encode: the base timeout plus 1.5 × the media's duration."""
    return base_timeout() + 1.5 * float(duration_seconds or 0)


def _cmd(args: Sequence[str]) -> list[str]:
    return [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]


def run(args: Sequence[str], *, timeout: float, heartbeat: Heartbeat = None) -> None:
    """Run ffmpeg with ``args``; raise FFmpegError on failure, FFmpegTimeout on timeout."""
    cmd = _cmd(args)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = b""
    try:
        while True:
            remaining = timeout - (time.monotonic() - started)
            if remaining <= 0:
                proc.kill()
                _, stderr = proc.communicate()
                raise FFmpegTimeout(timeout, stderr=_tail(stderr))
            try:
                _, stderr = proc.communicate(timeout=min(HEARTBEAT_EVERY_SECONDS, remaining))
                break
            except subprocess.TimeoutExpired:
                if heartbeat:
                    heartbeat()
    finally:
        if proc.poll() is None:  # pragma: no cover - only on unexpected exceptions
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        tail = _tail(stderr)
        logger.info("ffmpeg failed (%s): %s\n%s", proc.returncode, " ".join(cmd), tail)
        raise FFmpegError(f"ffmpeg exited with status {proc.returncode}.", stderr=tail)


def _tail(stderr: bytes | None, limit: int = 2000) -> str:
    return (stderr or b"").decode("utf-8", errors="replace")[-limit:]


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def fit_within(width: int, height: int, *, max_width: int, max_height: int, upscale: bool = False) -> tuple[int, int]:
    """Largest even size with the aspect of width×height that fits in max_width×max_height."""
    if width <= 0 or height <= 0:
        return _even(max_width), _even(max_height)
    scale = min(max_width / width, max_height / height)
    if not upscale:
        scale = min(scale, 1.0)
    return _even(round(width * scale)), _even(round(height * scale))


def proxy_size(display_width: int, height: int) -> tuple[int, int]:
    """At most 720p, keeping the display aspect: long side ≤ 1280, short side ≤ 720, even."""
    if display_width >= height:
        return fit_within(display_width, height, max_width=PROXY_LONG_SIDE, max_height=PROXY_SHORT_SIDE)
    return fit_within(display_width, height, max_width=PROXY_SHORT_SIDE, max_height=PROXY_LONG_SIDE)


# --------------------------------------------------------------------------------------------
# Derivatives
# --------------------------------------------------------------------------------------------


def make_proxy(
    src: str,
    dest: str,
    *,
    video_stream: int,
    audio_stream: int | None,
    display_width: int,
    height: int,
    duration_seconds: float | None,
    heartbeat: Heartbeat = None,
) -> tuple[int, int]:
    """Browser proxy: MP4, H.264 yuv420p ≤720p (even, aspect kept), AAC when there is audio,
    moov atom first (``+faststart``) so playback starts before the whole file is loaded."""
    w, h = proxy_size(display_width, height)
    args = ["-i", src, "-map", f"0:{video_stream}"]
    if audio_stream is not None:
        args += ["-map", f"0:{audio_stream}"]
    args += [
        "-vf", f"scale={w}:{h}:flags=bicubic,setsar=1,format=yuv420p",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-g", "48", "-fps_mode", "passthrough",
    ]  # fmt: skip
    if audio_stream is not None:
        args += ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000"]
    args += ["-sn", "-dn", "-map_metadata", "-1", "-movflags", "+faststart", "-max_muxing_queue_size", "4096"]
    args += ["-f", "mp4", dest]
    run(args, timeout=encode_timeout(duration_seconds), heartbeat=heartbeat)
    return w, h


def make_audio_proxy(
    src: str, dest: str, *, audio_stream: int, duration_seconds: float | None, heartbeat: Heartbeat = None
) -> None:
    """Browser-playable audio: AAC in an MP4 (.m4a) container, faststart."""
    args = [
        "-i", src, "-map", f"0:{audio_stream}", "-vn", "-c:a", "aac", "-b:a", "160k", "-ar", "48000",
        "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", dest,
    ]  # fmt: skip
    run(args, timeout=encode_timeout(duration_seconds), heartbeat=heartbeat)


def make_thumbnail(
    src: str,
    dest: str,
    *,
    video_stream: int,
    display_width: int,
    height: int,
    at_seconds: float | None = None,
    heartbeat: Heartbeat = None,
) -> tuple[int, int]:
    """One JPEG frame, at most 640×360 (aspect kept). Falls back to the first frame."""
    w, h = fit_within(display_width, height, max_width=THUMBNAIL_MAX_WIDTH, max_height=THUMBNAIL_MAX_HEIGHT)
    tail = [
        "-map", f"0:{video_stream}", "-frames:v", "1",
        "-vf", f"scale={w}:{h}:flags=bicubic,setsar=1,format=yuvj420p",
        "-q:v", "4", "-f", "image2", "-update", "1", dest,
    ]  # fmt: skip
    attempts = [["-ss", f"{at_seconds:.3f}"]] if at_seconds else []
    attempts.append([])
    last: FFmpegError | None = None
    for seek in attempts:
        try:
            run([*seek, "-i", src, *tail], timeout=base_timeout(), heartbeat=heartbeat)
            if _nonempty(dest):
                return w, h
        except FFmpegTimeout:
            raise
        except FFmpegError as exc:
            last = exc
    raise last or FFmpegError("ffmpeg produced no thumbnail.")


def make_filmstrip(
    src: str,
    dest: str,
    *,
    video_stream: int,
    display_width: int,
    height: int,
    duration_seconds: float | None,
    frame_count: int | None,
    frames: int = FILMSTRIP_FRAMES,
    heartbeat: Heartbeat = None,
) -> dict[str, int]:
    """A horizontal strip of ``frames`` small frames evenly spread over the clip (JPEG), for
    hover scrubbing. Returns ``{frames, tile_width, tile_height}``."""
    n = max(1, min(frames, frame_count or frames))
    tw, th = fit_within(display_width, height, max_width=FILMSTRIP_TILE_WIDTH, max_height=FILMSTRIP_TILE_WIDTH, upscale=True)
    out = ["-frames:v", "1", "-q:v", "5", "-f", "image2", "-update", "1", dest]
    duration = float(duration_seconds or 0)
    tile = f"scale={tw}:{th}:flags=bicubic,setsar=1,format=yuvj420p"
    try:
        if duration <= 0:
            raise FFmpegError("unknown duration")
        # One input per frame, each seeked (fast: only a GOP is decoded per frame).
        args: list[str] = []
        for i in range(n):
            t = duration * (i + 0.5) / n
            args += ["-ss", f"{t:.3f}", "-i", src]
        chains = [f"[{i}:{video_stream}]{tile},trim=end_frame=1[f{i}]" for i in range(n)]
        if n > 1:
            graph = ";".join(chains) + ";" + "".join(f"[f{i}]" for i in range(n)) + f"hstack=inputs={n}[out]"
        else:
            graph = chains[0].replace("[f0]", "[out]")
        run([*args, "-filter_complex", graph, "-map", "[out]", *out], timeout=base_timeout(), heartbeat=heartbeat)
        if not _nonempty(dest):
            raise FFmpegError("ffmpeg produced no filmstrip.")
    except FFmpegTimeout:
        raise
    except FFmpegError:
        # Seeking can miss on odd files: decode the whole clip once instead.
        rate = Fraction(n) / Fraction(duration).limit_denominator(1000) if duration > 0 else Fraction(1)
        vf = f"fps={rate.numerator}/{rate.denominator},{tile},tile={n}x1"
        run(
            ["-i", src, "-map", f"0:{video_stream}", "-vf", vf, *out],
            timeout=encode_timeout(duration_seconds),
            heartbeat=heartbeat,
        )
    return {"frames": n, "tile_width": tw, "tile_height": th}


def waveform_peaks(
    src: str,
    *,
    audio_stream: int,
    duration_seconds: float | None,
    buckets: int = WAVEFORM_BUCKETS,
    heartbeat: Heartbeat = None,
) -> list[float]:
    """Peak amplitude (0..1, 1 = full scale) of ``buckets`` equal slices of the audio."""
    import numpy as np

    timeout = encode_timeout(duration_seconds)
    cmd = _cmd(["-i", src, "-map", f"0:{audio_stream}", "-vn", "-ac", "1", "-ar", str(WAVEFORM_RATE), "-f", "s16le", "-"])
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timed_out = threading.Event()

    def _kill() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout, _kill)
    timer.daemon = True
    timer.start()
    stderr_chunks: list[bytes] = []
    drain = threading.Thread(target=lambda: stderr_chunks.append(proc.stderr.read()), daemon=True)
    drain.start()
    # Peaks are kept per block of samples (≤10 ms, small enough that short clips still fill
    # every bucket), then merged into ``buckets`` slices at the end.
    expected = int(float(duration_seconds or 0) * WAVEFORM_RATE)
    block = max(1, min(WAVEFORM_RATE // 100, expected // (buckets * 4))) if expected else WAVEFORM_RATE // 100
    blocks: list[np.ndarray] = []
    carry = b""
    last_beat = time.monotonic()
    try:
        while True:
            chunk = proc.stdout.read(1 << 17)
            if not chunk:
                break
            data = carry + chunk
            usable = len(data) - len(data) % (2 * block)
            carry = data[usable:]
            if usable:
                samples = np.abs(np.frombuffer(data[:usable], dtype="<i2").astype(np.int32))
                blocks.append(samples.reshape(-1, block).max(axis=1).astype(np.float32))
            if heartbeat and time.monotonic() - last_beat > HEARTBEAT_EVERY_SECONDS:
                heartbeat()
                last_beat = time.monotonic()
        if len(carry) >= 2:
            tail = np.abs(np.frombuffer(carry[: len(carry) - len(carry) % 2], dtype="<i2").astype(np.int32))
            blocks.append(np.array([tail.max()], dtype=np.float32))
        proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
            proc.wait()
        drain.join(timeout=5)
    if timed_out.is_set():
        raise FFmpegTimeout(timeout, stderr=_tail(b"".join(stderr_chunks)))
    if proc.returncode != 0:
        raise FFmpegError(f"ffmpeg exited with status {proc.returncode}.", stderr=_tail(b"".join(stderr_chunks)))
    if not blocks:
        return []
    peaks = np.concatenate(blocks) / 32768.0
    count = min(buckets, len(peaks))
    edges = np.linspace(0, len(peaks), count + 1).astype(int)
    out = [float(peaks[a:b].max()) if b > a else 0.0 for a, b in itertools.pairwise(edges)]
    return [round(min(1.0, max(0.0, v)), 4) for v in out]


def _nonempty(path: str) -> bool:
    import os

    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False


__all__ = [
    "FFmpegError",
    "FFmpegTimeout",
    "ffmpeg_exe",
    "fit_within",
    "make_audio_proxy",
    "make_filmstrip",
    "make_proxy",
    "make_thumbnail",
    "proxy_size",
    "run",
    "waveform_peaks",
]
