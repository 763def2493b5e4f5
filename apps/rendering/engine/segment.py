"""Segment masters: a segment's conformed pieces joined into one H.264 file plus one PCM WAV.

Cuts are joined by the concat demuxer with ``-c copy``: every piece was encoded with the same
``x264_args`` (identical SPS/PPS, closed GOPs that start at each piece's first frame), so the
bitstreams simply follow one another.

Transitions re-encode only what they touch. A piece's keyframes are at multiples of ``G``
(the GOP length) from its first frame, and its GOPs are closed, so any whole run of GOPs can
be cut out of it by stream copy. For a transition between pieces A and B:

    A: |GOP|GOP|GOP|Gxx|    B: |xxG|GOP|GOP|
                   ^^^ ^^^ re-encoded: from the last keyframe of A before the transition
                   up to the first keyframe of B after it (less than one GOP of untouched
                   picture on each side, plus the transition itself)

* crossfade of n frames into B: [A without its last n] + [xfade of A's last n and B's first
  n] + [B without its first n] — the segment is n frames shorter than the sum, as
  ``PlanSegment.frames`` says;
* fade_black of n frames into B: A's last n//2 frames fade to black, B's first n - n//2 fade
  up from black; nothing overlaps, the length is unchanged. (Into a segment's first shot the
  fade-up is kept; a crossfade into a first shot has nothing to cross with and is a cut.)

The untouched GOP runs are cut out of the pieces by stream copy (PyAV re-muxes the packets
of whole GOPs, shifting timestamps — no decoding), the re-encoded stretch is one small
piece made with the very same encoder settings (it starts with an IDR, its GOPs are closed),
and the concat demuxer joins them all. A shot's piece is never re-encoded as a whole unless
the shot is shorter than its transitions' GOPs. A shot whose incoming and outgoing crossfades
overlap (together longer than the shot) is refused with a RenderError naming it; fades to
black that would overlap a crossfade are shortened.

Audio is built in PCM: each piece's WAV is placed at its sample-exact slot on the segment
timeline, crossfades are complementary linear ramps over exactly the overlap's samples (what
``acrossfade`` does, computed in numpy so the sample count is exact), fade_black fades the
sound out and in with the picture. The WAV holds exactly ``samples_at(segment.frames)``.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from apps.rendering.plan import ConformedPiece, MasterSpec, PlanSegment, SegmentMaster

from . import ffmpeg
from .audio import fit_length, ramp_down, ramp_up, read_wav, samples_at, to_int16, write_wav
from .cache import MASTERS, RenderCache
from .errors import RenderError, segment_label, shot_label
from .verify import count_video_packets

CROSSFADE = "crossfade"
FADE_BLACK = "fade_black"


@dataclass
class _Shot:
    index: int
    piece: ConformedPiece
    frames: int
    start: int  # first timeline frame within the segment
    head_xf: int = 0  # first frames overlapped by a crossfade from the previous shot
    tail_xf: int = 0  # last frames overlapped by a crossfade into the next shot
    fade_in: int = 0  # first frames fading up from black
    fade_out: int = 0  # last frames fading down to black
    copy: tuple[int, int] | None = None  # GOP-aligned range kept by stream copy

    @property
    def head(self) -> int:
        return self.head_xf or self.fade_in

    @property
    def tail(self) -> int:
        return self.tail_xf or self.fade_out


@dataclass
class _Plain:
    shot: _Shot
    lo: int
    hi: int


@dataclass
class _Xfade:
    a: _Shot
    b: _Shot
    n: int


@dataclass
class _Part:
    kind: str  # "copy" | "render"
    shot: _Shot | None = None
    lo: int = 0
    hi: int = 0
    elements: list = field(default_factory=list)

    @property
    def frames(self) -> int:
        if self.kind == "copy":
            return self.hi - self.lo
        return sum(e.hi - e.lo if isinstance(e, _Plain) else e.n for e in self.elements)


def build_segment_master(
    segment: PlanSegment, pieces: list[ConformedPiece], spec: MasterSpec, cache: RenderCache
) -> SegmentMaster:
    """Join the segment's conformed pieces (in shot order) into its master, from the cache
    when already made (``cache_hit=True``, nothing encoded)."""
    label = segment_label(segment.position)
    if not segment.shots:
        raise RenderError(f"{label}: the segment has no shots.", segment_id=segment.id)
    if len(pieces) != len(segment.shots):
        raise RenderError(f"{label}: {len(pieces)} conformed pieces for {len(segment.shots)} shots.", segment_id=segment.id)
    for shot, piece in zip(segment.shots, pieces, strict=True):
        if piece.shot_id != shot.id or piece.frames != shot.frames:
            raise RenderError(f"{shot_label(shot)}: the conformed piece does not belong to this shot.", segment_id=segment.id)

    key = segment.master_key(spec)
    entry = cache.get(MASTERS, key)
    if entry is not None:
        cache.stats["masters_hit"] += 1
        return SegmentMaster(segment.id, entry.video_path, entry.audio_path, segment.frames, cache_hit=True)

    shots = layout(segment, pieces, spec)
    try:
        with cache.build(MASTERS, key) as tmp:
            parts = plan_parts(shots)
            _join_video(parts, spec, tmp, label)
            got = count_video_packets(tmp / "video.mp4")
            if got != segment.frames:
                raise RenderError(f"{label}: the segment master has {got} frames instead of {segment.frames}.")
            _mix_audio(shots, segment.frames, spec, tmp / "audio.wav")
            cache.seal(
                tmp,
                key,
                frames=segment.frames,
                samples=samples_at(segment.frames, spec),
                segment_id=segment.id,
                parts=[(p.kind, p.frames) for p in parts],
            )
    except RenderError as exc:
        exc.segment_id = exc.segment_id or segment.id
        raise
    cache.stats["masters_encoded"] += 1
    entry = cache.get(MASTERS, key)
    if entry is None:  # pragma: no cover
        raise RenderError(f"{label}: the segment master could not be stored in the render cache.", segment_id=segment.id)
    return SegmentMaster(segment.id, entry.video_path, entry.audio_path, segment.frames, cache_hit=False)


# --------------------------------------------------------------------------------------------
# Layout: where each shot sits and which of its frames transitions touch
# --------------------------------------------------------------------------------------------


def layout(segment: PlanSegment, pieces: list[ConformedPiece], spec: MasterSpec) -> list[_Shot]:
    g = ffmpeg.gop_frames(spec)
    shots: list[_Shot] = []
    start = 0
    for k, (plan_shot, piece) in enumerate(zip(segment.shots, pieces, strict=True)):
        n = max(0, plan_shot.transition_frames)
        s = _Shot(index=k, piece=piece, frames=plan_shot.frames, start=start)
        if plan_shot.transition_kind == CROSSFADE and k > 0 and n > 0:
            s.head_xf = min(n, plan_shot.frames)  # as PlanSegment.frames counts it
            shots[-1].tail_xf = s.head_xf
            s.start = start = start - s.head_xf
        elif plan_shot.transition_kind == FADE_BLACK and n > 0:
            s.fade_in = n - n // 2
            if k > 0:
                shots[-1].fade_out = n // 2
        shots.append(s)
        start += plan_shot.frames
    if start != segment.frames:  # pragma: no cover - the formula above mirrors PlanSegment.frames
        raise RenderError(f"{segment_label(segment.position)}: the shots add up to {start} frames, not {segment.frames}.")

    for s, plan_shot in zip(shots, segment.shots, strict=True):
        if s.head_xf + s.tail_xf > s.frames:
            raise RenderError(
                f"{shot_label(plan_shot)}: the crossfades into and out of this shot ({s.head_xf} + {s.tail_xf} frames) "
                f"are longer than the shot ({s.frames} frames)."
            )
        room = s.frames - s.head_xf - s.tail_xf
        s.fade_in = min(s.fade_in, room)
        s.fade_out = min(s.fade_out, room - s.fade_in)
        cs = 0 if s.head == 0 else min(-(-s.head // g) * g, s.frames)
        ce = s.frames if s.tail == 0 else (s.frames - s.tail) // g * g
        s.copy = (cs, ce) if ce > cs else None
    return shots


def plan_parts(shots: list[_Shot]) -> list[_Part]:
    """Timeline-ordered parts: GOP runs kept by stream copy, and re-encoded stretches made of
    plain frame ranges and crossfades."""
    parts: list[_Part] = []
    render: list = []

    def flush() -> None:
        if render:
            parts.append(_Part("render", elements=list(render)))
            render.clear()

    for s in shots:
        if s.head_xf:
            render.append(_Xfade(a=shots[s.index - 1], b=s, n=s.head_xf))
        if s.copy is not None:
            cs, ce = s.copy
            if s.head_xf < cs:
                render.append(_Plain(s, s.head_xf, cs))
            flush()
            parts.append(_Part("copy", shot=s, lo=cs, hi=ce))
            if ce < s.frames - s.tail_xf:
                render.append(_Plain(s, ce, s.frames - s.tail_xf))
        else:
            if s.head_xf < s.frames - s.tail_xf:
                render.append(_Plain(s, s.head_xf, s.frames - s.tail_xf))
    flush()
    return parts


# --------------------------------------------------------------------------------------------
# Video
# --------------------------------------------------------------------------------------------


def _join_video(parts: list[_Part], spec: MasterSpec, tmp: Path, label: str) -> None:
    out = tmp / "video.mp4"
    files: list[Path] = []
    for i, part in enumerate(parts):
        if part.kind == "copy":
            assert part.shot is not None
            if part.lo == 0 and part.hi == part.shot.frames:
                files.append(part.shot.piece.video_path)
            else:
                sub = tmp / f"part{i:03d}-copy.mp4"
                copy_gops(part.shot.piece.video_path, sub, part.lo, part.hi, spec)
                files.append(sub)
        else:
            chunk = tmp / f"part{i:03d}-render.mp4"
            _render(part, spec, chunk, label)
            files.append(chunk)
    if len(files) == 1 and parts[0].kind == "copy":
        _link_or_copy(files[0], out)
        return
    seconds = sum(p.frames for p in parts) * spec.fps_den / spec.fps_num
    concat_copy(files, out, what=f"{label}: the segment master could not be joined", seconds=seconds)
    for f in files:
        if f.parent == tmp:
            f.unlink()


def concat_copy(files: list[Path], out: Path, *, what: str, seconds: float) -> None:
    """Join H.264 files in the master spec with the concat demuxer, by stream copy."""
    listing = out.with_suffix(".concat.txt")
    listing.write_text(concat_listing(files))
    try:
        ffmpeg.run(
            ["-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0:v:0", "-c", "copy", "-f", "mp4", str(out)],
            what=what,
            timeout=ffmpeg.timeout_for(seconds),
        )
    finally:
        listing.unlink(missing_ok=True)


def concat_listing(files: list[Path]) -> str:
    """A concat demuxer script naming ``files`` (absolute, quoted)."""
    return "".join("file '" + str(Path(f).resolve()).replace("'", "'\\''") + "'\n" for f in files)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def copy_gops(src: Path, dst: Path, lo: int, hi: int, spec: MasterSpec) -> None:
    """Frames [lo, hi) of a piece, by stream copy. ``lo`` is a keyframe (a multiple of the
    GOP) and ``hi`` is a keyframe or the piece's end; the pieces' GOPs are closed, so the
    packets from keyframe ``lo`` up to keyframe ``hi`` (decode order) are exactly those
    frames. Timestamps are shifted so the sub-piece starts at 0, as a fresh encode would."""
    import av

    g = ffmpeg.gop_frames(spec)
    with av.open(str(src)) as ic:
        ist = ic.streams.video[0]
        tb = ist.time_base
        frame_ticks = Fraction(spec.fps_den, spec.fps_num) / tb
        shift = round(lo * frame_ticks)
        ts = str(tb.denominator)
        with av.open(str(dst), "w", format="mp4", options={"movie_timescale": ts, "video_track_timescale": ts}) as oc:
            ost = oc.add_stream_from_template(ist)
            ost.time_base = tb
            gop_start = -1  # frame number of the GOP the packets belong to
            for packet in ic.demux(ist):
                if not packet.size:
                    continue
                if packet.is_keyframe:
                    index = round(packet.pts / frame_ticks)
                    if index % g == 0:  # the pieces' IDRs are exactly at multiples of the GOP
                        gop_start = index
                if gop_start < lo:
                    continue
                if gop_start >= hi:
                    break
                packet.pts -= shift
                packet.dts -= shift
                packet.stream = ost
                oc.mux(packet)


def _render(part: _Part, spec: MasterSpec, out: Path, label: str) -> None:
    """Encode a stretch of plain frames and transitions as one small piece in the spec."""
    g = ffmpeg.gop_frames(spec)
    frame_seconds = spec.fps_den / spec.fps_num
    inputs: list[str] = []
    graph: list[str] = []
    labels: list[str] = []

    def add_input(path: Path, seek: int) -> int:
        if seek > 0:
            # Accurate seek to half a frame before keyframe ``seek``: decoding starts at that
            # keyframe and nothing before it is kept, so frame numbers below are exact.
            inputs.extend(["-ss", f"{(seek - 0.5) * frame_seconds:.6f}"])
        inputs.extend(["-i", str(path)])
        return len([a for a in inputs if a == "-i"]) - 1

    for j, el in enumerate(part.elements):
        if isinstance(el, _Plain):
            s = el.shot
            seek = el.lo // g * g
            if s.fade_in and el.lo < s.fade_in:
                seek = 0
            i = add_input(s.piece.video_path, seek)
            chain = []
            if s.fade_in and el.lo < s.fade_in:
                chain.append(f"fade=t=in:start_frame=0:nb_frames={s.fade_in}")
            if s.fade_out and el.hi > s.frames - s.fade_out:
                chain.append(f"fade=t=out:start_frame={s.frames - s.fade_out - seek}:nb_frames={s.fade_out}")
            chain.append(f"trim=start_frame={el.lo - seek}:end_frame={el.hi - seek},setpts=PTS-STARTPTS")
            graph.append(f"[{i}:v]{','.join(chain)}[e{j}]")
        else:
            a_lo = el.a.frames - el.n
            seek = a_lo // g * g
            ia = add_input(el.a.piece.video_path, seek)
            ib = add_input(el.b.piece.video_path, 0)
            graph.append(f"[{ia}:v]trim=start_frame={a_lo - seek}:end_frame={el.a.frames - seek},setpts=PTS-STARTPTS[xa{j}]")
            graph.append(f"[{ib}:v]trim=end_frame={el.n},setpts=PTS-STARTPTS[xb{j}]")
            graph.append(f"[xa{j}][xb{j}]xfade=transition=fade:duration={el.n * frame_seconds:.9f}:offset=0[e{j}]")
        labels.append(f"[e{j}]")
    fd = ffmpeg.track_timescale(spec) * spec.fps_den // spec.fps_num
    graph.append(
        f"{''.join(labels)}concat=n={len(labels)}:v=1:a=0,format={spec.pix_fmt},"
        f"settb=1/{ffmpeg.track_timescale(spec)},setpts=N*{fd},fps={ffmpeg.rate(spec)}[out]"
    )
    frames = part.frames
    args = [*inputs, "-filter_complex", ";".join(graph), "-map", "[out]", *ffmpeg.x264_args(spec)]
    args += ["-frames:v", str(frames), "-an", "-f", "mp4", str(out)]
    ffmpeg.run(args, what=f"{label}: a transition could not be rendered", timeout=ffmpeg.timeout_for(frames * frame_seconds * 4))
    got = count_video_packets(out)
    if got != frames:
        raise RenderError(f"{label}: a transition was rendered with {got} frames instead of {frames}.")


# --------------------------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------------------------


def _mix_audio(shots: list[_Shot], total_frames: int, spec: MasterSpec, out: Path) -> None:
    total = samples_at(total_frames, spec)
    mix = np.zeros((total, spec.channels), dtype=np.float32)
    for s in shots:
        st, en = samples_at(s.start, spec), samples_at(s.start + s.frames, spec)
        data = fit_length(read_wav(s.piece.audio_path, spec), en - st).astype(np.float32) / 32768.0
        pos = np.arange(st, en, dtype=np.int64)
        gain = np.ones(en - st, dtype=np.float32)
        if s.head_xf:
            gain *= ramp_up(pos, st, samples_at(s.start + s.head_xf, spec) - st)
        if s.fade_in:
            gain *= ramp_up(pos, st, samples_at(s.start + s.fade_in, spec) - st)
        if s.tail_xf:
            gain *= ramp_down(pos, en, en - samples_at(s.start + s.frames - s.tail_xf, spec))
        if s.fade_out:
            gain *= ramp_down(pos, en, en - samples_at(s.start + s.frames - s.fade_out, spec))
        mix[st:en] += data * gain[:, None]
    write_wav(out, to_int16(mix), spec)
