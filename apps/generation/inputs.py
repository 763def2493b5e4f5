"""A job's input files (uploads, takes, a frame of a video take, reference images) copied out of
storage for one provider call, and the ``GenerationRequest`` built from them.
"""

from __future__ import annotations

import contextlib
import mimetypes
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

from apps.media import ffmpeg, storage
from apps.media.models import MediaFile

from .backends.base import Backend, BackendContext, GenerationRequest, InputFile
from .calls import _webhook_url
from .models import GenerationJob
from .planning import INPUT_FRAMES, _workdir


class _InputMissing(Exception):
    """An input file of the job is gone: the job cannot run (message for people)."""


def _input_file(
    media_id: str | None, stack: contextlib.ExitStack, workdir: Path, *, tag: str | None = None, frame: str | None = None
) -> InputFile:
    media = MediaFile.objects.filter(pk=media_id).first() if media_id else None
    if media is None or not media.storage_key:
        raise _InputMissing("An input file of this job is gone (it was deleted); generate again with another input.")
    folder = Path(tempfile.mkdtemp(prefix="in-", dir=workdir))
    try:
        path = Path(stack.enter_context(storage.local_copy(media.storage_key, directory=str(folder))))
    except FileNotFoundError:
        raise _InputMissing(
            f"The input file {media.original_name or media.pk} is missing from storage; upload it again."
        ) from None
    content_type = media.content_type or mimetypes.guess_type(media.original_name or str(path))[0] or ""
    url = None
    if frame in INPUT_FRAMES:
        path = _video_frame(path, folder, frame)
        content_type = "image/png"
    elif storage.use_s3():
        try:
            url = storage.s3_presign_get(media.storage_key, expires=6 * 3600)
        except Exception:  # noqa: BLE001 - reported, never raised
            url = None
    return InputFile(path=path, content_type=content_type, url=url, tag=tag)


def _video_frame(video: Path, folder: Path, which: str) -> Path:
    """The first or last frame of ``video`` as a PNG in ``folder``."""
    out = folder / f"{which}-frame.png"
    if which == "last":
        try:
            ffmpeg.run(["-sseof", "-0.5", "-i", str(video), "-frames:v", "1", "-update", "1", "-y", str(out)], timeout=120)
        except ffmpeg.FFmpegError:
            ffmpeg.run(["-i", str(video), "-frames:v", "1", "-y", str(out)], timeout=120)
    else:
        ffmpeg.run(["-i", str(video), "-frames:v", "1", "-y", str(out)], timeout=120)
    if not out.exists() or out.stat().st_size == 0:
        raise _InputMissing(f"The {which} frame of the input take could not be read; choose another input.")
    return out


def _build_request(
    job: GenerationJob, backend: Backend, call: dict[str, Any], stack: contextlib.ExitStack, ctx: BackendContext
) -> GenerationRequest:
    r = job.request or {}
    workdir = ctx.workdir or _workdir(job.pk)
    image = video = None
    if r.get("input_image"):
        image = _input_file(r["input_image"].get("media"), stack, workdir, frame=r["input_image"].get("frame"))
    if r.get("input_video"):
        video = _input_file(r["input_video"].get("media"), stack, workdir)
    refs = [_input_file(item.get("media"), stack, workdir, tag=item.get("tag")) for item in r.get("reference_images") or []]
    fps = Fraction(str(r.get("fps") or "24"))
    return GenerationRequest(
        kind=job.kind,
        model=job.model,
        prompt=r.get("prompt", ""),
        negative_prompt=r.get("negative_prompt", ""),
        seed=call.get("seed"),
        duration_frames=r.get("request_frames"),
        fps=fps,
        width=int(r.get("width") or 1280),
        height=int(r.get("height") or 720),
        variations=int(call.get("variations") or 1),
        input_image=image,
        input_video=video,
        reference_images=refs,
        text=r.get("text", ""),
        voice=r.get("voice", ""),
        params=dict(r.get("params") or {}),
        webhook_url=_webhook_url(backend, job, int(call["index"])),
        idempotency_key=call.get("key") or job.idempotency_key,
    )
