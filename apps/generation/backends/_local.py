"""Helpers shared by the built-in (local, non-AI) backends: ffmpeg, scratch files, seeds,
fonts, sizes, and a writer that pipes RGB frames into an H.264 MP4.

Nothing here touches Django: the local backends run inside a Celery worker, but they can be
tried from a plain Python shell as well.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, Self

from .base import (
    BackendContext,
    BackendValidationError,
    GenerationRequest,
    InputFile,
    ProviderError,
)

# The largest picture a local backend makes, either way round (landscape or portrait).
MAX_LONG_SIDE = 3840
MAX_SHORT_SIDE = 2160
MIN_SIDE = 16

# Every ffmpeg call gets at least this long, plus time in proportion to the media's length.
BASE_TIMEOUT_SECONDS = 300.0


# --------------------------------------------------------------------------------------------
# ffmpeg
# --------------------------------------------------------------------------------------------


@functools.cache
def ffmpeg_exe() -> str:
    """A system ffmpeg on PATH when there is one, else the binary imageio-ffmpeg ships."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - imageio-ffmpeg is a requirement
        raise ProviderError("ffmpeg is not installed on this machine.") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_available() -> tuple[bool, str]:
    """For ``Backend.available()`` of the ffmpeg-based backends."""
    try:
        ffmpeg_exe()
    except (ProviderError, RuntimeError, OSError):
        return False, "ffmpeg is not installed on this machine (install ffmpeg or the imageio-ffmpeg package)."
    return True, ""


def ffmpeg_cmd(args: Sequence[str]) -> list[str]:
    return [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]


def _tail(data: bytes | str | None, limit: int = 1500) -> str:
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    return (data or "").strip()[-limit:]


def run_ffmpeg(
    args: Sequence[str], *, timeout: float, what: str, progress: Callable[[float], None] | None = None, seconds: float | None = None
) -> None:
    """Run ffmpeg; a failure is a (not retryable) ProviderError saying ``what`` failed.

    With ``progress`` and the output's expected length in ``seconds``, ffmpeg reports how far
    it is (``-progress pipe:1``: ``out_time_us``) and ``progress`` gets the fraction done."""
    if progress is not None and seconds:
        _run_ffmpeg_with_progress(args, timeout=timeout, what=what, progress=progress, seconds=float(seconds))
        return
    try:
        proc = subprocess.run(
            ffmpeg_cmd(args), check=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise ProviderError(f"{what} took longer than {timeout:.0f} s and was stopped.") from exc
    if proc.returncode != 0:
        raise ProviderError(f"{what} failed (ffmpeg: {_tail(proc.stderr, 300) or f'exit status {proc.returncode}'}).")


def _run_ffmpeg_with_progress(
    args: Sequence[str], *, timeout: float, what: str, progress: Callable[[float], None], seconds: float
) -> None:
    timed_out = threading.Event()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            ffmpeg_cmd(["-progress", "pipe:1", "-nostats", *args]), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log
        )

        def stop() -> None:
            timed_out.set()
            with contextlib.suppress(OSError):
                proc.kill()

        timer = threading.Timer(timeout, stop)
        timer.daemon = True
        timer.start()
        try:
            for raw in proc.stdout:
                key, _, value = raw.decode("ascii", errors="replace").strip().partition("=")
                if key in ("out_time_us", "out_time_ms"):  # both are microseconds (an old ffmpeg quirk)
                    try:
                        done = int(value) / 1_000_000
                    except ValueError:
                        continue
                    progress(max(0.0, min(1.0, done / seconds)))
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        if timed_out.is_set():
            raise ProviderError(f"{what} took longer than {timeout:.0f} s and was stopped.")
        if code != 0:
            log.seek(0)
            raise ProviderError(f"{what} failed (ffmpeg: {_tail(log.read(), 300) or f'exit status {code}'}).")


def timeout_for(seconds: float | None, *, pixels: int = 0, factor: float = 2.0) -> float:
    """A generous budget for work on ``seconds`` of media at ``pixels`` per frame."""
    megapixels = max(1.0, pixels / 1_000_000)
    return BASE_TIMEOUT_SECONDS + factor * float(seconds or 0) * megapixels


class VideoWriter:
    """Feed RGB frames (numpy ``H×W×3`` uint8 arrays or PIL images) to ffmpeg, which writes an
    MP4: H.264 yuv420p, BT.709, constant ``fps`` given as an exact fraction (``-r 24000/1001``),
    moov atom first. ``close()`` checks that exactly ``frames`` frames went in."""

    def __init__(
        self, path: Path, *, width: int, height: int, fps: Fraction, frames: int, timeout: float, crf: int = 20,
        progress: Callable[[float], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.progress = progress
        self.width, self.height, self.frames = width, height, frames
        self.timeout = timeout
        self.written = 0
        rate = f"{fps.numerator}/{fps.denominator}"
        gop = max(1, round(float(fps) * 2))
        args = [
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", rate, "-i", "pipe:0",
            "-frames:v", str(frames), "-r", rate,
            "-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-profile:v", "high", "-pix_fmt", "yuv420p",
            "-g", str(gop), "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
            "-color_range", "tv", "-an", "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact",
            "-movflags", "+faststart", "-f", "mp4", str(self.path),
        ]  # fmt: skip
        # stderr goes to a file: a pipe nobody reads could fill up and stall ffmpeg.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()/abort()
        self._proc = subprocess.Popen(ffmpeg_cmd(args), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log)

    def _stderr(self) -> str:
        self._log.seek(0)
        return _tail(self._log.read(), 300)

    def write(self, frame: Any) -> None:
        import numpy as np

        data = np.asarray(frame, dtype=np.uint8)
        if data.shape != (self.height, self.width, 3):
            raise ValueError(f"frame is {data.shape}, expected {(self.height, self.width, 3)}")
        try:
            self._proc.stdin.write(np.ascontiguousarray(data).tobytes())
        except (BrokenPipeError, OSError) as exc:
            self._proc.wait()
            raise ProviderError(f"Encoding the video failed (ffmpeg: {self._stderr() or 'it stopped early'}).") from exc
        self.written += 1
        if self.progress is not None and self.frames:
            self.progress(self.written / self.frames)

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self._proc.stdin.close()
        try:
            code = self._proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            self._proc.kill()
            self._proc.wait()
            raise ProviderError(f"Encoding the video took longer than {self.timeout:.0f} s and was stopped.") from exc
        finally:
            stderr = self._stderr()
            self._log.close()
        if code != 0:
            raise ProviderError(f"Encoding the video failed (ffmpeg: {stderr or f'exit status {code}'}).")
        if self.written != self.frames:
            raise ProviderError(f"Only {self.written} of {self.frames} frames were made.")

    def abort(self) -> None:
        """Stop ffmpeg after a failure elsewhere; the partial file is removed."""
        with contextlib.suppress(Exception):
            self._proc.kill()
            self._proc.wait()
        with contextlib.suppress(Exception):
            self._log.close()
        with contextlib.suppress(OSError):
            self.path.unlink()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# --------------------------------------------------------------------------------------------
# Jobs, files, seeds
# --------------------------------------------------------------------------------------------


def new_job_id() -> str:
    return f"local-{uuid.uuid4()}"


def workdir(ctx: BackendContext) -> Path:
    """The job's scratch folder (created when missing; a fresh temporary one when none is given)."""
    if ctx.workdir is None:
        return Path(tempfile.mkdtemp(prefix="montage-local-"))
    path = Path(ctx.workdir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def variation_count(req: GenerationRequest, max_variations: int) -> int:
    return max(1, min(int(req.variations or 1), max(1, max_variations)))


def variation_seeds(req: GenerationRequest, count: int) -> list[int]:
    """``req.seed + i`` for each variation; a random base seed when none was given."""
    base = req.seed if req.seed is not None else secrets.randbelow(2**31)
    return [int(base) + i for i in range(count)]


def check_input_file(f: InputFile | None, *, field: str, what: str) -> bool:
    """True when ``f`` is a local file to look into; False when there is nothing to check now
    (no input, or a planning placeholder whose existence the planner checked in storage)."""
    if f is None or f.placeholder:
        return False
    if not Path(f.path).is_file():
        raise BackendValidationError(f"The {what} file is missing; choose it again.", field=field)
    return True


# --------------------------------------------------------------------------------------------
# Sizes and parameters
# --------------------------------------------------------------------------------------------


def size_error(width: int, height: int) -> str | None:
    """Why ``width×height`` is not a size the local backends make (None when it is)."""
    if width < MIN_SIDE or height < MIN_SIDE:
        return f"{width}×{height} is too small; make it at least {MIN_SIDE}×{MIN_SIDE}."
    if max(width, height) > MAX_LONG_SIDE or min(width, height) > MAX_SHORT_SIDE:
        return f"{width}×{height} is larger than {MAX_LONG_SIDE}×{MAX_SHORT_SIDE} (4K UHD)."
    return None


def check_output_size(width: int, height: int, *, field: str = "size") -> None:
    reason = size_error(width, height)
    if reason:
        raise BackendValidationError(reason, field=field)
    if width % 2 or height % 2:
        raise BackendValidationError(
            f"{width}×{height} has an odd side; H.264 video needs even widths and heights.", field=field
        )


def even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def parse_rate(value: Any, *, field: str = "fps") -> Fraction:
    """A frame rate from 48, "48", "24000/1001", 29.97 or a Fraction (29.97 → 30000/1001)."""
    from apps.media.probe import normalize_rate

    try:
        if isinstance(value, Fraction):
            rate = value
        elif isinstance(value, float):
            rate = Fraction(str(value))
        else:
            rate = Fraction(str(value).strip())
    except (TypeError, ValueError, ZeroDivisionError):
        raise BackendValidationError(f"{value!r} is not a frame rate (write 24, 48 or 24000/1001).", field=field) from None
    rate = normalize_rate(rate)
    if rate is None or not (1 <= rate <= 240):
        raise BackendValidationError(f"The frame rate must be between 1 and 240 fps; {value!r} was asked.", field=field)
    return rate


def param_number(params: dict[str, Any], name: str, default: float, *, low: float, high: float, integer: bool = False) -> float:
    value = params.get(name, default)
    if value is None or value == "":
        value = default
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise BackendValidationError(f"{name} must be a number; {value!r} was given.", field=name) from None
    if isinstance(value, bool) or not (low <= number <= high):
        raise BackendValidationError(f"{name} must be between {low:g} and {high:g}; {value!r} was given.", field=name)
    return number


def param_bool(params: dict[str, Any], name: str, default: bool) -> bool:
    value = params.get(name, default)
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


def probe_video(path: Path, *, field: str = "parent_take"):
    """Probe an input video with PyAV (apps.media.probe); a BackendValidationError when it is
    not a video with a picture."""
    from apps.media.probe import ProbeError, probe_file

    try:
        probe = probe_file(str(path), check_integrity=False)
    except ProbeError as exc:
        raise BackendValidationError(f"The input video cannot be used: {exc}", field=field) from None
    if probe.kind != "video" or probe.video_stream is None or not probe.width or not probe.height:
        raise BackendValidationError("The input is not a video (it has no moving picture).", field=field)
    return probe


def count_frames(path: Path) -> tuple[int | None, float | None]:
    """(frames, seconds) of the first video stream of a finished output, from its packets."""
    from apps.media.probe import ProbeError, probe_file

    try:
        probe = probe_file(str(path), check_integrity=True)
    except ProbeError as exc:
        raise ProviderError(f"ffmpeg wrote a damaged file: {exc}") from exc
    return probe.frame_count, probe.duration_seconds


def encode_video_args(*, video_filter: str, has_audio: bool, crf: int = 18) -> list[str]:
    """Output options shared by the ffmpeg-based backends: H.264 yuv420p (+ AAC), MP4."""
    args = [
        "-map", "0:v:0", "-vf", video_filter,
        "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-profile:v", "high", "-pix_fmt", "yuv420p",
    ]  # fmt: skip
    if has_audio:
        args += ["-map", "0:a:0?", "-c:a", "aac", "-b:a", "192k", "-ar", "48000"]
    else:
        args += ["-an"]
    args += ["-sn", "-dn", "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4"]
    return args


# --------------------------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------------------------

_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "/System/Library/Fonts", "C:/Windows/Fonts")
_FONT_NAMES = {
    "serif": ("DejaVuSerif-Bold.ttf", "LiberationSerif-Bold.ttf", "FreeSerifBold.ttf", "NotoSerif-Bold.ttf", "Georgia Bold.ttf"),
    "sans": ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "FreeSansBold.ttf", "NotoSans-Bold.ttf", "Arial Bold.ttf"),
}


@functools.cache
def _font_files() -> dict[str, str]:
    """Every TTF/OTF found in the usual folders, by file name (plus matplotlib's DejaVu)."""
    found: dict[str, str] = {}
    dirs = [os.path.expanduser("~/.fonts"), *_FONT_DIRS]
    with contextlib.suppress(Exception):
        import importlib.util

        spec = importlib.util.find_spec("matplotlib")
        if spec and spec.origin:
            dirs.append(os.path.join(os.path.dirname(spec.origin), "mpl-data", "fonts", "ttf"))
    for root in dirs:
        if not os.path.isdir(root):
            continue
        for dirpath, _dirnames, filenames in os.walk(root):
            for name in sorted(filenames):
                if name.lower().endswith((".ttf", ".otf")):
                    found.setdefault(name, os.path.join(dirpath, name))
    return found


def font_path(style: str = "sans") -> str | None:
    files = _font_files()
    for key in (style, "sans", "serif"):
        for name in _FONT_NAMES.get(key, ()):
            if name in files:
                return files[name]
    # Any scalable font at all (a Latin one first when we can tell).
    for name in sorted(files):
        if "sans" in name.lower() or "serif" in name.lower():
            return files[name]
    return next(iter(sorted(files.values())), None)


@functools.lru_cache(maxsize=64)
def load_font(size: int, style: str = "sans"):
    """A font of ``size`` pixels: a system TTF when there is one, else Pillow's built-in font
    (scalable in Pillow ≥ 10.1 with FreeType; a small bitmap font without)."""
    from PIL import ImageFont

    size = max(6, int(size))
    path = font_path(style)
    if path:
        with contextlib.suppress(OSError):
            return ImageFont.truetype(path, size)
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # old Pillow or no FreeType
        return ImageFont.load_default()


__all__ = [
    "MAX_LONG_SIDE",
    "MAX_SHORT_SIDE",
    "VideoWriter",
    "check_input_file",
    "check_output_size",
    "count_frames",
    "encode_video_args",
    "even",
    "ffmpeg_available",
    "ffmpeg_cmd",
    "ffmpeg_exe",
    "load_font",
    "new_job_id",
    "param_bool",
    "param_number",
    "parse_rate",
    "probe_video",
    "run_ffmpeg",
    "size_error",
    "timeout_for",
    "variation_count",
    "variation_seeds",
    "workdir",
]
