"""Who is in a project right now, and where — kept in Redis so every web process sees it.

Per project two keys (``<channels prefix>:presence:{<project id>}:…``; the braces keep both
in one Redis Cluster slot):

* ``…:entries`` — hash: websocket channel name → JSON ``{user_id, username, display_name,
  segment, shot, since}``;
* ``…:seen`` — sorted set: channel name → last heartbeat (unix seconds).

An entry whose heartbeat is older than ``MONTAGE_PRESENCE_TTL_SECONDS`` is stale: it is
pruned (atomically, by a Lua script) whenever the list is read, so tabs of a crashed or
killed web process disappear without anybody calling :func:`presence_leave`. Both keys also
expire as a whole when nobody has written for twice the TTL.

The async functions are for the consumer (they run on the event loop, with one
``redis.asyncio`` client per loop). Every change publishes ``presence.changed`` with the
full list to the group ``project.<id>``. :func:`presence_list_sync` reads from sync code.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
import weakref
from datetime import UTC, datetime
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

from apps.core.events import EVENT_HANDLER, project_group

from . import protocol

logger = logging.getLogger(__name__)

ProjectId = uuid.UUID | str

# KEYS[1] entries hash, KEYS[2] seen zset; ARGV[1] cutoff (entries seen before it are stale).
# Returns {number of entries removed, {channel, entry json, seen, channel, entry json, seen, ...}}.
_PRUNE_AND_LIST = """
local removed = 0
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
for _, ch in ipairs(stale) do
  redis.call('ZREM', KEYS[2], ch)
  redis.call('HDEL', KEYS[1], ch)
  removed = removed + 1
end
local fields = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #fields, 2 do
  local seen = redis.call('ZSCORE', KEYS[2], fields[i])
  if seen then
    out[#out + 1] = fields[i]
    out[#out + 1] = fields[i + 1]
    out[#out + 1] = seen
  else
    redis.call('HDEL', KEYS[1], fields[i])
    removed = removed + 1
  end
end
return {removed, out}
"""


# --- configuration -------------------------------------------------------------------------


def _now() -> float:
    """Unix time; tests monkeypatch this."""
    return time.time()


def ttl_seconds() -> int:
    return int(getattr(settings, "MONTAGE_PRESENCE_TTL_SECONDS", 60))


def heartbeat_seconds() -> int:
    """How often a client should ping: three pings fit in one TTL."""
    return max(1, ttl_seconds() // 3)


def key_prefix() -> str:
    config = settings.CHANNEL_LAYERS.get("default", {}).get("CONFIG", {})
    return f"{config.get('prefix', 'asgi')}:presence"


def _keys(project_id: ProjectId) -> tuple[str, str]:
    base = f"{key_prefix()}:{{{project_id}}}"
    return f"{base}:entries", f"{base}:seen"


# --- clients -------------------------------------------------------------------------------

# redis.asyncio connections belong to the loop that opened them: one client per loop.
_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[str, aioredis.Redis]
] = weakref.WeakKeyDictionary()
_sync_client: tuple[str, redis.Redis] | None = None
_sync_lock = threading.Lock()


def _aredis() -> aioredis.Redis:
    loop = asyncio.get_running_loop()
    url = settings.REDIS_URL
    cached = _async_clients.get(loop)
    if cached is None or cached[0] != url:
        cached = (url, aioredis.Redis.from_url(url, decode_responses=True))
        _async_clients[loop] = cached
    return cached[1]


def _redis() -> redis.Redis:
    global _sync_client
    url = settings.REDIS_URL
    with _sync_lock:
        if _sync_client is None or _sync_client[0] != url:
            _sync_client = (url, redis.Redis.from_url(url, decode_responses=True))
        return _sync_client[1]


async def aclose() -> None:
    """Close this loop's Redis client (tests; daphne simply exits)."""
    cached = _async_clients.pop(asyncio.get_running_loop(), None)
    if cached is not None:
        await cached[1].aclose()


# --- entries -------------------------------------------------------------------------------


def _user_fields(user: Any) -> dict[str, Any]:
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return {
        "user_id": user.pk,
        "username": user.get_username(),
        "display_name": full_name or user.get_username(),
    }


def _entry(
    user: Any, *, segment: str | None, shot: str | None, since: float
) -> dict[str, Any]:
    return {**_user_fields(user), "segment": segment, "shot": shot, "since": since}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def _aggregate(raw: list[Any]) -> list[dict[str, Any]]:
    """Flat ``[channel, entry json, seen, ...]`` from the script → one entry per user."""
    users: dict[Any, dict[str, Any]] = {}
    for i in range(0, len(raw), 3):
        try:
            entry = json.loads(raw[i + 1])
            seen = float(raw[i + 2])
        except (
            TypeError,
            ValueError,
        ):  # pragma: no cover - only a foreign writer could do this
            logger.warning("ignoring malformed presence entry %r", raw[i : i + 3])
            continue
        person = users.get(entry["user_id"])
        if person is None:
            person = users[entry["user_id"]] = {
                "user_id": entry["user_id"],
                "username": entry["username"],
                "display_name": entry["display_name"],
                "segments": set(),
                "shots": set(),
                "connections": 0,
                "since": entry["since"],
                "seen": seen,
            }
        person["connections"] += 1
        person["since"] = min(person["since"], entry["since"])
        person["seen"] = max(person["seen"], seen)
        if entry.get("segment"):
            person["segments"].add(entry["segment"])
        if entry.get("shot"):
            person["shots"].add(entry["shot"])
    out = []
    for person in users.values():
        person["segments"] = sorted(person["segments"])
        person["shots"] = sorted(person["shots"])
        person["since"] = _iso(person["since"])
        person["seen"] = _iso(person["seen"])
        out.append(person)
    out.sort(key=lambda p: (p["display_name"].casefold(), str(p["user_id"])))
    return out


async def _prune_and_list(
    r: aioredis.Redis, project_id: ProjectId
) -> tuple[int, list[dict[str, Any]]]:
    removed, raw = await r.eval(
        _PRUNE_AND_LIST, 2, *_keys(project_id), _now() - ttl_seconds()
    )
    return int(removed), _aggregate(raw)


async def _write(
    r: aioredis.Redis, project_id: ProjectId, channel_name: str, entry: dict[str, Any]
) -> None:
    entries, seen = _keys(project_id)
    expire = ttl_seconds() * 2
    async with r.pipeline(transaction=True) as pipe:
        pipe.hset(entries, channel_name, json.dumps(entry))
        pipe.zadd(seen, {channel_name: _now()})
        pipe.expire(entries, expire)
        pipe.expire(seen, expire)
        await pipe.execute()


async def _publish(project_id: ProjectId, people: list[dict[str, Any]]) -> None:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:  # pragma: no cover - CHANNEL_LAYERS is always configured
        return
    event = {"type": protocol.PRESENCE_CHANGED, "data": {"presence": people}}
    await layer.group_send(
        project_group(project_id), {"type": EVENT_HANDLER, "event": event}
    )


# --- public API ----------------------------------------------------------------------------


async def presence_list(project_id: ProjectId) -> list[dict[str, Any]]:
    """Everyone present (stale entries pruned), one entry per user."""
    return (await _prune_and_list(_aredis(), project_id))[1]


def presence_list_sync(project_id: ProjectId) -> list[dict[str, Any]]:
    """:func:`presence_list` for sync code (views, tasks, shells)."""
    _removed, raw = _redis().eval(
        _PRUNE_AND_LIST, 2, *_keys(project_id), _now() - ttl_seconds()
    )
    return _aggregate(raw)


async def presence_join(
    project_id: ProjectId,
    channel_name: str,
    user: Any,
    *,
    segment: str | None = None,
    shot: str | None = None,
    publish: bool = True,
) -> list[dict[str, Any]]:
    """Add a connection (one browser tab) of ``user``; returns the new list."""
    r = _aredis()
    await _write(
        r,
        project_id,
        channel_name,
        _entry(user, segment=segment, shot=shot, since=_now()),
    )
    people = (await _prune_and_list(r, project_id))[1]
    if publish:
        await _publish(project_id, people)
    return people


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()
"""Default of :func:`presence_update`'s ``segment``/``shot``: leave as it is."""


async def presence_update(
    project_id: ProjectId,
    channel_name: str,
    *,
    segment: str | None = KEEP,
    shot: str | None = KEEP,
    user: Any = None,
    publish: bool = True,
) -> list[dict[str, Any]] | None:
    """Move a connection to ``segment``/``shot`` (``None`` = not in one; omitted = unchanged)
    and refresh its heartbeat; returns the new list.

    Publishes when the list changed (this connection moved, or stale entries were pruned).
    If the entry had expired it is recreated from ``user`` (an omitted location is then
    ``None``); without ``user`` the call does nothing and returns ``None``.
    """
    r = _aredis()
    entries, _ = _keys(project_id)
    current = await r.hget(entries, channel_name)
    if current is not None:
        entry = json.loads(current)
        before = (entry.get("segment"), entry.get("shot"))
        if segment is not KEEP:
            entry["segment"] = segment
        if shot is not KEEP:
            entry["shot"] = shot
        changed = (entry["segment"], entry["shot"]) != before
    elif user is not None:
        entry = _entry(
            user,
            segment=None if segment is KEEP else segment,
            shot=None if shot is KEEP else shot,
            since=_now(),
        )
        changed = True
    else:
        return None
    await _write(r, project_id, channel_name, entry)
    removed, people = await _prune_and_list(r, project_id)
    if publish and (changed or removed):
        await _publish(project_id, people)
    return people


async def presence_touch(
    project_id: ProjectId, channel_name: str, user: Any = None
) -> list[dict[str, Any]] | None:
    """Heartbeat: :func:`presence_update` without moving."""
    return await presence_update(project_id, channel_name, user=user)


async def presence_leave(
    project_id: ProjectId, channel_name: str, *, publish: bool = True
) -> list[dict[str, Any]]:
    """Remove a connection; returns (and publishes) the new list."""
    r = _aredis()
    entries, seen = _keys(project_id)
    async with r.pipeline(transaction=True) as pipe:
        pipe.hdel(entries, channel_name)
        pipe.zrem(seen, channel_name)
        await pipe.execute()
    people = (await _prune_and_list(r, project_id))[1]
    if publish:
        await _publish(project_id, people)
    return people
