"""Who may call what: every endpoint × every persona → the expected status (and error code).

One row per endpoint (and per interesting variant of its body). Each row says which
personas succeed; everybody else gets the refusal that API.md prescribes:

* a member whose role does not allow the action → 403 ``permission_denied``;
* a signed-in user who is not a member of the project → 404 ``not_found``
  (project ids must not be probeable);
* nobody signed in → 401 ``not_authenticated``.

Personas (tests/conftest.py): director, producer, owner (an artist owning ``crew.seg``,
which holds ``crew.shot``), artist (an artist owning nothing), viewer, stranger, anonymous.
Every case builds a fresh crew, so the order of the rows does not matter.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.projects.models import Invitation, Invite, Membership
from tests.conftest import PERSONAS, make_shot, make_user

from .helpers import (
    API,
    assert_error,
    make_completed_upload,
    make_take,
    timeline_revision,
)

MEMBERS = ("director", "producer", "owner", "artist", "viewer")
SIGNED_IN = MEMBERS + ("stranger",)
MANAGERS = ("director", "producer")
EDITORS = ("director", "owner")  # director, or the artist who owns the segment

DEFAULT_CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}

Expected = int | tuple[int, str]


def allow(ok: int, *who: str, **overrides: Expected) -> dict[str, Expected]:
    """``who`` get ``ok``; other members 403; the stranger 404; anonymous 401."""
    table: dict[str, Expected] = {p: (ok if p in who else 403) for p in MEMBERS}
    table["stranger"] = ok if "stranger" in who else 404
    table["anonymous"] = ok if "anonymous" in who else 401
    table.update(overrides)
    return table


def members(ok: int) -> dict[str, Expected]:
    return allow(ok, *MEMBERS)


def signed_in(ok: int) -> dict[str, Expected]:
    """Endpoints outside any project: every signed-in user, nobody else."""
    return allow(ok, *SIGNED_IN)


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    url: Callable[[Any], str]
    body: Callable[[Any], dict] | None
    expected: dict[str, Expected]

    def __str__(self) -> str:  # pytest id
        return self.name


# --- url / body builders (each gets the crew) ------------------------------------------------


def project(c) -> str:
    return f"{API}/projects/{c.project.pk}/"


def member_url(name: str) -> Callable[[Any], str]:
    def build(c) -> str:
        m = Membership.objects.get(project=c.project, user=getattr(c, name))
        return f"{API}/projects/{c.project.pk}/members/{m.pk}/"

    return build


def new_user(role: str) -> Callable[[Any], dict]:
    return lambda c: {"username": make_user().username, "role": role}


def invitation_url(suffix: str) -> Callable[[Any], str]:
    def build(c) -> str:
        invitation = Invitation.objects.create(
            project=c.project, username="someone", role="artist", invited_by=c.director,
            expires_at=timezone.now() + timedelta(days=1),
        )
        return f"{API}/projects/{c.project.pk}/invitations/{invitation.pk}/"

    return build


def invite_url(suffix: str) -> Callable[[Any], str]:
    def build(c) -> str:
        invite = Invite.objects.create(project=c.project, role="artist", created_by=c.director)
        if suffix == "revoke":
            return f"{API}/projects/{c.project.pk}/invites/{invite.pk}/"
        return f"{API}/invites/{invite.token}/accept/"

    return build


def seg(c) -> str:
    return f"{API}/segments/{c.seg.pk}/"


def open_seg(c) -> str:
    return f"{API}/segments/{c.open_seg.pk}/"


def shot(c) -> str:
    return f"{API}/shots/{c.shot.pk}/"


def take_url(suffix: str = "", **take_kwargs) -> Callable[[Any], str]:
    def build(c) -> str:
        take = make_take(c.shot, author=c.owner, **take_kwargs)
        return f"{API}/takes/{take.pk}/{suffix}"

    return build


def timeline(c) -> str:
    return f"{API}/projects/{c.project.pk}/timeline/"


def ops(*build_ops: Callable[[Any], dict]) -> Callable[[Any], dict]:
    return lambda c: {"revision": timeline_revision(c.project), "ops": [b(c) for b in build_ops]}


def shot_in_open_segment(c) -> dict:
    other = make_shot(c.open_seg)
    return {"op": "move_shot", "shot": str(other.pk), "position": 0}


def upload_body(c) -> dict:
    # The caller's own finished upload (uploads are private to the person who sent the bytes).
    return {"upload": str(make_completed_upload(c.project, owner=c.actor or c.director).pk)}


# --- the table ----------------------------------------------------------------------------------

CASES: list[Case] = [
    # accounts (outside any project)
    Case("me", "get", lambda c: f"{API}/me/", None, signed_in(200)),
    Case("register", "post", lambda c: f"{API}/auth/register/",
         lambda c: {"username": f"new-{uuid.uuid4().hex[:8]}", "password": "a-Long-passphrase-77"},
         allow(201, *SIGNED_IN, "anonymous")),
    Case("token", "post", lambda c: f"{API}/auth/token/",
         lambda c: {"username": c.director.username, "password": "pw-Montage-42"},
         allow(200, *SIGNED_IN, "anonymous")),
    # projects
    Case("projects list", "get", lambda c: f"{API}/projects/", None, signed_in(200)),
    Case("projects create", "post", lambda c: f"{API}/projects/", lambda c: {"title": "Another film"}, signed_in(201)),
    Case("project get", "get", project, None, members(200)),
    Case("project patch title", "patch", project, lambda c: {"title": "Renamed"}, allow(200, "director")),
    Case("project patch budget", "patch", project, lambda c: {"budget_amount": "500.00", "artist_budget_cap": "50.00"},
         allow(200, *MANAGERS)),
    Case("project patch budget+title", "patch", project, lambda c: {"budget_amount": "500.00", "title": "X"},
         allow(200, "director")),
    # members
    Case("members list", "get", lambda c: f"{API}/projects/{c.project.pk}/members/", None, members(200)),
    # Adding by username invites (202, the same answer whether or not the name exists).
    Case("members add artist", "post", lambda c: f"{API}/projects/{c.project.pk}/members/", new_user("artist"),
         allow(202, *MANAGERS)),
    Case("members add director", "post", lambda c: f"{API}/projects/{c.project.pk}/members/", new_user("director"),
         allow(202, "director")),
    Case("invitations list", "get", lambda c: f"{API}/projects/{c.project.pk}/invitations/", None, allow(200, *MANAGERS)),
    Case("invitation cancel", "delete", invitation_url("cancel"), None, allow(204, *MANAGERS)),
    Case("my invitations", "get", lambda c: f"{API}/me/invitations/", None, signed_in(200)),
    Case("member patch viewer->artist", "patch", member_url("viewer"), lambda c: {"role": "artist"}, allow(200, *MANAGERS)),
    Case("member patch artist->director", "patch", member_url("artist"), lambda c: {"role": "director"}, allow(200, "director")),
    Case("member demote last director", "patch", member_url("director"), lambda c: {"role": "producer"},
         allow(200, director=(409, "last_director"))),
    Case("member remove artist", "delete", member_url("artist"), None, allow(204, *MANAGERS)),
    Case("member remove last director", "delete", member_url("director"), None,
         allow(204, director=(409, "last_director"))),
    # invites
    Case("invites list", "get", lambda c: f"{API}/projects/{c.project.pk}/invites/", None, allow(200, *MANAGERS)),
    Case("invites create artist", "post", lambda c: f"{API}/projects/{c.project.pk}/invites/",
         lambda c: {"role": "artist", "max_uses": 20, "expires_in_days": 7}, allow(201, *MANAGERS)),
    Case("invites create director", "post", lambda c: f"{API}/projects/{c.project.pk}/invites/",
         lambda c: {"role": "director"}, allow(201, "director")),
    Case("invite revoke", "delete", invite_url("revoke"), None, allow(204, *MANAGERS)),
    Case("invite accept", "post", invite_url("accept"), None, signed_in(200)),
    # style bible, budget, activity
    Case("references list", "get", lambda c: f"{API}/projects/{c.project.pk}/references/", None, members(200)),
    Case("references create", "post", lambda c: f"{API}/projects/{c.project.pk}/references/",
         lambda c: {"tag": "@mara", "kind": "character", "text": "A lighthouse keeper."},
         allow(201, "director", "producer", "owner", "artist")),
    Case("budget", "get", lambda c: f"{API}/projects/{c.project.pk}/budget/", None, members(200)),
    Case("activity", "get", lambda c: f"{API}/projects/{c.project.pk}/activity/", None, members(200)),
    # segments
    Case("segments list", "get", lambda c: f"{API}/projects/{c.project.pk}/segments/", None, members(200)),
    Case("segments create", "post", lambda c: f"{API}/projects/{c.project.pk}/segments/",
         lambda c: {"title": "Minutes 34-36", "position": 0}, allow(201, "director")),
    Case("review queue", "get", lambda c: f"{API}/projects/{c.project.pk}/review/", None, members(200)),
    Case("segment get", "get", seg, None, members(200)),
    Case("segment patch title", "patch", seg, lambda c: {"title": "Harbour", "synopsis": "Fog rolls in."},
         allow(200, *EDITORS)),
    Case("segment patch position", "patch", seg, lambda c: {"position": 1}, allow(200, "director")),
    Case("segment delete", "delete", open_seg, None, allow(204, "director")),
    Case("segment claim open", "post", lambda c: open_seg(c) + "claim/", None, allow(200, "owner", "artist")),
    Case("segment claim taken", "post", lambda c: seg(c) + "claim/", None,
         allow(200, "owner", artist=(409, "segment_already_claimed"))),
    Case("segment release", "post", lambda c: seg(c) + "release/", None, allow(200, *EDITORS)),
    Case("segment assign", "post", lambda c: open_seg(c) + "assign/", lambda c: {"username": c.artist.username},
         allow(200, "director")),
    # shots
    Case("shots list", "get", lambda c: seg(c) + "shots/", None, members(200)),
    Case("shots create (own segment)", "post", lambda c: seg(c) + "shots/",
         lambda c: {"title": "Wide", "prompt": "fog", "duration_frames": 36}, allow(201, *EDITORS)),
    Case("shots create (open segment)", "post", lambda c: open_seg(c) + "shots/",
         lambda c: {"duration_frames": 36}, allow(201, "director")),
    Case("shot get", "get", shot, None, members(200)),
    Case("shot patch", "patch", shot, lambda c: {"revision": c.shot.revision, "prompt": "a lighthouse at night"},
         allow(200, *EDITORS)),
    Case("shot delete", "delete", shot, None, allow(204, *EDITORS)),
    # takes
    Case("takes list", "get", lambda c: shot(c) + "takes/", None, members(200)),
    Case("take create from upload", "post", lambda c: shot(c) + "takes/", upload_body, allow(201, *EDITORS)),
    Case("upload create", "post", lambda c: f"{API}/uploads/",
         lambda c: {"project": str(c.project.pk), "filename": "clip.mp4", "size": 10, "content_type": "video/mp4"},
         allow(201, "director", "producer", "owner", "artist")),
    Case("take get", "get", take_url(), None, members(200)),
    Case("take submit", "post", take_url("submit/"), None, allow(200, *EDITORS)),
    Case("take approve", "post", take_url("approve/", review_state="submitted"), None, allow(200, "director")),
    Case("take request changes", "post", take_url("request-changes/", review_state="submitted"),
         lambda c: {"comment": "Hold the wide longer.", "frame": 12}, allow(200, "director")),
    Case("comments list", "get", take_url("comments/"), None, members(200)),
    Case("comments create", "post", take_url("comments/"), lambda c: {"body": "Lovely light.", "frame": 3},
         members(201)),
    # timeline
    Case("timeline get", "get", timeline, None, members(200)),
    Case("timeline move_segment", "patch", timeline,
         ops(lambda c: {"op": "move_segment", "segment": str(c.open_seg.pk), "position": 0}), allow(200, "director")),
    Case("timeline move_shot (own segment)", "patch", timeline,
         ops(lambda c: {"op": "move_shot", "shot": str(c.shot.pk), "position": 0}), allow(200, *EDITORS)),
    Case("timeline move_shot (other segment)", "patch", timeline, ops(shot_in_open_segment), allow(200, "director")),
    Case("timeline trim", "patch", timeline,
         ops(lambda c: {"op": "trim", "shot": str(c.shot.pk), "in_frame": 2, "out_frame": 40}), allow(200, *EDITORS)),
    Case("timeline transition", "patch", timeline,
         ops(lambda c: {"op": "transition", "shot": str(c.shot.pk), "kind": "crossfade", "frames": 6}),
         allow(200, *EDITORS)),
]


def _expected(case: Case, persona: str) -> tuple[int, str | None]:
    value = case.expected[persona]
    if isinstance(value, tuple):
        return value
    return value, DEFAULT_CODES.get(value)


def test_every_case_covers_every_persona():
    for case in CASES:
        assert set(case.expected) == set(PERSONAS), case.name
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_role_matrix(crew, case: Case, persona: str):
    crew.actor = crew.persona(persona)  # builders that need "the caller" read it
    url = case.url(crew)
    body = case.body(crew) if case.body else None
    client = crew.client(persona)
    response = getattr(client, case.method)(url, body, format="json")

    status, code = _expected(case, persona)
    if status < 300:
        assert response.status_code == status, (response.status_code, getattr(response, "data", response.content))
    else:
        assert_error(response, status, code)
