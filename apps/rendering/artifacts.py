"""The files an export delivers besides the MP4, written into the export's output folder:
the OpenTimelineIO timeline, the ``.otioz`` bundle (the same timeline with its media inside),
the CMX 3600 EDL, SRT subtitles, the credits and the provenance manifest.

Media references in the ``.otio`` and the EDL are absolute URLs an editor can fetch: on
``MONTAGE_PUBLIC_URL`` when it is set, else on the address the export was asked from (stored
on the export when it is created), never a guessed host or port. With S3 storage they are
``s3://bucket/key`` (presigned URLs expire; an editing timeline outlives them). Local media
URLs are signed links for the person who made the export, valid for
``MONTAGE_EXPORT_LINK_DAYS`` and only while they are a member of the project (see
apps.media.signing). The bundle needs no URL at all: its references are relative paths
inside the zip.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils.encoding import filepath_to_uri

from apps.media import signing as media_signing
from apps.media import storage as media_storage

from .deliverables import credits as credits_mod
from .deliverables import edl as edl_mod
from .deliverables import manifest as manifest_mod
from .deliverables import otio as otio_mod
from .deliverables import srt as srt_mod
from .models import ArtifactKind
from .plan import RenderPlan

logger = logging.getLogger(__name__)

# (kind, file name, content type, local path)
ArtifactFile = tuple[str, str, str, Path]


def public_base(export_public_url: str = "") -> str:
    """The scheme and host media URLs start with: ``MONTAGE_PUBLIC_URL``, else the address
    the export was asked from, else nothing (a path on the studio's own host)."""
    configured = str(getattr(settings, "MONTAGE_PUBLIC_URL", "") or "").strip().rstrip("/")
    return configured or (export_public_url or "").strip().rstrip("/")


def media_reference_url(key: str, *, base: str = "", project_id: Any = None, user_id: Any = None) -> str:
    """Where an NLE finds a source file (see the module's docstring)."""
    if media_storage.use_s3():
        return f"s3://{settings.AWS_STORAGE_BUCKET_NAME}/{key}"
    media_url = str(settings.MEDIA_URL or "/media/")
    query = urlencode(
        media_signing.sign_params(key, project_id=project_id, user_id=user_id, ttl=media_signing.export_link_seconds())
    )
    path = filepath_to_uri(key).lstrip("/") + "?" + query
    if media_url.startswith(("http://", "https://")):  # media served from their own host
        return f"{media_url.rstrip('/')}/{path}"
    return f"{base}/{media_url.strip('/')}/{path}" if media_url.strip("/") else f"{base}/{path}"


def bundle_max_bytes() -> int:
    return max(1, int(getattr(settings, "MONTAGE_EXPORT_BUNDLE_MAX_MB", 4096))) * 1024 * 1024


def write_deliverables(
    *,
    plan: RenderPlan,
    render_plan: RenderPlan,
    out_dir: Path,
    base_name: str,
    public_url: str,
    local_file: Callable[[str], Path],
    export_info: dict[str, Any],
    result_info: dict[str, Any],
    notes: dict[str, Any],
    project_id: Any = None,
    user_id: Any = None,
) -> list[ArtifactFile]:
    """Write every deliverable into ``out_dir``. ``render_plan`` is the film as rendered (with
    the credits roll when there is one), ``plan`` the cut. A bundle whose media would pass
    ``MONTAGE_EXPORT_BUNDLE_MAX_MB`` is left out, with the reason in ``notes["otioz_skipped"]``."""
    base = public_base(public_url)

    def url_for(key: str) -> str:
        return media_reference_url(key, base=base, project_id=project_id, user_id=user_id)

    files: list[ArtifactFile] = []
    texts = [
        (ArtifactKind.OTIO, f"{base_name}.otio", "application/json", otio_mod.write_otio(render_plan, url_for=url_for)),
        (ArtifactKind.EDL, f"{base_name}.edl", "text/plain", edl_mod.write_edl(plan, url_for=url_for)),
        (ArtifactKind.SRT, f"{base_name}.srt", "application/x-subrip", srt_mod.write_srt(plan)),
        (ArtifactKind.CREDITS, f"{base_name}-credits.txt", "text/plain", credits_mod.write_credits(plan)),
        (ArtifactKind.MANIFEST, f"{base_name}-manifest.json", "application/json",
         manifest_mod.write_manifest(plan, export=export_info, result=result_info)),
    ]  # fmt: skip
    for kind, name, content_type, text in texts:
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        files.append((kind, name, content_type, path))

    # The bundle carries the cut's media (the credits roll is rendered, not a source file).
    bundle = out_dir / f"{base_name}.otioz"
    try:
        otio_mod.write_otioz(plan, bundle, local_file=local_file, max_bytes=bundle_max_bytes())
    except otio_mod.BundleTooLarge as exc:
        logger.info("export bundle left out: %s", exc)
        notes["otioz_skipped"] = f"{exc} Use the .otio (media by URL) instead, or raise MONTAGE_EXPORT_BUNDLE_MAX_MB."
    else:
        files.insert(1, (ArtifactKind.OTIOZ, bundle.name, "application/zip", bundle))
    return files
