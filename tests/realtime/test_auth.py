"""Who may open ``ws/projects/<id>/``: members by session or token; everyone else is refused."""

from __future__ import annotations

import uuid

import pytest

from apps.realtime import protocol

from .helpers import (
    TIMEOUT,
    communicator,
    member_socket,
    project_path,
    run,
    session_cookie,
    token_key,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def _refusal(path: str, *, cookie: str | None = None) -> tuple[dict, dict]:
    """Open, expect accept → error frame → close; return (error frame, close message)."""
    comm = communicator(path, cookie=cookie)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected  # accepted so that the close code reaches the browser
    error = await comm.receive_json_from(timeout=TIMEOUT)
    closed = await comm.receive_output(timeout=TIMEOUT)
    # What the server does next. (The refused consumer's idle channel-layer read can take
    # seconds to notice cancellation — a channels_redis/redis-py quirk — so do not wait.)
    await comm.disconnect(code=closed.get("code", 1000), timeout=0.2)
    return error, closed


def test_anonymous_is_refused_with_4401(crew):
    error, closed = run(_refusal, project_path(crew.project))
    assert error == {
        "type": "error",
        "data": {"code": "not_authenticated", "detail": error["data"]["detail"]},
    }
    assert closed == {"type": "websocket.close", "code": protocol.CLOSE_UNAUTHENTICATED}


def test_unknown_token_is_refused_with_4401(crew):
    _, closed = run(_refusal, project_path(crew.project) + "?token=not-a-real-token")
    assert closed["code"] == 4401


def test_token_of_inactive_user_is_refused(crew):
    key = token_key(crew.artist)
    crew.artist.is_active = False
    crew.artist.save()
    _, closed = run(_refusal, project_path(crew.project) + f"?token={key}")
    assert closed["code"] == 4401


def test_non_member_is_refused_with_4404_by_token_and_session(crew):
    _, closed = run(
        _refusal, project_path(crew.project) + f"?token={token_key(crew.stranger)}"
    )
    assert closed == {"type": "websocket.close", "code": protocol.CLOSE_NOT_FOUND}
    error, closed = run(
        _refusal, project_path(crew.project), cookie=session_cookie(crew.stranger)
    )
    assert error["data"]["code"] == "not_found"
    assert closed["code"] == 4404


def test_missing_project_looks_like_not_a_member(crew):
    _, closed = run(
        _refusal, project_path(uuid.uuid4()) + f"?token={token_key(crew.director)}"
    )
    assert closed["code"] == 4404


def test_unknown_websocket_path_is_closed_with_4404(crew):
    _, closed = run(_refusal, "/ws/nothing-here/")
    assert closed["code"] == 4404
    _, closed = run(_refusal, "/ws/projects/not-a-uuid/")
    assert closed["code"] == 4404


def test_member_connects_with_session_cookie(crew):
    cookie = session_cookie(crew.owner)

    async def scenario():
        async with member_socket(crew.project, crew.owner, cookie=cookie) as (_, hello):
            return hello

    hello = run(scenario)
    assert hello["data"]["role"] == "artist"
    assert hello["data"]["project"] == str(crew.project.id)
    assert hello["data"]["user"] == {
        "id": crew.owner.pk,
        "username": crew.owner.username,
        "display_name": crew.owner.username,
    }
    assert [p["username"] for p in hello["data"]["presence"]] == [crew.owner.username]
    assert hello["data"]["heartbeat_seconds"] > 0


@pytest.mark.parametrize(
    "persona,role",
    [("director", "director"), ("producer", "producer"), ("viewer", "viewer")],
)
def test_member_connects_with_token(crew, persona, role):
    user = crew.persona(persona)
    key = token_key(user)

    async def scenario():
        async with member_socket(crew.project, user, token=key) as (_, hello):
            return hello

    hello = run(scenario)
    assert hello["type"] == "hello"
    assert hello["data"]["role"] == role
    assert hello["data"]["user"]["id"] == user.pk


def test_session_wins_over_token(crew):
    cookie = session_cookie(crew.director)
    key = token_key(crew.viewer)

    async def scenario():
        async with member_socket(
            crew.project, crew.director, cookie=cookie, token=key
        ) as (_, hello):
            return hello

    assert run(scenario)["data"]["role"] == "director"


def test_foreign_origin_is_rejected_at_handshake(crew):
    key = token_key(crew.director)

    async def scenario(origin):
        comm = communicator(project_path(crew.project) + f"?token={key}", origin=origin)
        connected, _ = await comm.connect(timeout=TIMEOUT)
        if connected:
            await comm.disconnect(timeout=TIMEOUT)
        return connected

    assert run(scenario, "https://evil.example") is False
    assert run(scenario, None) is True  # scripts send no Origin; the token authenticates them
    assert (
        run(scenario, "http://localhost:5173") is True
    )  # dev server on an allowed host
