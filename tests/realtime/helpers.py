"""Realtime test helpers: socket helpers and a coroutine runner.

pytest-asyncio is not installed: each test is a plain function that drives one coroutine
with :func:`run` (asgiref's ``async_to_sync``, one fresh event loop per call).
"""

from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager
from typing import Any

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from apps.realtime import presence

PREFIX = f"montage-test-{uuid.uuid4().hex[:10]}"
ORIGIN = "http://testserver"
TIMEOUT = 3


def run(coro_fn, *args, **kwargs) -> Any:
    """Run ``await coro_fn(*args, **kwargs)`` on a fresh loop and close that loop's Redis client."""

    async def main():
        try:
            return await coro_fn(*args, **kwargs)
        finally:
            await presence.aclose()

    return async_to_sync(main)()


def application():
    from studio.asgi import application as app

    return app


def project_path(project) -> str:
    return f"/ws/projects/{getattr(project, 'id', project)}/"


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"


def token_key(user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=user)[0].key


def communicator(
    path: str, *, cookie: str | None = None, origin: str | None = ORIGIN
) -> WebsocketCommunicator:
    headers = []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application(), path, headers=headers)


async def next_message(
    comm: WebsocketCommunicator, type_: str, where=None, timeout: float = TIMEOUT
) -> dict:
    """The next frame of ``type_`` (matching ``where(frame)``), skipping any others."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = []
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no {type_!r} frame within {timeout}s; got {seen}")
        try:
            frame = await comm.receive_json_from(timeout=remaining)
        except TimeoutError:
            raise AssertionError(
                f"no {type_!r} frame within {timeout}s; got {seen}"
            ) from None
        if frame.get("type") == type_ and (where is None or where(frame)):
            return frame
        seen.append(frame)


async def drain(comm: WebsocketCommunicator, quiet: float = 0.2) -> list[dict]:
    """Read frames until none arrives for ``quiet`` seconds."""
    frames = []
    while not await comm.receive_nothing(timeout=quiet):
        frames.append(await comm.receive_json_from())
    return frames


@asynccontextmanager
async def member_socket(
    project, user, *, cookie: str | None = None, token: str | None = None
):
    """An open socket of a member, past its ``hello``; yields ``(communicator, hello)``."""
    path = project_path(project)
    if token is not None:
        path += f"?token={token}"
    comm = communicator(path, cookie=cookie)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    try:
        hello = await comm.receive_json_from(timeout=TIMEOUT)
        assert hello["type"] == "hello", hello
        yield comm, hello
    finally:
        await comm.disconnect(timeout=TIMEOUT)


def people_by_username(frame_or_list) -> dict[str, dict]:
    people = (
        frame_or_list["data"]["presence"]
        if isinstance(frame_or_list, dict)
        else frame_or_list
    )
    return {p["username"]: p for p in people}
