"""Running a whole export in this process (the CLI; tests): the same steps the render queue
runs, one after the other."""

from __future__ import annotations

from ..models import Export
from .create import export_start
from .final import export_finish
from .segments import export_render_segment
from .state import ProgressListener, still_running


def export_run(*, export_id, listener: ProgressListener = None) -> Export:
    """Run an export start to finish in this process, without Celery: the same steps the
    render queue runs, one after the other."""
    started = export_start(export_id=export_id)
    if started is not None:
        attempt, segment_ids = started
        claimed = False
        for segment_id in segment_ids:
            claimed = (
                export_render_segment(export_id=export_id, segment_id=segment_id, attempt=attempt, listener=listener) or claimed
            )
            if not still_running(export_id, attempt):
                break
        if claimed:
            export_finish(export_id=export_id, attempt=attempt, listener=listener)
    return Export.objects.get(pk=export_id)
