"""The render cache: conformed pieces and segment masters on a local disk, keyed by content.

    root/pieces/<conform_key>/   video.mp4  audio.wav  meta.json
    root/masters/<master_key>/   video.mp4  audio.wav  meta.json
    root/audio/<chunk_key>/      packets.bin  meta.json (packet timing, codec extradata)
    root/loudness/<cut>.json     the loudness gain of the last export of a cut (engine.final)
    root/tmp/                    entries being built

An entry is built in a private temporary directory under ``root/tmp`` and renamed into place
in one step once complete, with ``meta.json`` (frame and sample counts, file sizes) written
last. A worker killed mid-encode therefore leaves only a directory under ``tmp`` (swept
later), never a half entry that looks valid; an entry is used only when its meta.json
exists and the sizes of its files match it. Two workers building the same key race
harmlessly: the first rename wins and the second one's copy is thrown away.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apps.rendering.plan import ENGINE_VERSION

PIECES = "pieces"
MASTERS = "masters"
AUDIO = "audio"  # chunks of the film's AAC track (engine.aac)
STALE_TMP_SECONDS = 24 * 3600


@dataclass
class CacheEntry:
    dir: Path
    meta: dict[str, Any]

    @property
    def video_path(self) -> Path:
        return self.dir / "video.mp4"

    @property
    def audio_path(self) -> Path:
        return self.dir / "audio.wav"


class RenderCache:
    """Content-addressed store of pieces and masters. ``stats`` counts, for this instance,
    ``pieces_encoded``, ``pieces_hit``, ``masters_encoded``, ``masters_hit``,
    ``audio_chunks_encoded``, ``audio_chunks_hit`` (tests and the
    bench use it to prove that an unchanged shot is never encoded twice)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.stats: Counter[str] = Counter()
        for sub in (PIECES, MASTERS, AUDIO, "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # -- lookup ------------------------------------------------------------------------------

    def entry_dir(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def get(self, kind: str, key: str) -> CacheEntry | None:
        """The complete entry for ``key``, or None (missing, half-written or damaged)."""
        d = self.entry_dir(kind, key)
        try:
            meta = json.loads((d / "meta.json").read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("key") != key or meta.get("engine_version") != ENGINE_VERSION:
            return None
        for name, size in (meta.get("files") or {}).items():
            try:
                if (d / name).stat().st_size != size:
                    return None
            except OSError:
                return None
        if not meta.get("files"):
            return None
        return CacheEntry(dir=d, meta=meta)

    # -- building ----------------------------------------------------------------------------

    @contextmanager
    def build(self, kind: str, key: str) -> Iterator[Path]:
        """A private empty directory to write an entry into. On a clean exit the caller must
        have called :meth:`seal` on it; it is then renamed into place atomically. On an
        exception it is removed."""
        tmp = Path(tempfile.mkdtemp(prefix=f"{kind}-{key[:12]}-", dir=self.root / "tmp"))
        try:
            yield tmp
            if not (tmp / "meta.json").exists():
                raise RuntimeError("cache entry built without seal()")
            final = self.entry_dir(kind, key)
            if final.exists() and self.get(kind, key) is None:
                # A damaged entry (e.g. a disk error after rename): move it aside, then replace.
                trash = self.root / "tmp" / f"trash-{uuid.uuid4().hex}"
                try:
                    os.rename(final, trash)
                    shutil.rmtree(trash, ignore_errors=True)
                except OSError:
                    pass
            try:
                os.rename(tmp, final)
            except OSError:
                # Another worker finished the same key first: theirs is as good as ours.
                if self.get(kind, key) is None:
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def seal(tmp: Path, key: str, **meta: Any) -> dict[str, Any]:
        """Write meta.json (last) recording the sizes of the entry's files."""
        files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.is_file() and p.name != "meta.json"}
        for f in files:
            with open(tmp / f, "rb") as fh:
                os.fsync(fh.fileno())
        data = {"key": key, "engine_version": ENGINE_VERSION, "files": files, "created": time.time(), **meta}
        part = tmp / "meta.json.part"
        part.write_text(json.dumps(data, sort_keys=True, indent=1))
        os.replace(part, tmp / "meta.json")
        return data

    # -- housekeeping ------------------------------------------------------------------------

    def sweep(self, *, older_than_seconds: float = STALE_TMP_SECONDS) -> int:
        """Remove abandoned build directories (killed workers). Returns how many."""
        removed = 0
        cutoff = time.time() - older_than_seconds
        for d in (self.root / "tmp").iterdir():
            try:
                if d.stat().st_mtime < cutoff:
                    shutil.rmtree(d, ignore_errors=True) if d.is_dir() else d.unlink()
                    removed += 1
            except OSError:
                continue
        return removed
