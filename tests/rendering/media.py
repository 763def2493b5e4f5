"""Tiny test clips made by ffmpeg, for render tests (importable by any test module).

    make_clip(path, frames=48, fps="24000/1001", size=(160, 90), audio="stereo48",
              flash_at_frame=10, beep_at_frame=10)

A clip is a flat grey picture (so "non-black area" is the picture itself) in which a *flash*
is ``flash_frames`` pure-white frames starting at source frame ``flash_at_frame``, and a *beep*
is a 1 kHz tone burst starting exactly at that frame's timestamp (silence otherwise). After any
conform and join, the flash frame and the beep onset must still line up: that is sync.
"""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

from apps.rendering.engine import verify
from apps.rendering.engine.ffmpeg import ffmpeg_exe

GREY = "0x606060"
AUDIO_KINDS = {None: None, "stereo48": (48_000, 2), "mono44": (44_100, 1), "mono48": (48_000, 1), "stereo44": (44_100, 2)}

# Re-exported so tests can `from tests.rendering.media import flash_frames, ...`.
flash_frames = verify.flash_frames
flash_onsets = verify.flash_onsets
first_flash_frame = verify.first_flash_frame
beep_onsets = verify.beep_onsets
first_beep_sample = verify.first_beep_sample
count_video_frames = verify.count_video_frames
count_video_packets = verify.count_video_packets
video_frame_pts = verify.video_frame_pts
audio_sample_count = verify.audio_sample_count
audio_declared_samples = verify.audio_declared_samples
frame_luma = verify.frame_luma


def ffmpeg(*args: str, timeout: float = 120) -> None:
    proc = subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
        capture_output=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {proc.stderr.decode(errors='replace')[-1500:]}")


def make_clip(
    path: Path | str,
    seconds: float | None = None,
    *,
    frames: int | None = None,
    fps: str | int | float | Fraction = 24,
    size: tuple[int, int] = (160, 90),
    audio: str | None = None,
    flash_at_frame: int | None = None,
    flash_frames: int = 1,
    beep_at_frame: int | None = None,
    beep_seconds: float = 0.12,
    portrait: bool = False,
    vfr: bool = False,
    colour: str = GREY,
    preset: str = "ultrafast",
) -> Path:
    """Write a test clip and return its path (MP4: H.264 yuv420p, AAC audio if any).

    ``seconds`` or ``frames`` sets the length; ``fps`` may be rational ("30000/1001").
    ``portrait`` swaps width and height. ``vfr`` makes a variable-frame-rate file: every
    frame's timestamp jitters by up to a third of a frame and every 7th frame is dropped
    (never a flash frame), with a 90 kHz timescale so the jitter survives.
    """
    path = Path(path)
    rate = Fraction(str(fps)) if not isinstance(fps, Fraction) else fps
    if frames is None:
        if seconds is None:
            raise ValueError("give seconds or frames")
        frames = round(seconds * rate)
    w, h = size
    if portrait:
        w, h = h, w
    rate_s = f"{rate.numerator}/{rate.denominator}"
    dur = frames / rate

    vf = []
    if flash_at_frame is not None:
        last = flash_at_frame + flash_frames - 1
        vf.append(f"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='between(n,{flash_at_frame},{last})'")
    vsync = []
    if vfr:
        keep = "1" if flash_at_frame is None else f"between(n,{flash_at_frame},{flash_at_frame + flash_frames - 1})"
        vf += [
            f"trim=end_frame={frames}",
            "settb=1/90000",
            "setpts='(N+0.33*sin(N*1.7))/(FR*TB)'",
            f"select='not(eq(mod(n,7),3))+{keep}'",
        ]
        vsync = ["-fps_mode", "vfr", "-enc_time_base", "filter", "-video_track_timescale", "90000"]
    args = ["-f", "lavfi", "-i", f"color=c={colour}:s={w}x{h}:r={rate_s}"]
    kinds = AUDIO_KINDS[audio]
    if kinds:
        sr, channels = kinds
        if beep_at_frame is not None:
            t0 = float(Fraction(beep_at_frame) / rate)
            expr = f"if(between(t,{t0:.9f},{t0 + beep_seconds:.9f}),0.5*sin(2*PI*1000*(t-{t0:.9f})),0)"
        else:
            expr = "0"
        layout = "mono" if channels == 1 else "stereo"
        exprs = "|".join([expr] * channels)
        args += ["-f", "lavfi", "-i", f"aevalsrc='{exprs}':s={sr}:c={layout}:d={float(dur):.6f}"]
    if vf:
        args += ["-vf", ",".join(vf)]
    args += [] if vfr else ["-frames:v", str(frames)]
    args += ["-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p", *vsync]
    if kinds:
        args += ["-c:a", "aac", "-b:a", "128k", "-map", "0:v", "-map", "1:a"]
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg(*args, str(path))
    return path


def make_tone(
    path: Path | str, seconds: float, *, freq: float = 440.0, amplitude: float = 0.3, rate: int = 44_100, channels: int = 2
) -> Path:
    """An audio-only file (WAV) with a steady tone: score/narration/effects clips."""
    path = Path(path)
    layout = "mono" if channels == 1 else "stereo"
    expr = "|".join([f"{amplitude}*sin(2*PI*{freq}*t)"] * channels)
    ffmpeg("-f", "lavfi", "-i", f"aevalsrc='{expr}':s={rate}:c={layout}:d={seconds}", "-c:a", "pcm_s16le", str(path))
    return path
