"""Running ffmpeg for the render engine, and the one set of encoder settings every piece uses.

* The binary is a system ``ffmpeg`` on PATH when there is one, else imageio-ffmpeg's.
* Every run has a timeout (the process is killed when it runs out) and raises
  :class:`RenderError` with a sentence for people; ffmpeg's log tail goes to ``detail``.
* A long run calls the heartbeat installed with :func:`heartbeat_scope` (the Celery task
  uses it to keep its job row fresh) and can report progress in seconds of output.
* :func:`x264_args` is the only place encoder settings are decided: conformed pieces, slates
  and transition pieces all use it, so that their streams are identical in every parameter
  and join by stream copy.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from apps.rendering.plan import MasterSpec

from .errors import RenderError

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY_SECONDS = 15.0
BASE_TIMEOUT_SECONDS = float(os.environ.get("MONTAGE_RENDER_TIMEOUT_SECONDS", "300"))

_heartbeat: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar("render_heartbeat", default=None)


@contextlib.contextmanager
def heartbeat_scope(callback: Callable[[], None] | None) -> Iterator[None]:
    """Call ``callback`` every ~15 s while any engine ffmpeg run inside the block is busy."""
    token = _heartbeat.set(callback)
    try:
        yield
    finally:
        _heartbeat.reset(token)


def current_heartbeat() -> Callable[[], None] | None:
    """The heartbeat of the enclosing ``heartbeat_scope`` (for long in-process work)."""
    return _heartbeat.get()


@functools.cache
def ffmpeg_exe() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def timeout_for(media_seconds: float) -> float:
    """Budget for one run: the base timeout plus 3 × the media's duration."""
    return BASE_TIMEOUT_SECONDS + 3.0 * max(0.0, float(media_seconds))


def _tail(data: bytes, limit: int = 3000) -> str:
    return data.decode("utf-8", errors="replace")[-limit:].strip()


def last_line(detail: str) -> str:
    """The last meaningful line of an ffmpeg log, short enough for a sentence."""
    lines = [ln.strip() for ln in detail.splitlines() if ln.strip()]
    if not lines:
        return "no details"
    # Prefer a line that says what went wrong over "Conversion failed!".
    for line in reversed(lines):
        if "Conversion failed" not in line and "Error while" not in line:
            return line[:200]
    return lines[-1][:200]


def run(
    args: Sequence[str],
    *,
    what: str,
    timeout: float,
    progress: Callable[[float], None] | None = None,
    stdin_chunks: Iterable[bytes] | None = None,
    loglevel: str = "error",
) -> str:
    """Run ffmpeg with ``args``. ``what`` completes the error sentence ("Segment 2: the
    segment master could not be joined"). ``progress(seconds_of_output)`` is called as
    ffmpeg reports it; ``stdin_chunks`` are written to ffmpeg's stdin (for ``-i pipe:0``).
    Returns ffmpeg's stderr (``loglevel="info"``: loudnorm prints its measurements there)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-y", "-loglevel", loglevel]
    if stdin_chunks is None:
        cmd.append("-nostdin")
    if progress is not None:
        cmd += ["-progress", "pipe:1", "-nostats"]
    cmd += list(args)
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE if stdin_chunks is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE if progress is not None else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    err_chunks: list[bytes] = []

    def drain_stderr() -> None:
        assert proc.stderr is not None
        for chunk in iter(lambda: proc.stderr.read(65536), b""):
            err_chunks.append(chunk)
            if len(err_chunks) > 64:  # keep memory bounded; only the tail matters
                del err_chunks[:32]

    def drain_progress() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("ascii", errors="replace").strip()
            if line.startswith("out_time_us=") or line.startswith("out_time_ms="):
                try:
                    value = int(line.split("=", 1)[1])
                except ValueError:
                    continue
                if value >= 0 and progress is not None:
                    try:
                        progress(value / 1_000_000)
                    except Exception:  # a broken callback must not break the render
                        logger.exception("render progress callback failed")

    threads = [threading.Thread(target=drain_stderr, daemon=True)]
    if progress is not None:
        threads.append(threading.Thread(target=drain_progress, daemon=True))
    for t in threads:
        t.start()

    heartbeat = _heartbeat.get()
    last_beat = started
    timed_out = threading.Event()

    def on_timeout() -> None:  # a watchdog: also ends a run blocked writing to ffmpeg's stdin
        timed_out.set()
        with contextlib.suppress(OSError):
            proc.kill()

    watchdog = threading.Timer(timeout, on_timeout)
    watchdog.daemon = True
    watchdog.start()

    def beat() -> None:
        nonlocal last_beat
        now = time.monotonic()
        if heartbeat is not None and now - last_beat >= HEARTBEAT_EVERY_SECONDS:
            last_beat = now
            heartbeat()  # may raise (the job was cancelled): the finally below stops ffmpeg

    try:
        if stdin_chunks is not None:
            assert proc.stdin is not None
            try:
                for chunk in stdin_chunks:
                    beat()
                    proc.stdin.write(chunk)
                proc.stdin.close()
            except (BrokenPipeError, ValueError):
                pass  # ffmpeg stopped reading (it failed or was killed); its status says why
        while True:
            beat()
            try:
                proc.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                continue
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin,):
            if stream is not None and not stream.closed:
                with contextlib.suppress(OSError):
                    stream.close()
        for t in threads:
            t.join(timeout=5)
    detail = _tail(b"".join(err_chunks))
    if timed_out.is_set():
        raise RenderError(f"{what}: ffmpeg ran longer than {timeout:.0f} s and was stopped.", detail=detail)
    if proc.returncode != 0:
        logger.info("ffmpeg failed (%s): %s\n%s", proc.returncode, " ".join(cmd), detail)
        raise RenderError(f"{what} ({last_line(detail)}).", detail=detail)
    return b"".join(err_chunks).decode("utf-8", errors="replace")


# --------------------------------------------------------------------------------------------
# The master encoder settings
# --------------------------------------------------------------------------------------------


def gop_frames(spec: MasterSpec) -> int:
    """Frames per GOP: gop_seconds at the spec rate, rounded (48 at 24000/1001)."""
    return max(1, round(spec.gop_seconds * spec.fps_num / spec.fps_den))


def track_timescale(spec: MasterSpec) -> int:
    """The MP4 video timescale every file in a project uses (what ffmpeg picks by default:
    the rate's numerator, doubled until ≥ 10000), so frame durations are whole ticks."""
    scale = spec.fps_num
    while scale < 10_000:
        scale *= 2
    return scale


def rate(spec: MasterSpec) -> str:
    return f"{spec.fps_num}/{spec.fps_den}"


def x264_args(spec: MasterSpec) -> list[str]:
    """Encoder arguments for every video piece of a project. Closed GOPs of a fixed length
    starting at each piece's first frame (IDR every ``gop_frames``, no scene-cut keyframes),
    2 B-frames, fixed colour tags: two pieces made with these settings have identical
    SPS/PPS, so the concat demuxer can join them with ``-c copy``."""
    g = gop_frames(spec)
    return [
        "-c:v", spec.video_codec,
        "-profile:v", spec.profile,
        "-preset", spec.preset,
        "-crf", str(spec.crf),
        "-pix_fmt", spec.pix_fmt,
        "-g", str(g), "-keyint_min", str(g), "-sc_threshold", "0", "-bf", "2",
        "-x264-params", f"keyint={g}:min-keyint={g}:scenecut=0:open-gop=0:bframes=2",
        "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv",
        "-fps_mode", "passthrough",
        "-video_track_timescale", str(track_timescale(spec)),
        "-map_metadata", "-1", "-map_chapters", "-1",
    ]  # fmt: skip


def picture_filters(spec: MasterSpec) -> str:
    """Fit inside the master frame (never stretch), pad the rest black, centre, square
    pixels, BT.709 limited-range 4:2:0."""
    w, h = spec.width, spec.height
    return (
        f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2:flags=bicubic"
        ":out_color_matrix=bt709:out_range=tv,"
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format={spec.pix_fmt}"
    )
