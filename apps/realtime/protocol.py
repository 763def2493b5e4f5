"""The websocket protocol of ``ws(s)://<host>/ws/projects/<project_id>/``.

Every frame is one JSON object ``{"type": str, "data": object, "revision"?: int}``.

Connecting
    Authenticate with the Django session cookie or ``?token=<DRF token key>``. The browser's
    ``Origin`` must be one of ``ALLOWED_HOSTS`` (a handshake without an allowed Origin is
    rejected with HTTP 403). A socket that is not allowed in is accepted, sent one ``error``
    frame and closed with:

    * ``4401`` (:data:`CLOSE_UNAUTHENTICATED`) — no valid session or token;
    * ``4404`` (:data:`CLOSE_NOT_FOUND`) — no such project, or the user is not a member
      (both look the same so that project ids cannot be probed); also sent to a member who
      is removed while connected.

    A member first receives ``hello``::

        {"type": "hello", "data": {
            "project": "<uuid>",
            "user": {"id": 7, "username": "ana", "display_name": "Ana Lima"},
            "role": "artist",
            "presence": [<presence entry>, ...],
            "heartbeat_seconds": 20}}

    then every project event below, as it happens.

Server → client: project events
    Sent by the domain code with ``apps.core.events.publish_on_commit`` after the
    transaction commits, relayed as-is: ``{"type": "<entity>.<verb>", "data": {...},
    "revision"?: n}``. ``revision`` is the aggregate's new revision where it has one
    (segment, shot, timeline) — a client holding an older revision refetches.

Server → client: presence
    ``presence.changed`` with ``data = {"presence": [<presence entry>, ...]}``, the full
    list after every join, move, leave or expiry. A presence entry is one per *user*
    (several tabs are merged)::

        {"user_id": 7, "username": "ana", "display_name": "Ana Lima",
         "segments": ["<segment uuid>", ...], "shots": ["<shot uuid>", ...],
         "connections": 2, "since": "2025-01-01T10:00:00Z", "seen": "2025-01-01T10:04:00Z"}

Client → server
    * ``{"type": "presence.update", "data": {"segment": "<id>"|null, "shot": "<id>"|null}}``
      — where this tab is now. It *replaces* the tab's previous location (an omitted key
      means "none"). Ids are strings of at most :data:`MAX_ID_LENGTH` characters.
    * ``{"type": "ping"}`` → ``{"type": "pong"}``; also keeps this tab's presence alive.
      Send one every ``hello.data.heartbeat_seconds``: an entry not refreshed within
      ``MONTAGE_PRESENCE_TTL_SECONDS`` is dropped (that is how tabs of a crashed server
      disappear).

    A bad frame is answered with ``{"type": "error", "data": {"code": <ERROR_*>,
    "detail": "..."}}`` and the socket stays open.
"""

from __future__ import annotations

# --- close codes ---------------------------------------------------------------------------
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404  # no such project, or not a member

# --- server → client: connection-level messages --------------------------------------------
HELLO = "hello"
PONG = "pong"
ERROR = "error"

# --- server → client: project events (published to the group ``project.<id>``) ------------
SEGMENT_CREATED = "segment.created"
SEGMENT_UPDATED = "segment.updated"
SEGMENT_DELETED = "segment.deleted"
SEGMENT_CLAIMED = "segment.claimed"
SEGMENT_RELEASED = "segment.released"
SEGMENT_ASSIGNED = "segment.assigned"

SHOT_CREATED = "shot.created"
SHOT_UPDATED = "shot.updated"
SHOT_DELETED = "shot.deleted"

TAKE_CREATED = "take.created"
TAKE_READY = "take.ready"
TAKE_FAILED = "take.failed"
TAKE_SUBMITTED = "take.submitted"
TAKE_APPROVED = "take.approved"
TAKE_CHANGES_REQUESTED = "take.changes_requested"
TAKE_DELETED = "take.deleted"  # data: {id, shot, number}

COMMENT_CREATED = "comment.created"

MEMBER_ADDED = "member.added"
MEMBER_UPDATED = "member.updated"
MEMBER_REMOVED = "member.removed"

REFERENCE_CREATED = "reference.created"
REFERENCE_UPDATED = "reference.updated"
REFERENCE_DELETED = "reference.deleted"

TIMELINE_CHANGED = "timeline.changed"
PROJECT_CREATED = (
    "project.created"  # only its creator is a member yet; sent for completeness
)
PROJECT_UPDATED = "project.updated"
INVITE_CREATED = "invite.created"
PRESENCE_CHANGED = "presence.changed"
JOB_PROGRESS = "job.progress"
JOB_CREATED = "job.created"  # a generation job was queued (data: the job)
JOB_UPDATED = "job.updated"  # its state changed: running, succeeded, failed, cancelled
CREDENTIAL_UPDATED = "credential.updated"  # a provider key was set or removed (never the key)
EXPORT_PROGRESS = "export.progress"  # data: {id, state, progress} (throttled)
EXPORT_CREATED = "export.created"  # data: {id, kind, segment, state, progress, error}
EXPORT_FINISHED = "export.finished"  # succeeded; data adds stats and artifact kinds
EXPORT_FAILED = "export.failed"  # data.error says why
EXPORT_CANCELLED = "export.cancelled"

EVENT_TYPES: frozenset[str] = frozenset(
    {
        SEGMENT_CREATED,
        SEGMENT_UPDATED,
        SEGMENT_DELETED,
        SEGMENT_CLAIMED,
        SEGMENT_RELEASED,
        SEGMENT_ASSIGNED,
        SHOT_CREATED,
        SHOT_UPDATED,
        SHOT_DELETED,
        TAKE_CREATED,
        TAKE_READY,
        TAKE_FAILED,
        TAKE_SUBMITTED,
        TAKE_APPROVED,
        TAKE_CHANGES_REQUESTED,
        TAKE_DELETED,
        COMMENT_CREATED,
        MEMBER_ADDED,
        MEMBER_UPDATED,
        MEMBER_REMOVED,
        REFERENCE_CREATED,
        REFERENCE_UPDATED,
        REFERENCE_DELETED,
        TIMELINE_CHANGED,
        PROJECT_CREATED,
        PROJECT_UPDATED,
        INVITE_CREATED,
        PRESENCE_CHANGED,
        JOB_PROGRESS,
        JOB_CREATED,
        JOB_UPDATED,
        CREDENTIAL_UPDATED,
        EXPORT_PROGRESS,
        EXPORT_CREATED,
        EXPORT_FINISHED,
        EXPORT_FAILED,
        EXPORT_CANCELLED,
    }
)
"""Every project event type. The consumer relays any event it is sent; this is the contract."""

SERVER_MESSAGE_TYPES: frozenset[str] = EVENT_TYPES | {HELLO, PONG, ERROR}

# Events after which a connected socket re-checks that its user is still a member.
MEMBERSHIP_EVENT_TYPES: frozenset[str] = frozenset({MEMBER_UPDATED, MEMBER_REMOVED})

# --- client → server -----------------------------------------------------------------------
PRESENCE_UPDATE = "presence.update"
PING = "ping"

CLIENT_MESSAGE_TYPES: frozenset[str] = frozenset({PRESENCE_UPDATE, PING})

MAX_ID_LENGTH = 64

# --- error codes (``{"type": "error", "data": {"code": ..., "detail": ...}}``) -------------
ERROR_NOT_AUTHENTICATED = "not_authenticated"
ERROR_NOT_FOUND = "not_found"
ERROR_UNKNOWN_TYPE = "unknown_type"
ERROR_INVALID = "invalid"  # right type, bad data
ERROR_BAD_FRAME = "bad_frame"  # not a JSON object / binary frame


def is_event_type(type_: str) -> bool:
    return type_ in EVENT_TYPES
