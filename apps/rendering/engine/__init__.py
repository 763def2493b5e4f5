"""The render engine: plan data in, media files out. Never touches the database.

    cache = RenderCache(root)
    piece = conform_shot(shot, spec, cache, source_path=local_file_or_None)   # conform.py
    master = build_segment_master(segment, pieces, spec, cache)              # segment.py
    result = build_final(plan, masters, spec, out_dir, audio_sources={...})  # final.py

Notes for callers:

* ``conform_shot``: ``source_path=None`` with ``shot.source is None`` → the shot's slate
  (``shot.slate`` or "SEGMENT n · SHOT m / NOT YET APPROVED") at its true length, silent;
  with a source but no local file → RenderError.
* ``build_final(..., audio_sources=…)`` finds each audio clip's file by ``clip.id``, then
  ``clip.source.storage_key``, then ``clip.source.sha256``; optional ``pieces=`` (only for the
  ``encoded_pieces`` figure) and ``filename=`` (default ``final.mp4``). ``progress`` may be
  called from ffmpeg reader threads.
* Every failure is a :class:`RenderError` whose text is for people ("Segment 3 · shot 2: the
  source file could not be decoded (…)"); ``.detail`` holds ffmpeg's log tail, ``.shot_id``
  / ``.segment_id`` say where.
* ``heartbeat_scope(fn)`` makes every ffmpeg run inside it call ``fn`` every ~15 s; an
  exception from ``fn`` stops the run (ffmpeg is killed) and propagates.
* ``RenderCache.stats`` counts pieces/masters encoded and hit for that instance.
* Transitions are within a segment: a crossfade into a segment's first shot is a cut; a
  fade_black into it fades the segment up from black (length unchanged either way).

See ``apps/rendering/plan.py`` for the data and ARCHITECTURE.md §5 for the pipeline.
"""

from .cache import RenderCache
from .conform import conform_shot
from .errors import RenderError
from .ffmpeg import heartbeat_scope
from .final import build_final
from .segment import build_segment_master

__all__ = ["RenderCache", "RenderError", "build_final", "build_segment_master", "conform_shot", "heartbeat_scope"]
