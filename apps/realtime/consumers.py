"""``ws/projects/<project_id>/`` — a project's live events and presence. Protocol: protocol.py."""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.core.events import project_group

from . import presence, protocol

logger = logging.getLogger(__name__)


@database_sync_to_async
def membership_role(project_id: str, user_id: Any) -> str | None:
    """The user's role in the project, or None (not a member, or no such project)."""
    from apps.projects.models import Membership

    return (
        Membership.objects.filter(project_id=project_id, user_id=user_id)
        .values_list("role", flat=True)
        .first()
    )


def _clean_id(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string id or null.")
    if len(value) > protocol.MAX_ID_LENGTH:
        raise ValueError(f"{name} is longer than {protocol.MAX_ID_LENGTH} characters.")
    return value


class ProjectConsumer(AsyncJsonWebsocketConsumer):
    """One browser tab in one project: relays ``project.<id>`` events, keeps its presence."""

    project_id: str
    group_name: str
    role: str | None
    joined: bool

    async def connect(self) -> None:
        self.project_id = str(self.scope["url_route"]["kwargs"]["project_id"])
        self.group_name = project_group(self.project_id)
        self.user = self.scope.get("user")
        self.role = None
        self.joined = False
        self.segment: str | None = None
        self.shot: str | None = None

        # Accept, then close with a 44xx code: a handshake refusal reaches the browser as an
        # anonymous 1006, while a close code tells it whether to log in or give up.
        await self.accept()
        if self.user is None or not self.user.is_authenticated:
            await self._refuse(
                protocol.CLOSE_UNAUTHENTICATED,
                protocol.ERROR_NOT_AUTHENTICATED,
                "Log in or pass ?token=.",
            )
            return
        self.role = await membership_role(self.project_id, self.user.pk)
        if self.role is None:
            await self._refuse(
                protocol.CLOSE_NOT_FOUND,
                protocol.ERROR_NOT_FOUND,
                "No such project, or you are not a member.",
            )
            return

        await self.channel_layer.group_add(self.group_name, self.channel_name)
        self.joined = True
        people = await self._presence(
            presence.presence_join(self.project_id, self.channel_name, self.user), []
        )
        await self.send_json(
            {
                "type": protocol.HELLO,
                "data": {
                    "project": self.project_id,
                    "user": {
                        "id": self.user.pk,
                        "username": self.user.get_username(),
                        "display_name": self.user.get_full_name()
                        or self.user.get_username(),
                    },
                    "role": self.role,
                    "presence": people,
                    "heartbeat_seconds": presence.heartbeat_seconds(),
                },
            }
        )

    async def disconnect(self, code: int) -> None:
        await self._leave()

    # --- server → client -------------------------------------------------------------------

    async def project_event(self, message: dict[str, Any]) -> None:
        """Group message ``{"type": "project.event", "event": {type, data, revision?}}``."""
        if not self.joined:
            return
        event = message.get("event") or {}
        await self.send_json(event)
        if event.get("type") in protocol.MEMBERSHIP_EVENT_TYPES:
            # Cheap and rare: re-check rather than trust the payload's shape.
            role = await membership_role(self.project_id, self.user.pk)
            if role is None:
                await self._leave()
                await self._refuse(
                    protocol.CLOSE_NOT_FOUND,
                    protocol.ERROR_NOT_FOUND,
                    "You are no longer a member.",
                )
            else:
                self.role = role

    # --- client → server -------------------------------------------------------------------

    async def receive(
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        **kwargs: Any,
    ) -> None:
        if not self.joined:
            return
        if text_data is None:
            await self._error(protocol.ERROR_BAD_FRAME, "Send JSON text frames.")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self._error(protocol.ERROR_BAD_FRAME, "Not valid JSON.")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self._error(
                protocol.ERROR_BAD_FRAME, 'Send an object with a string "type".'
            )
            return
        await self.receive_json(content)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        type_ = content["type"]
        if type_ == protocol.PING:
            await self._heartbeat()
            await self.send_json({"type": protocol.PONG})
        elif type_ == protocol.PRESENCE_UPDATE:
            await self._presence_update(content.get("data"))
        else:
            await self._error(
                protocol.ERROR_UNKNOWN_TYPE,
                f"Unknown message type {type_[:64]!r}; expected one of {sorted(protocol.CLIENT_MESSAGE_TYPES)}.",
            )

    async def _presence_update(self, data: Any) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            await self._error(
                protocol.ERROR_INVALID, "data must be an object {segment?, shot?}."
            )
            return
        try:
            segment = _clean_id(data.get("segment"), "segment")
            shot = _clean_id(data.get("shot"), "shot")
        except (TypeError, ValueError) as exc:
            await self._error(protocol.ERROR_INVALID, str(exc))
            return
        self.segment, self.shot = segment, shot
        await self._presence(
            presence.presence_update(
                self.project_id,
                self.channel_name,
                segment=segment,
                shot=shot,
                user=self.user,
            ),
            None,
        )

    async def _heartbeat(self) -> None:
        # Re-adding refreshes channels_redis' group expiry (a day) for very long sessions.
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self._presence(
            presence.presence_update(
                self.project_id,
                self.channel_name,
                segment=self.segment,
                shot=self.shot,
                user=self.user,
            ),
            None,
        )

    # --- helpers ---------------------------------------------------------------------------

    async def _presence(self, coro, default):
        """Presence is best-effort: a Redis hiccup must not drop the socket."""
        try:
            return await coro
        except Exception:
            logger.warning(
                "presence failed for project %s", self.project_id, exc_info=True
            )
            return default

    async def _leave(self) -> None:
        if not self.joined:
            return
        self.joined = False
        try:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)
        except Exception:
            logger.warning("could not leave group %s", self.group_name, exc_info=True)
        await self._presence(
            presence.presence_leave(self.project_id, self.channel_name), None
        )

    async def _error(self, code: str, detail: str) -> None:
        await self.send_json(
            {"type": protocol.ERROR, "data": {"code": code, "detail": detail}}
        )

    async def _refuse(self, close_code: int, code: str, detail: str) -> None:
        await self._error(code, detail)
        await self.close(code=close_code)


class NotFoundConsumer(AsyncJsonWebsocketConsumer):
    """Any other websocket path: closed with 4404 instead of a routing exception."""

    async def connect(self) -> None:
        await self.accept()
        await self.send_json(
            {
                "type": protocol.ERROR,
                "data": {
                    "code": protocol.ERROR_NOT_FOUND,
                    "detail": "No such websocket endpoint.",
                },
            }
        )
        await self.close(code=protocol.CLOSE_NOT_FOUND)

    async def receive(
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        **kwargs: Any,
    ) -> None:
        return
