"""The film's AAC track, encoded in cached chunks that join with no drift and no seam.

Why chunks: encoding a feature-length soundtrack is the slowest part of a re-export (about
3.5 s per 200 s of stereo on one core), yet after one take changes nearly all of it is the
same. Why not per clip: AAC encoded separately and joined by stream copy gains the encoder's
priming (1024 samples, ~21 ms) at every join.

How the chunks join cleanly:

* The track is cut on a fixed grid of ``CHUNK_FRAMES`` AAC frames (1024 samples each, so
  10.24 s at 48 kHz). Every chunk starts on a multiple of 1024 samples of the *film*, so
  every chunk's packets lie on the one grid a single encode of the whole film would use.
* A chunk ``[a, b)`` is encoded from ``a - PREROLL`` to ``b + POSTROLL`` (real film audio on
  both sides, also a multiple of 1024), and only the packets whose presentation time falls
  in ``[a, b)`` are kept. The pre-roll brings the encoder's rate control and psychoacoustic
  state to where a whole-film encode would be at ``a``, the post-roll lets it see past ``b``,
  so the MDCT overlap of the last packet of one chunk and the first of the next cancels as
  it does inside one stream. Only the first chunk keeps its priming packet; the MP4 edit
  list trims it, and the last packet is given the exact remaining length, so the declared
  audio length is exactly the film's sample count.
* A chunk is cached by a hash of exactly what the encoder is fed (pre-roll, chunk,
  post-roll) plus the encoder settings: the same input always gives the same packets, and
  any change anywhere the chunk can hear re-encodes it. The input is known by its
  *digests*: one BLAKE2b per 1024-sample frame of the mix before the loudness gain (made
  while the mix streams through the loudness measurement), with the gain in the key, so a
  re-export mixes the film once and re-mixes only the chunks it must encode.

``encode_track`` writes an ``.m4a`` (AAC in MP4, packets copied from the cache) that the
final mux copies next to the picture.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from apps.rendering.plan import ENGINE_VERSION, MasterSpec

from . import ffmpeg as ff
from .cache import AUDIO
from .errors import RenderError

AAC_FRAME = 1024
CHUNK_FRAMES = 480  # 491 520 samples: 10.24 s at 48 kHz
PREROLL_FRAMES = 141  # ~3 s at 48 kHz: the encoder's state has settled (see the module doc)
POSTROLL_FRAMES = 2
BIT_RATE = 192_000
CODEC_SETTINGS = {"codec": "aac", "bit_rate": BIT_RATE, "format": "fltp", "engine": ENGINE_VERSION, "chunking": 1}

# Reads the film's final (normalised) mix over [start, stop) as float32 (n, channels).
MixReader = Callable[[int, int], np.ndarray]


@dataclass(frozen=True)
class Packet:
    pts: int  # in samples of the film (the first chunk's priming packet is at -1024)
    duration: int
    data: bytes


@dataclass
class TrackStats:
    chunks: int = 0
    encoded: int = 0
    reused: int = 0


def chunk_bounds(total: int) -> list[tuple[int, int]]:
    """The chunks [a, b) that tile [0, total): starts on the 1024-sample grid."""
    step = CHUNK_FRAMES * AAC_FRAME
    return [(a, min(total, a + step)) for a in range(0, total, step)]


def _encoder(spec: MasterSpec):
    import av

    ctx = av.CodecContext.create("aac", "w")
    ctx.sample_rate = spec.sample_rate
    ctx.layout = spec.channel_layout
    ctx.format = "fltp"
    ctx.bit_rate = BIT_RATE
    ctx.time_base = Fraction(1, spec.sample_rate)
    ctx.open()
    return ctx


def encode_pcm(pcm: np.ndarray, spec: MasterSpec) -> tuple[bytes, list[Packet]]:
    """Encode float32 (n, channels) PCM in one go: (extradata, packets with pts relative to
    the first sample; the first packet is the encoder's priming at -1024)."""
    import av

    ctx = _encoder(spec)
    out: list[Packet] = []

    def take(packets) -> None:
        for p in packets:
            out.append(Packet(pts=int(p.pts), duration=int(p.duration), data=bytes(p)))

    layout = spec.channel_layout
    for a in range(0, len(pcm), AAC_FRAME):
        block = np.ascontiguousarray(pcm[a : a + AAC_FRAME].T, dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
        frame.sample_rate = spec.sample_rate
        frame.pts = a
        frame.time_base = ctx.time_base
        take(ctx.encode(frame))
    take(ctx.encode(None))
    return bytes(ctx.extradata or b""), out


def frame_digests(pcm: np.ndarray, start: int) -> list[bytes]:
    """Digests of the 1024-sample frames of ``pcm`` (float32 (n, channels)), which starts at
    film sample ``start`` (a multiple of 1024)."""
    if start % AAC_FRAME:
        raise ValueError("digests start on the AAC frame grid")
    data = np.ascontiguousarray(pcm, dtype="<f4")
    return [hashlib.blake2b(data[i : i + AAC_FRAME].tobytes(), digest_size=16).digest() for i in range(0, len(data), AAC_FRAME)]


def _chunk_key(digests: list[bytes], salt: str, spec: MasterSpec, a: int, b: int, s0: int, s1: int, total: int) -> str:
    h = hashlib.sha256()
    settings = {**CODEC_SETTINGS, "rate": spec.sample_rate, "channels": spec.channels, "salt": salt}
    # The input's length and the kept range (relative to the input) decide which packets are
    # kept; whether it is the film's first/last chunk decides the priming and the final length.
    keep = {"settings": settings, "input": s1 - s0, "keep": [a - s0, b - s0], "first": a == 0, "last": b == total}
    h.update(json.dumps(keep, sort_keys=True).encode())
    for d in digests[s0 // AAC_FRAME : -(-s1 // AAC_FRAME)]:
        h.update(d)
    return h.hexdigest()


def _load(entry) -> tuple[bytes, list[Packet]]:
    meta = entry.meta
    blob = (entry.dir / "packets.bin").read_bytes()
    packets, pos = [], 0
    for pts, duration, size in meta["packets"]:
        packets.append(Packet(pts=pts, duration=duration, data=blob[pos : pos + size]))
        pos += size
    return bytes.fromhex(meta["extradata"]), packets


def _chunk_packets(
    a: int, b: int, total: int, read: MixReader, spec: MasterSpec, cache, digests: list[bytes], salt: str
) -> tuple[bytes, list[Packet], bool]:
    """(extradata, packets at film positions, reused?) of the chunk [a, b)."""
    s0 = max(0, a - PREROLL_FRAMES * AAC_FRAME)
    s1 = min(total, b + POSTROLL_FRAMES * AAC_FRAME)
    key = _chunk_key(digests, salt, spec, a, b, s0, s1, total)
    # Cached packets are timed relative to the chunk's first input sample: the same input
    # anywhere in a film (say, silence) is the same entry.
    entry = cache.get(AUDIO, key) if cache is not None else None
    packets = None
    if entry is not None:
        try:
            extradata, packets = _load(entry)
        except (OSError, KeyError, ValueError, TypeError):
            packets = None  # a damaged entry: encode again (and replace it)
    reused = packets is not None
    if packets is None:
        extradata, encoded = encode_pcm(read(s0, s1), spec)
        lo, hi = (-AAC_FRAME if a == 0 else a - s0), b - s0
        packets = [p for p in encoded if lo <= p.pts < hi]
        if b == total and packets:
            # The film's end: the last packet plays only up to the last sample.
            last = packets[-1]
            packets[-1] = Packet(pts=last.pts, duration=hi - last.pts, data=last.data)
        if cache is not None:
            with cache.build(AUDIO, key) as tmp:
                (tmp / "packets.bin").write_bytes(b"".join(p.data for p in packets))
                cache.seal(tmp, key, extradata=extradata.hex(), packets=[[p.pts, p.duration, len(p.data)] for p in packets])
            cache.stats["audio_chunks_encoded"] += 1
    return extradata, [Packet(pts=p.pts + s0, duration=p.duration, data=p.data) for p in packets], reused


def write_m4a(path: Path, extradata: bytes, packets: list[Packet], spec: MasterSpec) -> None:
    """AAC packets (film positions) into an MP4 audio file; the muxer writes the edit list
    that hides the priming and ends the track at the last packet's end."""
    import av

    tb = Fraction(1, spec.sample_rate)
    # The movie timescale is the sample rate: the edit list then ends the track on its exact
    # last sample (at the default 1/1000 s it would be cut to the millisecond).
    with av.open(str(path), "w", format="mp4", options={"movie_timescale": str(spec.sample_rate)}) as out:
        stream = out.add_stream("aac", rate=spec.sample_rate, layout=spec.channel_layout)
        stream.codec_context.extradata = extradata
        stream.time_base = tb
        for p in packets:
            pkt = av.Packet(p.data)
            pkt.pts = pkt.dts = p.pts
            pkt.duration = p.duration
            pkt.time_base = tb
            pkt.stream = stream
            out.mux(pkt)


def encode_track(
    total: int,
    read: MixReader,
    spec: MasterSpec,
    out_path: Path,
    *,
    cache=None,
    digests: list[bytes] | None = None,
    salt: str = "",
    progress: Callable[[float], None] | None = None,
) -> TrackStats:
    """Encode the film's mix (``read(start, stop)``, ``total`` samples) to ``out_path``
    (.m4a), reusing every cached chunk whose input is unchanged. ``digests`` are the
    ``frame_digests`` of what ``read`` returns — or of the mix before a gain that ``salt``
    names; without them they are made here (one extra pass over the mix)."""
    stats = TrackStats()
    bounds = chunk_bounds(total)
    stats.chunks = len(bounds)
    if digests is None:
        digests = [d for a, b in bounds for d in frame_digests(read(a, b), a)]
    if len(digests) != -(-total // AAC_FRAME):
        raise ValueError(f"{len(digests)} frame digests for {total} samples")
    extradata: bytes | None = None
    packets: list[Packet] = []
    beat = ff.current_heartbeat()
    last_beat = time.monotonic()
    for i, (a, b) in enumerate(bounds):
        x, chunk, reused = _chunk_packets(a, b, total, read, spec, cache, digests, salt)
        if extradata is None:
            extradata = x
        elif x != extradata:
            raise RenderError("The soundtrack could not be joined: its parts were encoded with different settings.")
        if packets and chunk and chunk[0].pts != packets[-1].pts + packets[-1].duration:
            raise RenderError("The soundtrack could not be joined: a part does not start where the one before ends.")
        packets += chunk
        if reused:
            stats.reused += 1
            if cache is not None:
                cache.stats["audio_chunks_hit"] += 1
        else:
            stats.encoded += 1
        if progress is not None:
            progress((i + 1) / len(bounds))
        if beat is not None and time.monotonic() - last_beat >= ff.HEARTBEAT_EVERY_SECONDS:
            last_beat = time.monotonic()
            beat()
    if not packets or extradata is None:
        raise RenderError("The soundtrack is empty.")
    write_m4a(out_path, extradata, packets, spec)
    return stats
