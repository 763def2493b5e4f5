"""The final cut: segment masters joined by stream copy, one master audio track built from
PCM, loudness-normalised and encoded once, muxed with ``+faststart``.

Picture: the concat demuxer joins the segment masters with ``-c copy`` (all were encoded
with the same settings, so nothing is re-encoded).

Sound (never concatenated as AAC — each AAC join adds ~21 ms of encoder priming, 1.6 s of
drift over 50 clips):

1. the bed: each segment master's WAV placed at its sample-exact slot
   (``samples_at(T)`` … ``samples_at(T + frames)``);
2. score, narration and effects clips (``plan.audio``) decoded to PCM and placed at
   ``samples_at(start_frame)``, with volume, linear fades in/out and, for music, ducking
   under narration (volume automation: -12 dB while a narration clip plays, 0.25 s ramp
   before it and 0.5 s after; see ``audio.duck_envelope``);
3. the mix is streamed (float32, 10 s chunks: constant memory) into ffmpeg twice. Pass 1
   measures it (``ebur128``: BS.1770 integrated loudness, gating threshold, LRA, true peak —
   the measurement loudnorm's first pass makes, ~8× faster). Pass 2 normalises it to
   ``spec.loudness_target`` the way loudnorm's two-pass *linear* mode does: one gain
   (``volume``) when that keeps the true peak ≤ -1.5 dBTP, else ``loudnorm`` itself with the
   measured values (dynamic).
4. With a plain gain (nearly always) and a render cache, the normalised mix is encoded by
   ``aac.encode_track``: in 10.24 s chunks on the AAC frame grid, with pre- and post-roll,
   cached by their input, so a re-export after one take changes encodes only the chunks that
   can hear the change, and the joined track is identical in timing to one encode of the
   whole film (see aac.py). To keep unchanged audio bit-identical between exports, the gain
   of the previous export of the same cut is kept while it still brings the film within
   ``LOUDNESS_TOLERANCE`` LU of the target (EBU R128 allows ±0.5 LU) without the true peak
   passing -1.5 dBTP; otherwise the exact gain is used and remembered.
   Otherwise (dynamic loudnorm, or no cache) the mix is resampled to the spec rate and
   padded/cut to exactly ``samples_at(plan.frames)`` samples (``apad=whole_len`` +
   ``atrim=end_sample``; loudnorm works at 192 kHz inside) and encoded to AAC 192 kb/s in
   one ffmpeg run.
   Either way the track is muxed with the copied picture — no ``-shortest``: the lengths are
   equal by construction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from apps.rendering.plan import ConformedPiece, FinalResult, MasterSpec, PlanAudioClip, RenderPlan, SegmentMaster

from . import ffmpeg
from .aac import encode_track, frame_digests
from .audio import (
    Placement,
    WavSource,
    duck_envelope,
    mix_chunks,
    mix_range,
    ramp_down,
    ramp_up,
    samples_at,
)
from .errors import RenderError, segment_label
from .segment import concat_listing
from .verify import count_video_packets

logger = logging.getLogger(__name__)

TRUE_PEAK = -1.5
LRA = 11.0
AAC_BITRATE = "192k"
SILENCE_LUFS = -70.0  # below this the mix is silence (all slates): nothing to normalise
LOUDNESS_TOLERANCE = 0.5  # LU: a held gain is kept while the film stays this close to target


def build_final(
    plan: RenderPlan,
    masters: list[SegmentMaster],
    spec: MasterSpec,
    out_dir: Path,
    *,
    audio_sources: dict[str, Path],
    progress: Callable[[float], None] | None = None,
    pieces: list[ConformedPiece] | None = None,
    filename: str = "final.mp4",
    cache=None,
) -> FinalResult:
    """Write ``out_dir/filename`` (MP4, H.264 + AAC, faststart) from the segment masters (in
    plan order) and the plan's audio clips. ``audio_sources`` maps each audio clip to its local
    file, by ``clip.id``, ``clip.source.storage_key`` or ``clip.source.sha256`` (first found).
    ``progress(fraction)`` is called with 0…1. ``pieces``, when given, only feeds the
    ``encoded_pieces`` figure of the result. ``cache`` (a ``RenderCache``) keeps the encoded
    chunks of the AAC track and the loudness gain between exports."""
    _check(plan, masters)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    total_frames = plan.frames
    total = samples_at(total_frames, spec)
    seconds = total_frames * spec.fps_den / spec.fps_num
    report = _reporter(progress)
    report(0.0)

    work = Path(tempfile.mkdtemp(prefix=".render-", dir=out_dir))
    sources: list[WavSource] = []
    try:
        # The bed: segment WAVs at their exact slots.
        placements: list[Placement] = []
        t = 0
        for master in masters:
            src = WavSource(master.audio_path, spec)
            sources.append(src)
            st = samples_at(t, spec)
            placements.append(Placement(src, st, samples_at(t + master.frames, spec) - st))
            t += master.frames
        # Score, narration, effects.
        placements += _clip_placements(plan, spec, total, audio_sources, work, sources)
        report(0.1)

        def stream(digests: list[bytes] | None = None) -> Iterator[bytes]:
            """The mix as raw float32 for ffmpeg; with ``digests``, also the digest of each of
            its AAC frames (the measuring pass takes them: the cached AAC chunks are found by
            them, so the mix is made once and only re-made where a chunk must be encoded)."""
            for start, chunk in mix_chunks(total, placements, spec):
                if digests is not None:
                    digests.extend(frame_digests(chunk, start))
                yield chunk.astype("<f4").tobytes()

        digests: list[bytes] = []

        raw_in = ["-f", "f32le", "-ar", str(spec.sample_rate), "-ac", str(spec.channels), "-i", "pipe:0"]
        timeout = ffmpeg.timeout_for(seconds)

        # Pass 1: measure (BS.1770 integrated loudness, loudness range, true peak).
        log = ffmpeg.run(
            [*raw_in, "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"],
            what="The final mix could not be measured for loudness",
            timeout=timeout,
            stdin_chunks=stream(digests if cache is not None else None),
            loglevel="info",
            progress=lambda s: report(0.1 + 0.2 * min(1.0, s / max(seconds, 1e-9))),
        )
        measured = parse_ebur128(log)
        gain = _chosen_gain(measured, spec.loudness_target, cache, plan) if cache is not None else None
        report(0.3)

        listing = work / "masters.txt"
        listing.write_text(concat_listing([m.video_path for m in masters]))
        part = work / "final.part.mp4"
        audio_stats = None
        if gain is not None:
            # Normalise in numpy, encode in cached chunks, mux with the copied picture.
            factor = np.float32(10 ** (gain / 20))

            def read(lo: int, hi: int) -> np.ndarray:
                mix = mix_range(lo, hi, placements, spec)
                if factor != 1:
                    mix *= factor
                return mix

            track = work / "audio.m4a"
            audio_stats = encode_track(
                total, read, spec, track, cache=cache, digests=digests, salt=f"gain={gain!r}",
                progress=lambda f: report(0.3 + 0.55 * f),
            )  # fmt: skip
            args = [
                "-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(track),
                "-map", "0:v:0", "-map", "1:a:0", "-c", "copy",
                "-map_metadata", "-1", "-metadata", f"title={plan.project_title}",
                "-movflags", "+faststart", "-f", "mp4", str(part),
            ]  # fmt: skip
            ffmpeg.run(
                args,
                what="The final cut could not be written",
                timeout=timeout,
                progress=lambda s: report(0.85 + 0.1 * min(1.0, s / max(seconds, 1e-9))),
            )
        else:
            # Pass 2: normalise, make the length exact, encode once, mux with the copied picture.
            norm = normalise_filter(measured, spec.loudness_target)
            af = (
                f"{norm},aresample={spec.sample_rate},"
                f"aformat=sample_fmts=fltp:sample_rates={spec.sample_rate}:channel_layouts={spec.channel_layout},"
                f"apad=whole_len={total},atrim=end_sample={total}"
            )
            args = [
                "-f", "concat", "-safe", "0", "-i", str(listing), *raw_in,
                "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy",
                "-af", af, "-c:a", "aac", "-b:a", AAC_BITRATE, "-ar", str(spec.sample_rate), "-ac", str(spec.channels),
                "-map_metadata", "-1", "-metadata", f"title={plan.project_title}",
                "-max_muxing_queue_size", "8192", "-movflags", "+faststart", "-f", "mp4", str(part),
            ]  # fmt: skip
            ffmpeg.run(
                args,
                what="The final cut could not be written",
                timeout=timeout,
                stdin_chunks=stream(),
                progress=lambda s: report(0.3 + 0.65 * min(1.0, s / max(seconds, 1e-9))),
            )
        got = count_video_packets(part)
        if got != total_frames:
            raise RenderError(f"The final cut has {got} frames instead of {total_frames}.")
        out_path = out_dir / filename
        os.replace(part, out_path)
    finally:
        for src in sources:
            src.close()
        shutil.rmtree(work, ignore_errors=True)
    report(1.0)
    return FinalResult(
        mp4_path=out_path,
        frames=total_frames,
        duration_seconds=seconds,
        encoded_pieces=sum(1 for p in pieces or () if not p.cache_hit),
        encoded_masters=sum(1 for m in masters if not m.cache_hit),
        audio_chunks_encoded=audio_stats.encoded if audio_stats else 0,
        audio_chunks_reused=audio_stats.reused if audio_stats else 0,
        gain_db=gain,
    )


def _check(plan: RenderPlan, masters: list[SegmentMaster]) -> None:
    if not plan.segments or plan.frames <= 0:
        raise RenderError("There is nothing to render: the cut has no shots.")
    if len(masters) != len(plan.segments):
        raise RenderError(f"{len(masters)} segment masters for {len(plan.segments)} segments.")
    for seg, master in zip(plan.segments, masters, strict=True):
        if master.segment_id != seg.id or master.frames != seg.frames:
            raise RenderError(f"{segment_label(seg.position)}: its master does not match the plan (re-render the segment).")


def _reporter(progress: Callable[[float], None] | None) -> Callable[[float], None]:
    last = [-1.0]

    def report(fraction: float) -> None:
        if progress is None:
            return
        fraction = max(0.0, min(1.0, fraction))
        if fraction >= 1.0 or fraction - last[0] >= 0.01:
            last[0] = fraction
            try:
                progress(fraction)
            except Exception:
                logger.exception("render progress callback failed")

    return report


# --------------------------------------------------------------------------------------------
# Audio clips
# --------------------------------------------------------------------------------------------


def timecode(frame: int, spec: MasterSpec) -> str:
    nominal = max(1, round(spec.fps_num / spec.fps_den))
    ff = frame % nominal
    s = frame // nominal
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{ff:02d}"


def clip_label(clip: PlanAudioClip, spec: MasterSpec) -> str:
    kind = {"music": "Music", "narration": "Narration", "effects": "Effects"}.get(clip.track, clip.track.capitalize() or "Audio")
    return f"{kind} clip at {timecode(clip.start_frame, spec)}"


def _clip_file(clip: PlanAudioClip, audio_sources: dict[str, Path]) -> Path | None:
    for key in (clip.id, clip.source.storage_key, clip.source.sha256):
        if key and key in audio_sources:
            return Path(audio_sources[key])
    return None


def _decode_clip(clip: PlanAudioClip, src: Path, spec: MasterSpec, out: Path, max_samples: int, label: str) -> None:
    af = (
        f"aresample={spec.sample_rate},aformat=sample_fmts=s16:sample_rates={spec.sample_rate}:channel_layouts={spec.channel_layout},"
        f"atrim=end_sample={max_samples}"
    )
    args = ["-i", str(src), "-map", "0:a:0", "-vn", "-af", af, "-c:a", "pcm_s16le"]
    args += ["-map_metadata", "-1", "-fflags", "+bitexact", "-f", "wav", str(out)]
    ffmpeg.run(
        args,
        what=f"{label}: the audio file could not be decoded",
        timeout=ffmpeg.timeout_for(max_samples / spec.sample_rate),
    )


def _clip_placements(
    plan: RenderPlan, spec: MasterSpec, total: int, audio_sources: dict[str, Path], work: Path, sources: list[WavSource]
) -> list[Placement]:
    wanted: list[tuple[PlanAudioClip, Path, int, int]] = []  # clip, file, offset, room (samples)
    for clip in plan.audio:
        offset = samples_at(clip.start_frame, spec)
        if clip.start_frame < 0 or offset >= total or clip.volume <= 0:
            continue
        src = _clip_file(clip, audio_sources)
        if src is None or not src.is_file():
            raise RenderError(f"{clip_label(clip, spec)}: its audio file is not available to the render worker.")
        room = total - offset
        if clip.length_frames is not None:
            room = min(room, samples_at(clip.start_frame + clip.length_frames, spec) - offset)
        if room > 0:
            wanted.append((clip, src, offset, room))

    # Each distinct file is decoded once (as far as its longest use needs).
    decoded: dict[Path, WavSource] = {}
    for clip, src, _, _ in wanted:
        if src in decoded:
            continue
        longest = max(room for _, s, _, room in wanted if s == src)
        wav = work / f"clip{len(decoded):04d}.wav"
        _decode_clip(clip, src, spec, wav, longest, clip_label(clip, spec))
        decoded[src] = WavSource(wav, spec)
        sources.append(decoded[src])

    def frames_to_samples(frames: int) -> int:
        return max(0, frames) * spec.sample_rate * spec.fps_den // spec.fps_num

    placed: list[tuple[PlanAudioClip, WavSource, int, int, int, int]] = []
    for clip, src, offset, room in wanted:
        source = decoded[src]
        length = min(room, source.samples)
        if length <= 0:
            continue
        fade_in = min(length, frames_to_samples(clip.fade_in_frames))
        fade_out = min(length, frames_to_samples(clip.fade_out_frames))
        placed.append((clip, source, offset, length, fade_in, fade_out))

    narration = [(off, off + n) for clip, _, off, n, _, _ in placed if clip.track == "narration"]
    duck = duck_envelope(narration, spec.sample_rate) if narration else None
    out: list[Placement] = []
    for clip, source, offset, length, fade_in, fade_out in placed:
        out.append(
            Placement(
                source,
                offset,
                length,
                volume=clip.volume,
                gain=_envelope(offset, offset + length, fade_in, fade_out, duck if clip.track == "music" else None),
            )
        )
    return out


def _envelope(start: int, end: int, fade_in: int, fade_out: int, duck):
    if not fade_in and not fade_out and duck is None:
        return None

    def gain(pos):
        # Only the parts of the envelope that move here are computed (most of a long music
        # bed is at gain 1 outside its fades and the narration).
        g = None
        lo, hi = int(pos[0]), int(pos[-1])
        if fade_in and lo < start + fade_in:
            g = ramp_up(pos, start, fade_in)
        if fade_out and hi >= end - fade_out:
            down = ramp_down(pos, end, fade_out)
            g = down if g is None else g * down
        if duck is not None:
            d = duck(pos)
            g = d if g is None else g * d
        return g

    return gain


# --------------------------------------------------------------------------------------------
# Loudness
# --------------------------------------------------------------------------------------------


def parse_ebur128(log: str) -> dict[str, float] | None:
    """Integrated loudness, its gating threshold, loudness range and true peak from the
    summary ``ebur128`` prints at the end of a run."""
    summary = log[log.rfind("Summary:") :] if "Summary:" in log else ""
    number = r"(-?(?:inf|[0-9]+(?:\.[0-9]+)?))"
    found = {
        "I": re.search(r"I:\s*" + number + r"\s*LUFS", summary),
        "thresh": re.search(r"I:.*?Threshold:\s*" + number + r"\s*LUFS", summary, re.S),
        "LRA": re.search(r"LRA:\s*" + number + r"\s*LU\b", summary),
        "TP": re.search(r"Peak:\s*" + number + r"\s*dBFS", summary),
    }
    if not all(found.values()):
        return None
    return {k: float(m.group(1)) for k, m in found.items()}


def loudness_gain(measured: dict[str, float] | None, target: float) -> float | None:
    """The one gain (dB) that brings the mix to ``target`` LUFS with its true peak at or
    below -1.5 dBTP; 0 for silence; None when no single gain can (dynamic loudnorm needed)."""
    if measured is None or not measured["I"] > SILENCE_LUFS:
        return 0.0
    gain = target - measured["I"]
    return gain if measured["TP"] + gain <= TRUE_PEAK else None


def _gain_file(cache, plan: RenderPlan) -> Path:
    scope = json.dumps([plan.project_id, sorted(s.id for s in plan.segments), plan.spec.key()])
    return Path(cache.root) / "loudness" / f"{hashlib.sha256(scope.encode()).hexdigest()[:32]}.json"


def _chosen_gain(measured: dict[str, float] | None, target: float, cache, plan: RenderPlan) -> float | None:
    """The gain for this export (see the module doc, step 4): the previous export's gain of the
    same cut while it keeps the film within LOUDNESS_TOLERANCE of target, else the exact one."""
    exact = loudness_gain(measured, target)
    if exact is None or measured is None or not measured["I"] > SILENCE_LUFS:
        return exact
    path = _gain_file(cache, plan)
    try:
        held = float(json.loads(path.read_text())["gain_db"])
    except (OSError, ValueError, KeyError, TypeError):
        held = None
    if held is not None and abs(measured["I"] + held - target) <= LOUDNESS_TOLERANCE and measured["TP"] + held <= TRUE_PEAK:
        return held
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.part")
        tmp.write_text(json.dumps({"gain_db": exact, "measured": measured}))
        os.replace(tmp, path)
    except OSError:
        logger.warning("could not remember the loudness gain in %s", path)
    return exact


def normalise_filter(measured: dict[str, float] | None, target: float) -> str:
    """The filter that brings the mix to ``target`` LUFS, from the pass-1 measurement.

    This is loudnorm's two-pass *linear* mode, done without loudnorm's 192 kHz round trip
    when it can be: the gain ``target - I`` applied as one ``volume``, valid when it keeps the
    true peak at or below -1.5 dBTP. When it would not (a quiet mix with loud peaks), the mix
    goes through ``loudnorm`` with the measured values, which then normalises dynamically
    (as loudnorm's own linear mode does in that case). Silence (all slates) is left alone."""
    if measured is None or not measured["I"] > SILENCE_LUFS:
        return "anull"
    gain = target - measured["I"]
    if measured["TP"] + gain <= TRUE_PEAK:
        return f"volume={gain:.2f}dB"
    return (
        f"loudnorm=I={target}:TP={TRUE_PEAK}:LRA={max(LRA, measured['LRA'])}"
        f":measured_I={measured['I']}:measured_TP={measured['TP']}:measured_LRA={measured['LRA']}"
        f":measured_thresh={measured['thresh']}:linear=true:print_format=none"
    )
