"""The render plan: plain data describing what the cut contains, built from the database by
``apps.rendering.planner`` and consumed by the engine (``apps.rendering.engine``), which
never touches the database. Every time is integer frames at the project's fps.

    plan = build_plan(project=..., include_unapproved=..., segment=None)   # planner
    piece = conform_shot(shot, spec, cache)          # engine.conform  -> ConformedPiece
    master = build_segment_master(seg, pieces, spec, cache)   # engine.segment -> SegmentMaster
    result = build_final(plan, masters, spec, out_dir)        # engine.final   -> FinalResult
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

# Bump when the encoder settings or the conform recipe change: every cache key changes.
ENGINE_VERSION = "1"


@dataclass(frozen=True)
class MasterSpec:
    """The project master format. Every conformed piece is encoded with exactly these
    settings, so segment masters and the final cut can be joined by stream copy."""

    width: int
    height: int
    fps_num: int
    fps_den: int
    sample_rate: int = 48_000
    channels: int = 2
    pix_fmt: str = "yuv420p"
    video_codec: str = "libx264"
    profile: str = "high"
    crf: int = 20
    preset: str = "veryfast"
    gop_seconds: int = 2
    loudness_target: float = -16.0  # LUFS

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)

    @property
    def channel_layout(self) -> str:
        """ffmpeg's name for the audio channel layout."""
        return "stereo" if self.channels == 2 else "mono"

    def key(self) -> str:
        return _hash(asdict(self))


@dataclass(frozen=True)
class SourceRef:
    """Where a take's file is and how to recognise it (sha256 is the cache identity)."""

    storage_key: str
    sha256: str
    duration_seconds: float | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    has_audio: bool = False


@dataclass(frozen=True)
class SlateInfo:
    """What a stand-in card says when a shot has no usable take."""

    line1: str  # "SEGMENT 12 · SHOT 3"
    line2: str  # "NOT YET APPROVED"


@dataclass(frozen=True)
class PlanShot:
    id: str
    segment_id: str
    segment_position: int  # 0-based
    position: int  # 0-based within the segment
    title: str
    frames: int  # length on the timeline (after trims), > 0
    in_frame: int = 0  # first frame used of the source, in project frames
    transition_kind: str = "cut"  # into this shot: cut | crossfade | fade_black
    transition_frames: int = 0
    source: SourceRef | None = None  # None → slate
    slate: SlateInfo | None = None
    take_id: str | None = None
    take_number: int | None = None
    # Provenance for deliverables (OTIO metadata, manifest, credits).
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def conform_key(self, spec: MasterSpec) -> str:
        """Content hash of everything that decides the conformed piece's bytes."""
        return _hash(
            {
                "v": ENGINE_VERSION,
                "spec": spec.key(),
                "src": self.source.sha256 if self.source else None,
                "slate": asdict(self.slate) if self.slate and not self.source else None,
                "in": self.in_frame,
                "frames": self.frames,
            }
        )


@dataclass(frozen=True)
class PlanSegment:
    id: str
    position: int
    title: str
    owner: str | None
    shots: tuple[PlanShot, ...]

    @property
    def frames(self) -> int:
        total = 0
        for i, shot in enumerate(self.shots):
            overlap = shot.transition_frames if (i > 0 and shot.transition_kind == "crossfade") else 0
            total += shot.frames - min(overlap, shot.frames)
        return total

    def master_key(self, spec: MasterSpec) -> str:
        return _hash(
            {
                "v": ENGINE_VERSION,
                "spec": spec.key(),
                "parts": [(s.conform_key(spec), s.transition_kind, s.transition_frames) for s in self.shots],
            }
        )


@dataclass(frozen=True)
class PlanAudioClip:
    id: str
    track: str  # music | narration | effects
    source: SourceRef
    start_frame: int
    volume: float = 1.0
    fade_in_frames: int = 0
    fade_out_frames: int = 0
    text: str = ""  # narration/dialogue text → SRT
    length_frames: int | None = None


@dataclass(frozen=True)
class PlanMarker:
    """A marker of the edit: ``frame`` on the exported film's timeline (frames)."""

    id: str
    frame: int
    label: str
    author: str | None = None


@dataclass(frozen=True)
class RenderPlan:
    project_id: str
    project_title: str
    spec: MasterSpec
    segments: tuple[PlanSegment, ...]
    audio: tuple[PlanAudioClip, ...] = ()
    credits: tuple[dict[str, Any], ...] = ()  # [{name, role, segments: [...], backends: [...], models: [...]}]
    markers: tuple[PlanMarker, ...] = ()

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.segments)


@dataclass
class ConformedPiece:
    shot_id: str
    video_path: Path  # H.264 in the master spec, exactly ``frames`` frames, no audio
    audio_path: Path  # PCM s16le WAV, 48 kHz stereo, exactly frames/fps seconds of samples
    frames: int
    cache_hit: bool = False


@dataclass
class SegmentMaster:
    segment_id: str
    video_path: Path  # H.264 in the master spec (joinable by stream copy)
    audio_path: Path  # PCM WAV of the segment's shot audio, sample-exact length
    frames: int
    cache_hit: bool = False


@dataclass
class FinalResult:
    mp4_path: Path
    frames: int
    duration_seconds: float
    encoded_pieces: int = 0  # conformed pieces actually encoded in this run
    encoded_masters: int = 0
    audio_chunks_encoded: int = 0  # chunks of the AAC track encoded in this run (see engine.aac)
    audio_chunks_reused: int = 0
    gain_db: float | None = None  # the loudness gain applied to the mix (None: dynamic loudnorm)


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:32]
