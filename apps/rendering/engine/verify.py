"""Looking at rendered files with PyAV: frame and sample counts, flashes and beeps.

Used by the engine to check its own output (packet counts) and by tests and the bench to
prove sync: a test clip has a white flash and a 1 kHz beep on the same frame, and after any
number of joins the flash frame and the beep onset must still line up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def count_video_packets(path: Path) -> int:
    """Frames in the first video stream, counted from packets (no decoding; H.264 in MP4
    stores one frame per packet)."""
    import av

    with av.open(str(path)) as c:
        if not c.streams.video:
            return 0
        stream = c.streams.video[0]
        return sum(1 for p in c.demux(stream) if p.size)


def video_frame_pts(path: Path) -> list[int]:
    """Presentation timestamps of every decoded frame, in the stream's time base."""
    import av

    with av.open(str(path)) as c:
        return [f.pts for f in c.decode(video=0)]


def count_video_frames(path: Path) -> int:
    """Frames actually decoded from the first video stream."""
    return len(video_frame_pts(path))


def video_rate(path: Path):
    import av

    with av.open(str(path)) as c:
        return c.streams.video[0].average_rate


def gray_frames(path: Path, *, start: int = 0, stop: int | None = None):
    """Yield (index, 2-D uint8 luma array) for decoded frames in [start, stop)."""
    import av

    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if stop is not None and i >= stop:
                break
            if i >= start:
                yield i, frame.to_ndarray(format="gray")


def frame_luma(path: Path, index: int) -> np.ndarray:
    for _, img in gray_frames(path, start=index, stop=index + 1):
        return img
    raise IndexError(f"{path.name} has no frame {index}")


def flash_frames(path: Path, *, threshold: float = 180.0) -> list[int]:
    """Indices of frames whose centre is (near) white."""
    out = []
    for i, img in gray_frames(path):
        h, w = img.shape
        centre = img[3 * h // 8 : 5 * h // 8, 7 * w // 16 : 9 * w // 16]
        if centre.mean() >= threshold:
            out.append(i)
    return out


def flash_onsets(path: Path, **kwargs) -> list[int]:
    """First frame of each run of flash frames."""
    frames = flash_frames(path, **kwargs)
    return [f for i, f in enumerate(frames) if i == 0 or frames[i - 1] != f - 1]


def first_flash_frame(path: Path, **kwargs) -> int | None:
    frames = flash_frames(path, **kwargs)
    return frames[0] if frames else None


def decode_audio(path: Path, *, rate: int = 48_000) -> np.ndarray:
    """The first audio stream decoded to float32 mono-mix samples at ``rate`` (all of them,
    as the decoder gives them: an AAC stream may end with up to one frame of padding)."""
    import av

    chunks = []
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        frames = (f for packet in c.demux(stream) for f in packet.decode())  # see audio_sample_count
        for frame in frames:
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def audio_sample_count(path: Path) -> int:
    """Samples decoded from the first audio stream (before any end trim the container asks
    for — the strict measure)."""
    import av

    # Decode packet by packet: PyAV's container-level decode() can raise InvalidDataError at
    # the end of an AAC stream that ffmpeg itself decodes cleanly.
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        return sum(f.samples for packet in c.demux(stream) for f in packet.decode())


def audio_declared_samples(path: Path) -> int | None:
    """The audio stream's length as the container declares it (after encoder padding is
    trimmed by the MP4 edit list), in samples."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        if s.duration is None:
            return None
        return int(s.duration * s.time_base * s.rate)


def video_duration_seconds(path: Path) -> float:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return float(s.duration * s.time_base)


def beep_onsets(path: Path, *, rate: int = 48_000, threshold: float = 0.05, min_gap_seconds: float = 0.2) -> list[int]:
    """Sample indices where sound starts after at least ``min_gap_seconds`` of silence."""
    samples = np.abs(decode_audio(path, rate=rate))
    loud = np.flatnonzero(samples >= threshold)
    if len(loud) == 0:
        return []
    gap = int(min_gap_seconds * rate)
    breaks = np.flatnonzero(np.diff(loud) > gap)
    return [int(loud[0])] + [int(x) for x in loud[breaks + 1]]


def first_beep_sample(path: Path, **kwargs) -> int | None:
    onsets = beep_onsets(path, **kwargs)
    return onsets[0] if onsets else None
