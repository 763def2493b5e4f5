"""Upscale with ffmpeg (not AI): Lanczos scaling followed by an unsharp mask.

Model ``lanczos-sharpen``. Params: ``scale`` (default 2, more than 1 and at most 4), or a
target ``width`` and/or ``height`` (the other side follows the picture's shape; both given
must keep the shape within 1 %), ``sharpen`` (unsharp amount, 0–2, default 0.8). Frames,
frame rate and audio are kept; results larger than 3840×2160 (4K UHD) are refused.
Outputs say ``{"ai": False}``.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

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

DEFAULT_SCALE = 2.0
MAX_SCALE = 4.0


def _int_param(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    return int(_local.param_number(params, name, 0, low=2, high=100_000, integer=True))


def target_size(params: dict[str, Any], width: int, height: int) -> tuple[int, int]:
    """The result's size for a source shown at ``width×height`` (even sides)."""
    want_w, want_h = _int_param(params, "width"), _int_param(params, "height")
    if want_w and want_h:
        if abs((want_w / want_h) / (width / height) - 1) > 0.01:
            raise BackendValidationError(
                f"{want_w}×{want_h} would stretch the {width}×{height} picture; give only the width or the height.",
                field="size",
            )
        w, h = want_w, want_h
        if w % 2 or h % 2:
            raise BackendValidationError(f"{w}×{h} has an odd side; H.264 needs even widths and heights.", field="size")
    elif want_w:
        w, h = want_w, _local.even(want_w * height / width)
        if w % 2:
            raise BackendValidationError(f"The width {w} is odd; H.264 needs even widths.", field="width")
    elif want_h:
        w, h = _local.even(want_h * width / height), want_h
        if h % 2:
            raise BackendValidationError(f"The height {h} is odd; H.264 needs even heights.", field="height")
    else:
        scale = _local.param_number(params, "scale", DEFAULT_SCALE, low=1.0, high=MAX_SCALE)
        if scale <= 1.0:
            raise BackendValidationError("scale must be more than 1 (this only enlarges).", field="scale")
        w, h = _local.even(width * scale), _local.even(height * scale)
    if w < width or h < height or (w, h) == (width, height):
        raise BackendValidationError(
            f"{w}×{h} is not larger than the {width}×{height} source; upscaling only enlarges.", field="size"
        )
    if max(w, h) > _local.MAX_LONG_SIDE or min(w, h) > _local.MAX_SHORT_SIDE:
        raise BackendValidationError(
            f"The result would be {w}×{h}, larger than {_local.MAX_LONG_SIDE}×{_local.MAX_SHORT_SIDE} (4K UHD); "
            "choose a smaller scale.",
            field="scale",
        )
    return w, h


@register
class LocalUpscaleBackend(Backend):
    name = "local-upscale"
    title = "Upscale (ffmpeg, non-AI)"
    needs_credentials = False
    is_local = True
    default_concurrency = 2
    models = (
        ModelSpec(name="lanczos-sharpen", kinds=("upscale",), title="Lanczos + sharpen", min_seconds=0.0, max_seconds=3600.0),
    )

    def available(self) -> tuple[bool, str]:
        return _local.ffmpeg_available()

    def _plan(self, req: GenerationRequest):
        _local.check_input_file(req.input_video, field="parent_take", what="input video")
        probe = _local.probe_video(Path(req.input_video.path))
        shown_w = probe.display_width or probe.width
        w, h = target_size(req.params or {}, shown_w, probe.height)
        sharpen = _local.param_number(req.params or {}, "sharpen", 0.8, low=0.0, high=2.0)
        return probe, w, h, sharpen

    def validate(self, req: GenerationRequest) -> None:
        super().validate(req)
        if req.input_video is not None and req.input_video.placeholder:
            # Not on this machine yet (object storage): check what can be checked without it.
            params = req.params or {}
            if not any(params.get(k) not in (None, "") for k in ("width", "height")):
                _local.param_number(params, "scale", DEFAULT_SCALE, low=1.0, high=MAX_SCALE)
            _local.param_number(params, "sharpen", 0.8, low=0.0, high=2.0)
            return
        self._plan(req)

    def estimate_cost(self, req: GenerationRequest) -> Decimal:
        return Decimal(0)

    def submit(self, req: GenerationRequest, ctx: BackendContext) -> SubmitResult:
        probe, w, h, sharpen = self._plan(req)
        src = Path(req.input_video.path)
        video_filter = f"scale={w}:{h}:flags=lanczos,setsar=1"
        if sharpen > 0:
            video_filter += f",unsharp=5:5:{sharpen:g}:5:5:0"
        video_filter += ",format=yuv420p"
        folder = _local.workdir(ctx)
        job_id = _local.new_job_id()
        dest = folder / f"{job_id}-0.mp4"
        args = ["-i", str(src), *_local.encode_video_args(video_filter=video_filter, has_audio=probe.has_audio, crf=16)]
        # Every source frame is kept with its own time: the frame count and rate do not change.
        args[args.index("-f"):args.index("-f")] = ["-fps_mode", "passthrough"]
        args.append(str(dest))
        timeout = _local.timeout_for(probe.duration_seconds, pixels=w * h, factor=6.0)
        _local.run_ffmpeg(args, timeout=timeout, what="Upscaling the video", progress=ctx.report_progress, seconds=probe.duration_seconds)
        frames, seconds = _local.count_frames(dest)
        meta = {
            "ai": False,
            "method": "lanczos + unsharp",
            "width": w,
            "height": h,
            "source_width": probe.width,
            "source_height": probe.height,
            "scale": round(w / (probe.display_width or probe.width), 4),
            "sharpen": sharpen,
            "frames": frames,
            "seconds": seconds,
        }
        name = f"{src.stem[:80] or 'video'}-{w}x{h}.mp4"
        output = Output(path=dest, content_type="video/mp4", filename=name, meta=meta)
        return SubmitResult(provider_job_id=job_id, state="succeeded", outputs=[output])

    def poll(self, provider_job_id: str, ctx: BackendContext) -> PollResult:
        return PollResult(state="succeeded")
