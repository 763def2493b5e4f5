"""An ASGI guard for the bytes of local uploads (``PUT /api/v1/uploads/<id>/data/``).

Django's ASGI handler reads a whole request body (into a temporary file) before any view
runs, so the view alone could only refuse a body larger than the upload's declared size after
all of it had arrived. This guard sits in front of Django: it looks up the declared size, refuses
at once (``413``) when ``Content-Length`` says more, and otherwise counts the bytes as they
arrive and stops reading the moment they pass the declared size (Django sees the client go
away and keeps nothing; the client gets the ``413``). Anything else passes straight through,
and the view still checks everything itself (it is what runs under WSGI and in tests).
"""

from __future__ import annotations

import json
import re
from typing import Any

from channels.db import database_sync_to_async

from .humanize import human_size
from .models import Upload, UploadMethod, UploadStatus

_DATA_PATH = re.compile(
    r"^/api/v1/uploads/(?P<id>[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})/data/$"
)


def _declared_size(upload_id: str) -> int | None:
    return (
        Upload.objects.filter(pk=upload_id, method=UploadMethod.LOCAL, status=UploadStatus.PENDING)
        .values_list("size", flat=True)
        .first()
    )


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope.get("headers") or []:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send, declared: int) -> None:
    body = json.dumps(
        {
            "code": "upload_too_large",
            "detail": f"This upload was declared as {human_size(declared)} but more bytes were sent; "
            "start a new upload with the right size.",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        }
    )  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class UploadBodyLimit:
    """Wraps the HTTP application (see the module docstring)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        match = _DATA_PATH.match(scope.get("path", "")) if scope.get("type") == "http" and scope.get("method") == "PUT" else None
        if match is None:
            return await self.app(scope, receive, send)
        declared = await database_sync_to_async(_declared_size)(match["id"])
        if declared is None:  # not a pending local upload: the view answers
            return await self.app(scope, receive, send)
        length = _content_length(scope)
        if length is not None and length > declared:
            return await _refuse(send, declared)

        received = 0
        over = False
        started = False

        async def counted_receive():
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > declared:
                    over = True  # stop here: Django drops what it has read
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message):
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, tracked_send)
        if over and not started:
            await _refuse(send, declared)
