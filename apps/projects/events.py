"""Recording an event: a row in the activity feed plus a realtime message, after commit."""

from __future__ import annotations

from typing import Any

from apps.core.events import _jsonable, publish_on_commit

from .models import ActivityEvent, Project

# Events that are noise in the feed (still published live).
_NOT_IN_FEED = {"presence.changed", "job.progress", "export.progress", "timeline.changed", "shot.updated"}


def person(user) -> dict[str, Any] | None:
    """How an event names someone: id, username and the name people see."""
    if user is None:
        return None
    return {"id": user.pk, "username": user.get_username(), "display_name": user.get_full_name() or user.get_username()}


def record_event(
    *, project: Project, actor, type: str, data: dict[str, Any], revision: int | None = None
) -> None:
    if type not in _NOT_IN_FEED:
        # The feed keeps the event's data (who, what, which segment), not bulky lists.
        summary = _jsonable({k: v for k, v in data.items() if not isinstance(v, list) or len(v) <= 20})
        ActivityEvent.objects.create(
            project=project,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            type=type,
            data=summary,
        )
    payload = dict(data)
    if actor is not None and getattr(actor, "is_authenticated", False):
        payload.setdefault("actor", person(actor))
    publish_on_commit(project.pk, type, payload, revision=revision)
