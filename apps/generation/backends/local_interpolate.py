"""Frame interpolation with ffmpeg (not AI): change a take's frame rate, keeping its length.

- ``fps-convert``: plain conversion with ffmpeg's ``fps`` filter (frames repeated or dropped).
- ``motion-interpolate``: ffmpeg's ``minterpolate`` with motion-compensated interpolation
  (``mi_mode=mci``): new in-between frames are estimated from motion. Slow on big frames.

The input is ``req.input_video``; the target rate is ``params["fps"]`` (48, "24000/1001", …;
default ``req.fps``). Audio is kept (re-encoded as AAC). Outputs say ``{"ai": False}``.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from ..registry import register
from . import _local
from .base import (
    Backend,
    BackendContext,
    BackendValidationError,
    GenerationRequest,
    ModelSpec,
    Output,
    PollResult,
    SubmitResult,
)

METHODS = {
    "fps-convert": "fps",
    "motion-interpolate": "minterpolate (mci)",
}


def _spec(name: str, title: str) -> ModelSpec:
    return ModelSpec(name=name, kinds=("interpolate",), title=title, min_seconds=0.0, max_seconds=3600.0, max_variations=1)


@register
class LocalInterpolateBackend(Backend):
    name = "local-interpolate"
    title = "Frame interpolation (ffmpeg)"
    needs_credentials = False
    is_local = True
    default_concurrency = 2
    models = (
        _spec("fps-convert", "Frame-rate conversion"),
        _spec("motion-interpolate", "Motion interpolation"),
    )

    def available(self) -> tuple[bool, str]:
        return _local.ffmpeg_available()

    def _target(self, req: GenerationRequest) -> Fraction:
        value = (req.params or {}).get("fps")
        return _local.parse_rate(req.fps if value in (None, "") else value, field="fps")

    def validate(self, req: GenerationRequest) -> None:
        super().validate(req)
        self._target(req)
        if not _local.check_input_file(req.input_video, field="parent_take", what="input video"):
            return
        probe = _local.probe_video(Path(req.input_video.path))
        if max(probe.width, probe.height) > _local.MAX_LONG_SIDE or min(probe.width, probe.height) > _local.MAX_SHORT_SIDE:
            raise BackendValidationError(
                f"The input video is {probe.width}×{probe.height}; frame interpolation here works up to "
                f"{_local.MAX_LONG_SIDE}×{_local.MAX_SHORT_SIDE}.",
                field="parent_take",
            )

    def estimate_cost(self, req: GenerationRequest) -> Decimal:
        return Decimal(0)

    def submit(self, req: GenerationRequest, ctx: BackendContext) -> SubmitResult:
        spec = self.model_spec(req.model)
        target = self._target(req)
        src = Path(req.input_video.path)
        probe = _local.probe_video(src)
        rate = f"{target.numerator}/{target.denominator}"
        if spec.name == "motion-interpolate":
            # minterpolate stops a few frames short of the end (it needs a frame after each
            # gap); the fps filter after it fills the tail so the length is kept.
            motion = f"minterpolate=fps={rate}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1,fps={rate}"
        else:
            motion = f"fps={rate}"
        # Even sides for yuv420p (an odd-sized source loses one row/column).
        video_filter = f"{motion},scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p"
        folder = _local.workdir(ctx)
        job_id = _local.new_job_id()
        dest = folder / f"{job_id}-0.mp4"
        args = ["-i", str(src), *_local.encode_video_args(video_filter=video_filter, has_audio=probe.has_audio)]
        args[args.index("-f"):args.index("-f")] = ["-fps_mode", "cfr", "-r", rate]
        args.append(str(dest))
        factor = 40.0 if spec.name == "motion-interpolate" else 4.0
        timeout = _local.timeout_for(probe.duration_seconds, pixels=(probe.width or 0) * (probe.height or 0), factor=factor)
        _local.run_ffmpeg(args, timeout=timeout, what="Converting the frame rate", progress=ctx.report_progress, seconds=probe.duration_seconds)
        frames, seconds = _local.count_frames(dest)
        source_rate = Fraction(probe.fps_num, probe.fps_den) if probe.fps_num and probe.fps_den else None
        meta = {
            "ai": False,
            "method": METHODS[spec.name],
            "fps": rate,
            "source_fps": f"{source_rate.numerator}/{source_rate.denominator}" if source_rate else None,
            "frames": frames,
            "seconds": seconds,
            "source_frames": probe.frame_count,
            "source_seconds": probe.duration_seconds,
        }
        stem = src.stem[:80] or "video"
        name = f"{stem}-{float(target):g}fps.mp4"
        output = Output(path=dest, content_type="video/mp4", filename=name, meta=meta)
        return SubmitResult(provider_job_id=job_id, state="succeeded", outputs=[output])

    def poll(self, provider_job_id: str, ctx: BackendContext) -> PollResult:
        return PollResult(state="succeeded")
