"""Realtime events, published to ``project.<id>`` only after the transaction commits.

If the surrounding transaction rolls back, nothing is sent. A broken channel layer never
breaks a write: the failure is logged and the request goes on.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

logger = logging.getLogger(__name__)

EVENT_HANDLER = "project.event"  # consumer method project_event


def project_group(project_id: uuid.UUID | str) -> str:
    return f"project.{project_id}"


def _jsonable(data: Any) -> Any:
    import json

    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def publish(project_id: uuid.UUID | str, type: str, data: dict[str, Any], *, revision: int | None = None) -> None:
    """Send now (use publish_on_commit inside transactions)."""
    from channels.layers import get_channel_layer

    event: dict[str, Any] = {"type": type, "data": _jsonable(data)}
    if revision is not None:
        event["revision"] = revision
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        async_to_sync(layer.group_send)(project_group(project_id), {"type": EVENT_HANDLER, "event": event})
    except Exception:  # pragma: no cover - depends on Redis being down
        logger.warning("could not publish %s to project %s", type, project_id, exc_info=True)


def publish_on_commit(
    project_id: uuid.UUID | str, type: str, data: dict[str, Any], *, revision: int | None = None
) -> None:
    transaction.on_commit(lambda: publish(project_id, type, data, revision=revision))
