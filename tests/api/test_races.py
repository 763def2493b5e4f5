"""Races that only a real database shows: two people doing the same thing at the same moment.

Each thread opens its own database connection (and closes it at the end); a Barrier lines
the threads up so that both requests are in flight together. Each race is repeated
``ROUNDS`` times on fresh rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection

from apps.core.errors import Conflict
from apps.production import services
from apps.production.models import ReviewState, Segment, Shot, Take
from apps.projects.access import project_access
from apps.projects.models import Role
from tests.conftest import (
    add_member,
    client_for,
    make_project,
    make_segment,
    make_shot,
    make_user,
)

from .helpers import API, make_take, timeline_revision

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 10


def run_together(*jobs: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run the jobs in threads released at the same moment; return ("ok", value) or ("error", exc)."""
    barrier = threading.Barrier(len(jobs))
    results: list[tuple[str, Any]] = [("error", RuntimeError("did not run"))] * len(jobs)

    def runner(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = ("ok", job())
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            results[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive(), "a racing thread hung"
    return results


def responses(results: list[tuple[str, Any]]) -> list:
    """The HTTP responses of API jobs; an exception escaping a view (a 500) fails the test."""
    errors = [value for kind, value in results if kind == "error"]
    assert not errors, f"a request raised (a 500): {errors!r}"
    return [value for _, value in results]


def describe(rs) -> list:
    return [(r.status_code, r.content[:300]) for r in rs]


def post(user, url: str, body: dict | None = None):
    return client_for(user).post(url, body, format="json")


def patch(user, url: str, body: dict):
    return client_for(user).patch(url, body, format="json")


# --- claims -------------------------------------------------------------------------------------


def _claim_with_service(user, project_id, segment_id):
    access = project_access(user=user, project_id=project_id)
    segment = Segment.objects.get(pk=segment_id)
    return services.segment_claim(access=access, segment=segment).owner_id


def _artists_project(n: int = 2):
    project = make_project(make_user())
    artists = [make_user() for _ in range(n)]
    for artist in artists:
        add_member(project, artist, Role.ARTIST)
    return project, artists


def test_two_artists_claiming_one_segment_exactly_one_wins():
    project, artists = _artists_project()
    for _ in range(ROUNDS):
        segment = make_segment(project)
        results = run_together(*(partial(_claim_with_service, a, project.pk, segment.pk) for a in artists))
        wins = [value for kind, value in results if kind == "ok"]
        losses = [value for kind, value in results if kind == "error"]
        assert len(wins) == 1 and len(losses) == 1, results
        assert isinstance(losses[0], Conflict) and losses[0].code == "segment_already_claimed", losses[0]
        segment.refresh_from_db()
        assert segment.owner_id == wins[0] and segment.status == "claimed"


def test_two_artists_claiming_through_the_api():
    project, artists = _artists_project()
    for _ in range(ROUNDS):
        segment = make_segment(project)
        url = f"{API}/segments/{segment.pk}/claim/"
        rs = responses(run_together(*(partial(post, a, url) for a in artists)))
        assert sorted(r.status_code for r in rs) == [200, 409], describe(rs)
        loser = next(r for r in rs if r.status_code == 409)
        assert loser.json()["code"] == "segment_already_claimed"
        winner = next(r for r in rs if r.status_code == 200)
        segment.refresh_from_db()
        assert winner.json()["owner"]["id"] == segment.owner_id


# --- approvals ----------------------------------------------------------------------------------


def _approval_round(directors: list, segment: Segment, owner) -> None:
    shot = make_shot(segment)
    takes = [make_take(shot, author=owner, review_state=ReviewState.SUBMITTED) for _ in range(2)]
    rs = responses(
        run_together(*(partial(post, d, f"{API}/takes/{t.pk}/approve/") for d, t in zip(directors, takes)))
    )
    # Either both succeed one after the other (the later one replaces the pick) or the loser
    # gets a 409 — never a 500, never two picks.
    assert all(r.status_code in (200, 409) for r in rs), describe(rs)
    assert any(r.status_code == 200 for r in rs), describe(rs)
    assert Take.objects.filter(shot=shot, review_state=ReviewState.APPROVED).count() == 1


def test_two_directors_approving_different_takes_leave_one_pick():
    directors = [make_user(), make_user()]
    project = make_project(directors[0])
    add_member(project, directors[1], Role.DIRECTOR)
    owner = make_user()
    add_member(project, owner, Role.ARTIST)
    segment = make_segment(project, owner=owner)
    for _ in range(ROUNDS):
        _approval_round(directors, segment, owner)


def test_one_director_approving_two_takes_at_once():
    director = make_user()
    project = make_project(director)
    owner = make_user()
    add_member(project, owner, Role.ARTIST)
    segment = make_segment(project, owner=owner)
    for _ in range(ROUNDS):
        _approval_round([director, director], segment, owner)


# --- the timeline -------------------------------------------------------------------------------


def test_two_timeline_edits_from_the_same_revision_one_wins():
    director = make_user()
    project = make_project(director)
    owner = make_user()
    add_member(project, owner, Role.ARTIST)
    segment = make_segment(project, owner=owner)
    shot = make_shot(segment)
    others = [make_segment(project) for _ in range(2)]
    url = f"{API}/projects/{project.pk}/timeline/"

    for round_ in range(ROUNDS):
        rev = timeline_revision(project)
        move = {"revision": rev, "ops": [{"op": "move_segment", "segment": str(others[round_ % 2].pk), "position": 0}]}
        trim = {"revision": rev, "ops": [{"op": "trim", "shot": str(shot.pk), "in_frame": round_, "out_frame": 40}]}
        rs = responses(run_together(partial(patch, director, url, move), partial(patch, owner, url, trim)))
        assert sorted(r.status_code for r in rs) == [200, 409], describe(rs)
        assert next(r for r in rs if r.status_code == 409).json()["current"]["revision"] == rev + 1
        assert timeline_revision(project) == rev + 1


def test_creating_a_segment_while_the_director_reorders_keeps_positions_sound():
    """segment_create and the timeline's move_segment both renumber the project's segments.
    Whatever the interleaving: no 500, and positions stay exactly 0..n-1."""
    director = make_user()
    project = make_project(director)
    for _ in range(4):
        make_segment(project)
    url_tl = f"{API}/projects/{project.pk}/timeline/"
    url_seg = f"{API}/projects/{project.pk}/segments/"

    for round_ in range(ROUNDS):
        last = Segment.objects.filter(project=project).order_by("-position").first()
        move = {"revision": timeline_revision(project), "ops": [{"op": "move_segment", "segment": str(last.pk), "position": 0}]}
        rs = responses(
            run_together(partial(patch, director, url_tl, move), partial(post, director, url_seg, {"title": f"New {round_}", "position": 1}))
        )
        assert all(r.status_code in (200, 201, 409) for r in rs), describe(rs)
        positions = list(Segment.objects.filter(project=project).order_by("position").values_list("position", flat=True))
        assert positions == list(range(len(positions))), (round_, describe(rs), positions)


def test_adding_a_shot_while_the_owner_reorders_shots_keeps_positions_sound():
    """shot_create and the timeline's move_shot both renumber a segment's shots."""
    director = make_user()
    project = make_project(director)
    owner = make_user()
    add_member(project, owner, Role.ARTIST)
    segment = make_segment(project, owner=owner)
    for _ in range(4):
        make_shot(segment)
    url_tl = f"{API}/projects/{project.pk}/timeline/"
    url_shots = f"{API}/segments/{segment.pk}/shots/"

    for round_ in range(ROUNDS):
        last = Shot.objects.filter(segment=segment).order_by("-position").first()
        move = {"revision": timeline_revision(project), "ops": [{"op": "move_shot", "shot": str(last.pk), "position": 0}]}
        rs = responses(
            run_together(partial(patch, owner, url_tl, move), partial(post, director, url_shots, {"duration_frames": 24, "position": 1}))
        )
        assert all(r.status_code in (200, 201, 409) for r in rs), describe(rs)
        positions = list(Shot.objects.filter(segment=segment).order_by("position").values_list("position", flat=True))
        assert positions == list(range(len(positions))), (round_, describe(rs), positions)
