"""PCM audio: sample-exact positions, WAV files, and the streaming mixer of the final cut.

Audio is never encoded per piece. Every conformed piece and segment master carries a PCM
WAV (s16le, spec rate and channels); the film's one audio track is mixed from those PCM
files, loudness-normalised and encoded to AAC exactly once (see ``final.py``).

Positions are integers: the sample where timeline frame ``n`` starts is
``n * rate * fps_den // fps_num``. A piece of ``F`` frames carries ``samples_at(F)`` samples
(its length when it starts at frame 0); wherever it is placed on a longer timeline it is
fitted (padded or cut by at most one sample) to the slot ``samples_at(T + F) - samples_at(T)``,
so slots tile the timeline with no gap, no overlap and no drift, whatever the rate
(1601.6 samples per frame at 30000/1001).
"""

from __future__ import annotations

import wave
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apps.rendering.plan import MasterSpec

# Ducking of music under narration (volume automation, see ``duck_envelope``).
DUCK_DB = -12.0
DUCK_ATTACK_SECONDS = 0.25  # the music is fully ducked when the voice starts
DUCK_RELEASE_SECONDS = 0.5

# The streaming mix's chunk: ~10 s at 48 kHz, and a whole number of 1024-sample AAC frames
# (the final cut takes a digest of every AAC frame of the mix as it streams; see engine.aac).
MIX_CHUNK_SAMPLES = 480 * 1024


def samples_at(frame: int, spec: MasterSpec) -> int:
    """First sample of timeline frame ``frame`` (integer maths, no float drift)."""
    return frame * spec.sample_rate * spec.fps_den // spec.fps_num


def span_samples(start_frame: int, frames: int, spec: MasterSpec) -> int:
    """Samples in the slot of ``frames`` frames starting at timeline frame ``start_frame``."""
    return samples_at(start_frame + frames, spec) - samples_at(start_frame, spec)


# --------------------------------------------------------------------------------------------
# WAV files
# --------------------------------------------------------------------------------------------


def read_wav(path: Path, spec: MasterSpec) -> np.ndarray:
    """A whole WAV as int16 samples, shape (n, channels)."""
    with wave.open(str(path), "rb") as w:
        _check_format(w, path, spec)
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").reshape(-1, spec.channels)


def wav_samples(path: Path) -> int:
    with wave.open(str(path), "rb") as w:
        return w.getnframes()


def write_wav(path: Path, data: np.ndarray, spec: MasterSpec) -> None:
    data = np.ascontiguousarray(data, dtype="<i2").reshape(-1, spec.channels)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(spec.channels)
        w.setsampwidth(2)
        w.setframerate(spec.sample_rate)
        w.writeframes(data.tobytes())


def write_silence(path: Path, samples: int, spec: MasterSpec) -> None:
    write_wav(path, np.zeros((samples, spec.channels), dtype="<i2"), spec)


def fit_length(data: np.ndarray, samples: int) -> np.ndarray:
    """Cut or pad with silence to exactly ``samples`` samples."""
    if len(data) == samples:
        return data
    if len(data) > samples:
        return data[:samples]
    pad = np.zeros((samples - len(data), data.shape[1]), dtype=data.dtype)
    return np.concatenate([data, pad])


def ensure_length(path: Path, samples: int, spec: MasterSpec) -> None:
    """Make the WAV at ``path`` exactly ``samples`` long (resamplers may be off by a few)."""
    data = read_wav(path, spec)
    if len(data) != samples:
        write_wav(path, fit_length(data, samples), spec)


def to_int16(mix: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] → int16, clipped."""
    return np.clip(np.rint(mix * 32768.0), -32768, 32767).astype("<i2")


def _check_format(w: wave.Wave_read, path: Path, spec: MasterSpec) -> None:
    if w.getsampwidth() != 2 or w.getnchannels() != spec.channels or w.getframerate() != spec.sample_rate:
        raise ValueError(
            f"{path.name}: expected {spec.sample_rate} Hz {spec.channels}-channel 16-bit PCM, got "
            f"{w.getframerate()} Hz {w.getnchannels()}-channel {8 * w.getsampwidth()}-bit"
        )


# --------------------------------------------------------------------------------------------
# Envelopes (vectorised over absolute sample positions)
# --------------------------------------------------------------------------------------------


def ramp_up(pos: np.ndarray, start: int, length: int) -> np.ndarray:
    """0 → 1 over [start, start + length) (linear, centred on samples), 1 after."""
    if length <= 0:
        return np.ones(len(pos), dtype=np.float32)
    return np.clip((pos - start + 0.5) / length, 0.0, 1.0).astype(np.float32)


def ramp_down(pos: np.ndarray, end: int, length: int) -> np.ndarray:
    """1 → 0 over [end - length, end), 1 before. Complements ``ramp_up`` over the same span."""
    if length <= 0:
        return np.ones(len(pos), dtype=np.float32)
    return np.clip((end - pos - 0.5) / length, 0.0, 1.0).astype(np.float32)


def duck_envelope(intervals: Sequence[tuple[int, int]], rate: int) -> Callable[[np.ndarray], np.ndarray]:
    """Volume automation for music under narration: gain 1 away from the voice, DUCK_DB
    while a narration clip plays, linear ramps of DUCK_ATTACK before and DUCK_RELEASE after.
    (Chosen over ``sidechaincompress``: deterministic, sample-exact, and it ducks *before*
    the first word instead of reacting to it.)"""
    floor = 10 ** (DUCK_DB / 20)
    attack = max(1, int(DUCK_ATTACK_SECONDS * rate))
    release = max(1, int(DUCK_RELEASE_SECONDS * rate))
    merged: list[list[int]] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1] + attack + release:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])

    def gain(pos: np.ndarray) -> np.ndarray:
        env = np.zeros(len(pos), dtype=np.float32)
        if len(pos) == 0:
            return env + 1
        lo, hi = int(pos[0]), int(pos[-1])
        for s, e in merged:
            if e + release < lo or s - attack > hi:
                continue
            i0, i1 = np.searchsorted(pos, [s - attack, e + release + 1])  # only where it moves
            p = pos[i0:i1]
            up = np.clip((p - (s - attack)) / attack, 0.0, 1.0)
            down = np.clip(((e + release) - p) / release, 0.0, 1.0)
            np.maximum(env[i0:i1], np.minimum(up, down).astype(np.float32), out=env[i0:i1])
        return (1.0 - (1.0 - floor) * env).astype(np.float32)

    return gain


# --------------------------------------------------------------------------------------------
# Streaming mix
# --------------------------------------------------------------------------------------------


def _data_offset(path: Path) -> int | None:
    """Where the samples of a RIFF/WAVE file start (the ``data`` chunk's payload)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            pos = 12
            while True:
                hdr = fh.read(8)
                if len(hdr) < 8:
                    return None
                size = int.from_bytes(hdr[4:], "little")
                if hdr[:4] == b"data":
                    return pos + 8
                pos += 8 + size + (size & 1)
                fh.seek(pos)
    except OSError:
        return None


class WavSource:
    """Random-access reads from a PCM WAV as float32 (n, channels); zeros past its end."""

    def __init__(self, path: Path, spec: MasterSpec) -> None:
        self.path = Path(path)
        self.spec = spec
        self._w = wave.open(str(path), "rb")
        _check_format(self._w, self.path, spec)
        self.samples = self._w.getnframes()
        # Mapped straight from the file where the data chunk's offset is known (no copies
        # through the wave module); else read through it.
        offset = _data_offset(self.path)
        self._map = None
        if offset is not None and self.samples:
            try:
                self._map = np.memmap(self.path, dtype="<i2", mode="r", offset=offset, shape=(self.samples, spec.channels))
            except (OSError, ValueError):
                self._map = None

    def read(self, offset: int, count: int) -> np.ndarray:
        out = np.zeros((count, self.spec.channels), dtype=np.float32)
        if offset >= self.samples or count <= 0:
            return out
        avail = min(count, self.samples - offset)
        if self._map is not None:
            raw = self._map[offset : offset + avail]
        else:
            self._w.setpos(offset)
            raw = np.frombuffer(self._w.readframes(avail), dtype="<i2").reshape(-1, self.spec.channels)
        np.multiply(raw, np.float32(1 / 32768), out=out[: len(raw)], casting="unsafe")
        return out

    def close(self) -> None:
        self._map = None
        self._w.close()


@dataclass
class Placement:
    """``source`` placed at timeline sample ``start`` for ``length`` samples (fitted: cut or
    padded with silence), times ``volume`` and the optional envelope ``gain(positions)``
    (which may return None where it is 1 throughout)."""

    source: WavSource
    start: int
    length: int
    volume: float = 1.0
    gain: Callable[[np.ndarray], np.ndarray] | None = None


def mix_range(lo: int, hi: int, placements: Sequence[Placement], spec: MasterSpec) -> np.ndarray:
    """The sum of all placements over [lo, hi) as float32 (n, channels)."""
    buf = np.zeros((max(0, hi - lo), spec.channels), dtype=np.float32)
    for p in placements:
        a, b = max(lo, p.start), min(hi, p.start + p.length)
        if a >= b:
            continue
        part = p.source.read(a - p.start, b - a)
        if p.volume != 1.0:
            part *= np.float32(p.volume)
        if p.gain is not None:
            g = p.gain(np.arange(a, b, dtype=np.int64))
            if g is not None:
                part *= g[:, None]
        buf[a - lo : b - lo] += part
    return buf


def mix_chunks(total: int, placements: Sequence[Placement], spec: MasterSpec) -> Iterator[tuple[int, np.ndarray]]:
    """The sum of all placements over [0, total) as (first sample, float32 (n, channels))
    chunks of MIX_CHUNK_SAMPLES — constant memory whatever the film's length."""
    for a in range(0, total, MIX_CHUNK_SAMPLES):
        yield a, mix_range(a, min(total, a + MIX_CHUNK_SAMPLES), placements, spec)
