"""Writes for segments, shots, takes and comments.

Every function takes a checked ``Access`` (user + membership of the project) and
keyword-only arguments, enforces the roles table, and publishes its event after commit.
"""

from __future__ import annotations

from ..models import TransitionKind
from .common import (
    MAX_SHOT_FRAMES,
    _bump_timeline,
    _check_revision,
    _lock_project,
    _place,
    _renumber,
    _require_unlocked,
    _segment_refresh_status,
    segment_data,
)
from .segments import (
    segment_assign,
    segment_claim,
    segment_create,
    segment_delete,
    segment_release,
    segment_update,
)
from .shots import shot_create, shot_data, shot_delete, shot_update
from .takes import (
    _next_take_number,
    comment_create,
    take_approve,
    take_create_from_upload,
    take_data,
    take_delete,
    take_media_finished,
    take_request_changes,
    take_submit,
)

# The names other apps use (timeline reorders with _place/_renumber under _lock_project;
# generation numbers its takes with _next_take_number) stay importable from here.
__all__ = [
    "MAX_SHOT_FRAMES", "TransitionKind", "_bump_timeline", "_check_revision", "_lock_project", "_next_take_number",
    "_place", "_renumber", "_require_unlocked", "_segment_refresh_status", "comment_create", "segment_assign",
    "segment_claim", "segment_create", "segment_data", "segment_delete", "segment_release", "segment_update",
    "shot_create", "shot_data", "shot_delete", "shot_update", "take_approve", "take_create_from_upload",
    "take_data", "take_delete", "take_media_finished", "take_request_changes", "take_submit",
]  # fmt: skip
