"""Files of an export on this host: the render cache, work folders, local copies of stored files.

Conformed shots and segment masters live in the render cache (``MONTAGE_RENDER_CACHE_DIR``),
keyed by content hash, shared by all render workers (one folder on one machine; a shared
volume when render workers run on several hosts — without one, the final step rebuilds the
masters it cannot see on its own host, which works but encodes those segments again). Each
step works in ``<cache>/work/<export id>/<step>/``, removed when the step ends.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage

from ..engine import RenderCache
from ..models import ExportArtifact

logger = logging.getLogger(__name__)


def cache_root() -> Path:
    return Path(str(settings.MONTAGE_RENDER_CACHE_DIR))


def render_cache() -> RenderCache:
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    return RenderCache(root)


def work_dir(export_id, name: str) -> Path:
    root = cache_root() / "work" / str(export_id)
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def local_path(key: str, workdir: Path, *, download: bool = True) -> Path | None | bool:
    """A local path holding the bytes of storage ``key`` (downloaded into ``workdir`` when the
    storage is remote), or None if the file is not in storage. With ``download=False`` a
    remote file is only checked: True when it exists."""
    try:
        path = default_storage.path(key)
    except NotImplementedError:
        path = None
    if path is not None:
        return Path(path) if os.path.isfile(path) else None
    try:
        if not default_storage.exists(key):
            return None
        if not download:
            return True
        workdir.mkdir(parents=True, exist_ok=True)
        target = workdir / (hashlib.sha256(key.encode()).hexdigest()[:16] + "-" + os.path.basename(key))
        if not target.exists():
            partial = target.with_suffix(target.suffix + ".part")
            with default_storage.open(key, "rb") as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
            partial.replace(target)
        return target
    except FileNotFoundError:
        return None


def delete_keys(keys: list[str]) -> None:
    for key in keys:
        try:
            default_storage.delete(key)
        except Exception:  # pragma: no cover - storage trouble: leave the orphan
            logger.warning("could not delete %s", key, exc_info=True)


def artifact_local_copy(artifact: ExportArtifact, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / (artifact.filename or os.path.basename(artifact.storage_key))
    with default_storage.open(artifact.storage_key, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
    return target


def render_cache_sweep(*, older_than_seconds: float = 24 * 3600) -> int:
    """Remove what killed workers left in the render cache: half-built entries and export
    work folders untouched for a day. (Complete entries stay: deleting the whole cache is
    always safe, it only costs re-encoding.) Returns how many were removed."""
    root = cache_root()
    if not root.is_dir():  # this host has no render cache (e.g. beat runs elsewhere)
        return 0
    removed = render_cache().sweep(older_than_seconds=older_than_seconds)
    work = root / "work"
    cutoff = time.time() - older_than_seconds
    for folder in work.iterdir() if work.is_dir() else ():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed
