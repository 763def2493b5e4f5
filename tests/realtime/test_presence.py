"""Presence lives in Redis: shared by every web process, merged per user, expiring."""

from __future__ import annotations

import json

import pytest
import redis
from django.conf import settings

from apps.realtime import presence

from .helpers import (
    PREFIX,
    drain,
    member_socket,
    next_message,
    people_by_username,
    run,
    token_key,
)

pytestmark = pytest.mark.django_db(transaction=True)


def raw_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


def fresh_presence_list(project_id) -> list[dict]:
    """As another process would see it: a brand-new Redis client, no state of ours."""
    presence._sync_client = None
    return presence.presence_list_sync(project_id)


def test_keys_use_the_channel_layer_prefix(crew):
    entries, seen = presence._keys(crew.project.id)
    assert entries == f"{PREFIX}:presence:{{{crew.project.id}}}:entries"
    assert seen == f"{PREFIX}:presence:{{{crew.project.id}}}:seen"


def test_update_reaches_other_members_and_lives_in_redis(crew):
    keys = {name: token_key(crew.persona(name)) for name in ("owner", "director")}
    seg, shot = str(crew.seg.id), str(crew.shot.id)

    async def scenario():
        async with (
            member_socket(crew.project, crew.owner, token=keys["owner"]) as (a, _),
            member_socket(crew.project, crew.director, token=keys["director"]) as (
                b,
                hello_b,
            ),
        ):
            assert set(people_by_username(hello_b["data"]["presence"])) == {
                crew.owner.username,
                crew.director.username,
            }
            await drain(b)
            await a.send_json_to(
                {"type": "presence.update", "data": {"segment": seg, "shot": shot}}
            )
            changed = await next_message(
                b,
                "presence.changed",
                where=lambda f: people_by_username(f)[crew.owner.username]["segments"],
            )
            entries, _ = presence._keys(crew.project.id)
            stored = raw_redis().hgetall(entries)
            return changed, stored, fresh_presence_list(crew.project.id)

    changed, stored, listed = run(scenario)
    owner = people_by_username(changed)[crew.owner.username]
    assert owner["segments"] == [seg] and owner["shots"] == [shot]
    assert (
        owner["user_id"] == crew.owner.pk
        and owner["display_name"] == crew.owner.username
    )
    assert (
        owner["connections"] == 1
        and owner["since"].endswith("Z")
        and owner["seen"].endswith("Z")
    )
    director = people_by_username(changed)[crew.director.username]
    assert director["segments"] == [] and director["shots"] == []
    # two consumer instances, one per connection, wrote to the same Redis hash
    assert len(stored) == 2
    assert {json.loads(v)["user_id"] for v in stored.values()} == {
        crew.owner.pk,
        crew.director.pk,
    }
    assert people_by_username(listed)[crew.owner.username]["segments"] == [seg]


def test_one_entry_per_user_across_tabs(crew):
    key = token_key(crew.owner)
    seg, open_seg = str(crew.seg.id), str(crew.open_seg.id)

    async def scenario():
        async with (
            member_socket(crew.project, crew.owner, token=key) as (tab1, _),
            member_socket(crew.project, crew.owner, token=key) as (tab2, _),
        ):
            await tab1.send_json_to(
                {"type": "presence.update", "data": {"segment": seg}}
            )
            await tab2.send_json_to(
                {"type": "presence.update", "data": {"segment": open_seg}}
            )
            await next_message(
                tab1,
                "presence.changed",
                where=lambda f: len(f["data"]["presence"][0]["segments"]) == 2,
            )
            return await presence.presence_list(crew.project.id)

    (owner,) = run(scenario)
    assert owner["username"] == crew.owner.username
    assert owner["segments"] == sorted([seg, open_seg])
    assert owner["connections"] == 2


def test_disconnect_removes_the_user(crew):
    keys = {name: token_key(crew.persona(name)) for name in ("owner", "artist")}

    async def scenario():
        async with member_socket(crew.project, crew.owner, token=keys["owner"]) as (
            a,
            _,
        ):
            async with member_socket(crew.project, crew.artist, token=keys["artist"]):
                assert set(
                    people_by_username(fresh_presence_list(crew.project.id))
                ) == {
                    crew.owner.username,
                    crew.artist.username,
                }
            changed = await next_message(
                a, "presence.changed", where=lambda f: len(f["data"]["presence"]) == 1
            )
            return changed, fresh_presence_list(crew.project.id)

    changed, listed = run(scenario)
    assert list(people_by_username(changed)) == [crew.owner.username]
    assert list(people_by_username(listed)) == [crew.owner.username]
    assert fresh_presence_list(crew.project.id) == []  # the last one left too


def test_stale_entries_expire(crew, monkeypatch):
    key = token_key(crew.owner)
    ttl = settings.MONTAGE_PRESENCE_TTL_SECONDS
    real_now = presence._now

    async def scenario():
        async with member_socket(crew.project, crew.owner, token=key) as (comm, _):
            assert len(fresh_presence_list(crew.project.id)) == 1
            monkeypatch.setattr(presence, "_now", lambda: real_now() + ttl - 1)
            still_there = fresh_presence_list(crew.project.id)
            monkeypatch.setattr(presence, "_now", lambda: real_now() + ttl + 1)
            gone = fresh_presence_list(crew.project.id)
            # the socket is alive after all: its next ping puts it back, and says so
            await drain(comm)
            await comm.send_json_to({"type": "ping"})
            await next_message(comm, "pong")
            back = await next_message(comm, "presence.changed")
            return still_there, gone, back

    still_there, gone, back = run(scenario)
    assert len(still_there) == 1
    assert gone == []
    entries, _ = presence._keys(crew.project.id)
    assert raw_redis().hlen(entries) == 0  # pruned on read, not just hidden
    assert list(people_by_username(back)) == [crew.owner.username]


def test_ping_prunes_connections_of_a_dead_process(crew):
    keys = {name: token_key(crew.persona(name)) for name in ("owner", "artist")}

    async def scenario():
        async with (
            member_socket(crew.project, crew.owner, token=keys["owner"]) as (a, _),
            member_socket(crew.project, crew.artist, token=keys["artist"]),
        ):
            # b's server "died": its heartbeat stopped long ago
            _, seen = presence._keys(crew.project.id)
            r = raw_redis()
            (b_channel,) = [
                ch for ch in r.zrange(seen, 0, -1) if ch != a_channel(r, seen, crew)
            ]
            r.zadd(
                seen,
                {
                    b_channel: presence._now()
                    - settings.MONTAGE_PRESENCE_TTL_SECONDS
                    - 5
                },
            )
            await drain(a)
            await a.send_json_to({"type": "ping"})
            assert await next_message(a, "pong") == {"type": "pong"}
            changed = await next_message(a, "presence.changed")
            return changed

    assert list(people_by_username(run(scenario))) == [crew.owner.username]


def a_channel(r: redis.Redis, seen: str, crew) -> str:
    entries = seen.replace(":seen", ":entries")
    for channel, raw in r.hgetall(entries).items():
        if json.loads(raw)["user_id"] == crew.owner.pk:
            return channel
    raise AssertionError("owner not present")


def test_ping_refreshes_heartbeat(crew, monkeypatch):
    key = token_key(crew.owner)
    real_now = presence._now
    ttl = settings.MONTAGE_PRESENCE_TTL_SECONDS

    async def scenario():
        async with member_socket(crew.project, crew.owner, token=key) as (comm, _):
            monkeypatch.setattr(presence, "_now", lambda: real_now() + ttl - 5)
            await comm.send_json_to({"type": "ping"})
            await next_message(comm, "pong")
            # 2*ttl - 10 after connecting, but only ttl - 5 after the ping
            monkeypatch.setattr(presence, "_now", lambda: real_now() + 2 * ttl - 10)
            return fresh_presence_list(crew.project.id)

    assert list(people_by_username(run(scenario))) == [crew.owner.username]


def test_invalid_and_unknown_messages_get_errors(crew):
    key = token_key(crew.owner)

    async def scenario():
        async with member_socket(crew.project, crew.owner, token=key) as (comm, _):
            await drain(comm)
            replies = []
            for frame in (
                {"type": "presence.update", "data": {"segment": 12}},
                {"type": "presence.update", "data": {"shot": "x" * 65}},
                {"type": "presence.update", "data": ["not", "an", "object"]},
                {"type": "segment.delete", "data": {}},
            ):
                await comm.send_json_to(frame)
                replies.append(await next_message(comm, "error"))
            await comm.send_to(text_data="{not json")
            replies.append(await next_message(comm, "error"))
            await comm.send_to(bytes_data=b"\x00")
            replies.append(await next_message(comm, "error"))
            await comm.send_json_to(["type", "ping"])
            replies.append(await next_message(comm, "error"))
            # still connected and well
            await comm.send_json_to({"type": "ping"})
            await next_message(comm, "pong")
            return replies

    codes = [r["data"]["code"] for r in run(scenario)]
    assert codes == [
        "invalid",
        "invalid",
        "invalid",
        "unknown_type",
        "bad_frame",
        "bad_frame",
        "bad_frame",
    ]


def test_same_location_does_not_republish(crew):
    keys = {name: token_key(crew.persona(name)) for name in ("owner", "director")}
    seg = str(crew.seg.id)

    async def scenario():
        async with (
            member_socket(crew.project, crew.owner, token=keys["owner"]) as (a, _),
            member_socket(crew.project, crew.director, token=keys["director"]) as (
                b,
                _,
            ),
        ):
            await a.send_json_to({"type": "presence.update", "data": {"segment": seg}})
            await next_message(
                b,
                "presence.changed",
                where=lambda f: people_by_username(f)[crew.owner.username]["segments"],
            )
            await drain(b)
            await a.send_json_to({"type": "presence.update", "data": {"segment": seg}})
            return await b.receive_nothing(timeout=0.5)

    assert run(scenario) is True


def test_presence_functions_publish_and_list(crew):
    """The module API on its own: join/update/leave publish the full list to the group."""
    from channels.layers import get_channel_layer

    from apps.core.events import project_group

    pid = crew.project.id

    async def scenario():
        layer = get_channel_layer()
        listener = await layer.new_channel()
        await layer.group_add(project_group(pid), listener)
        try:
            await presence.presence_join(pid, "chan-1", crew.artist)
            joined = await layer.receive(listener)
            await presence.presence_update(pid, "chan-1", segment="s-1")
            moved = await layer.receive(listener)
            kept = await presence.presence_update(
                pid, "chan-1", shot="sh-1"
            )  # segment kept
            await layer.receive(listener)
            missing = await presence.presence_update(
                pid, "no-such-channel", segment="s-2"
            )
            await presence.presence_leave(pid, "chan-1")
            left = await layer.receive(listener)
            return joined, moved, kept, missing, left
        finally:
            await layer.group_discard(project_group(pid), listener)

    joined, moved, kept, missing, left = run(scenario)
    assert joined["type"] == "project.event"
    assert joined["event"]["type"] == "presence.changed"
    assert joined["event"]["data"]["presence"][0]["username"] == crew.artist.username
    assert moved["event"]["data"]["presence"][0]["segments"] == ["s-1"]
    assert kept[0]["segments"] == ["s-1"] and kept[0]["shots"] == ["sh-1"]
    assert missing is None
    assert left["event"]["data"]["presence"] == []
