"""protocol.py is the contract: it lists every event type, and the code sends no others."""

import re
from pathlib import Path

from apps.realtime import protocol

REQUIRED = """
segment.created segment.updated segment.deleted segment.claimed segment.released
segment.assigned shot.created shot.updated shot.deleted take.created take.ready
take.failed take.submitted take.approved take.changes_requested comment.created
member.added member.updated member.removed reference.created reference.updated
reference.deleted timeline.changed project.updated presence.changed job.progress
export.progress
"""

APPS = Path(__file__).resolve().parents[2] / "apps"
# type="x.y" (record_event) or publish[_on_commit](<project>, "x.y", ...)
SENT = re.compile(
    r'type="([a-z_]+\.[a-z_]+)"|publish(?:_on_commit)?\(\s*[^,()]+,\s*"([a-z_]+\.[a-z_]+)"'
)


def test_every_documented_event_type_is_listed():
    assert set(REQUIRED.split()) <= protocol.EVENT_TYPES
    assert protocol.CLIENT_MESSAGE_TYPES == {"presence.update", "ping"}
    assert {"hello", "pong", "error"} <= protocol.SERVER_MESSAGE_TYPES
    assert (protocol.CLOSE_UNAUTHENTICATED, protocol.CLOSE_NOT_FOUND) == (4401, 4404)


def test_every_event_the_code_sends_is_in_the_protocol():
    sent = {}
    for path in APPS.rglob("*.py"):
        for match in SENT.finditer(path.read_text(encoding="utf-8")):
            sent.setdefault(
                match.group(1) or match.group(2), path.relative_to(APPS.parent)
            )
    assert sent, "the scan found no events at all"
    unknown = {t: str(p) for t, p in sent.items() if t not in protocol.EVENT_TYPES}
    assert not unknown, f"add these event types to apps/realtime/protocol.py: {unknown}"
