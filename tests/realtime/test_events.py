"""Project events reach the sockets of members after commit, and never after a rollback."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from apps.core.events import publish, publish_on_commit
from apps.projects.models import Membership

from .helpers import TIMEOUT, drain, member_socket, next_message, run, token_key

pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


def test_publish_on_commit_arrives_only_after_commit(crew):
    key = token_key(crew.director)
    segment_id = str(crew.seg.id)

    async def scenario():
        async with member_socket(crew.project, crew.director, token=key) as (comm, _):
            await drain(comm)
            # Thread-sensitive sync_to_async calls share one thread, hence one DB connection:
            # the transaction stays open across them while the socket is watched.
            atomic = transaction.atomic()
            await sync_to_async(atomic.__enter__)()
            try:
                await sync_to_async(publish_on_commit)(
                    crew.project.id,
                    "segment.updated",
                    {"id": segment_id, "title": "Renamed"},
                    revision=4,
                )
                assert await comm.receive_nothing(timeout=0.5), (
                    "event sent before commit"
                )
            finally:
                await sync_to_async(atomic.__exit__)(None, None, None)
            return await comm.receive_json_from(timeout=TIMEOUT)

    frame = run(scenario)
    assert frame == {
        "type": "segment.updated",
        "data": {"id": segment_id, "title": "Renamed"},
        "revision": 4,
    }


def test_publish_on_commit_sends_nothing_on_rollback(crew):
    key = token_key(crew.director)

    def write_and_fail():
        with pytest.raises(Boom), transaction.atomic():
            crew.seg.title = "Never"
            crew.seg.save()
            publish_on_commit(
                crew.project.id,
                "segment.updated",
                {"id": str(crew.seg.id), "title": "Never"},
            )
            raise Boom

    def write_and_commit():
        with transaction.atomic():
            publish_on_commit(crew.project.id, "take.approved", {"id": "t1"})

    async def scenario():
        async with member_socket(crew.project, crew.director, token=key) as (comm, _):
            await drain(comm)
            await sync_to_async(write_and_fail)()
            assert await comm.receive_nothing(timeout=0.7), (
                "event of a rolled-back transaction was sent"
            )
            # the socket still works: a later committed event arrives (and is the first one)
            await sync_to_async(write_and_commit)()
            return await comm.receive_json_from(timeout=TIMEOUT)

    assert run(scenario) == {"type": "take.approved", "data": {"id": "t1"}}
    crew.seg.refresh_from_db()
    assert crew.seg.title == "Owned"


def test_events_reach_every_member_and_only_this_project(crew):
    from tests.conftest import make_project

    other = make_project(crew.director)
    keys = {name: token_key(crew.persona(name)) for name in ("director", "viewer")}

    async def scenario():
        async with (
            member_socket(crew.project, crew.director, token=keys["director"]) as (
                director,
                _,
            ),
            member_socket(crew.project, crew.viewer, token=keys["viewer"]) as (
                viewer,
                _,
            ),
            member_socket(other, crew.director, token=keys["director"]) as (
                elsewhere,
                _,
            ),
        ):
            for comm in (director, viewer, elsewhere):
                await drain(comm)
            await sync_to_async(publish)(
                crew.project.id, "job.progress", {"job": "j1", "progress": 0.5}
            )
            got = [
                await next_message(comm, "job.progress") for comm in (director, viewer)
            ]
            assert await elsewhere.receive_nothing(timeout=0.5)
            return got

    for frame in run(scenario):
        assert frame == {"type": "job.progress", "data": {"job": "j1", "progress": 0.5}}


def test_removed_member_is_disconnected(crew):
    key = token_key(crew.artist)

    async def scenario():
        async with member_socket(crew.project, crew.artist, token=key) as (comm, _):
            await drain(comm)
            await sync_to_async(
                Membership.objects.filter(project=crew.project, user=crew.artist).delete
            )()
            await sync_to_async(publish)(
                crew.project.id, "member.removed", {"user": crew.artist.pk}
            )
            event = await next_message(comm, "member.removed")
            error = await next_message(comm, "error")
            closed = await comm.receive_output(timeout=TIMEOUT)
            return event, error, closed

    event, error, closed = run(scenario)
    assert event["data"] == {"user": crew.artist.pk}
    assert error["data"]["code"] == "not_found"
    assert closed == {"type": "websocket.close", "code": 4404}


def test_role_change_keeps_the_socket(crew):
    key = token_key(crew.viewer)

    async def scenario():
        async with member_socket(crew.project, crew.viewer, token=key) as (comm, _):
            await drain(comm)
            await sync_to_async(
                Membership.objects.filter(project=crew.project, user=crew.viewer).update
            )(role="artist")
            await sync_to_async(publish)(
                crew.project.id,
                "member.updated",
                {"user": crew.viewer.pk, "role": "artist"},
            )
            await next_message(comm, "member.updated")
            await comm.send_json_to({"type": "ping"})
            return await next_message(comm, "pong")

    assert run(scenario) == {"type": "pong"}
