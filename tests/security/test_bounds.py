"""Every bounded number: at its limit it is accepted, one past it (or far past it, where a
database column would overflow) it is a 400 ``validation_error`` that names the field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from apps.core import limits as L
from apps.generation.api.serializers import GenerateIn
from apps.projects.models import Role
from tests.api.helpers import API, assert_error, make_take, timeline_revision
from tests.conftest import Crew, add_member, make_shot, make_user

pytestmark = pytest.mark.django_db

HUGE = 2**63  # overflows every integer column


@dataclass
class Target:
    """Where a field is sent: ``call(crew, value)`` makes the request."""

    call: Callable[[Crew, Any], Any]
    # Timeline ops are dicts parsed by the service: the error is under "ops" and the detail
    # names the field; serializer fields have their own key in "fields".
    in_ops: bool = False


def _post(path: str, base: dict, field: str, persona: str = "director"):
    def call(crew: Crew, value):
        return crew.client(persona).post(f"{API}{path(crew) if callable(path) else path}", {**base, field: value}, format="json")

    return call


def _project_create(field, extra=None):
    return Target(_post("/projects/", {"title": "Bounded", **(extra or {})}, field))


def _project_patch(field, persona="director"):
    def call(crew: Crew, value):
        return crew.client(persona).patch(f"{API}/projects/{crew.project.pk}/", {field: value}, format="json")

    return Target(call)


def _segment_create(field):
    return Target(_post(lambda c: f"/projects/{c.project.pk}/segments/", {"title": "Reel"}, field))


def _segment_patch(field):
    def call(crew: Crew, value):
        return crew.client("director").patch(f"{API}/segments/{crew.open_seg.pk}/", {field: value}, format="json")

    return Target(call)


def _shot_create(field):
    return Target(_post(lambda c: f"/segments/{c.seg.pk}/shots/", {"duration_frames": 48}, field))


def _shot_patch(field):
    def call(crew: Crew, value):
        crew.shot.refresh_from_db()
        return crew.client("director").patch(
            f"{API}/shots/{crew.shot.pk}/", {"revision": crew.shot.revision, field: value}, format="json"
        )

    return Target(call)


def _comment(field):
    def call(crew: Crew, value):
        take = make_take(crew.shot, author=crew.owner)
        return crew.client("director").post(f"{API}/takes/{take.pk}/comments/", {"body": "here", field: value}, format="json")

    return Target(call)


def _invite(field):
    return Target(_post(lambda c: f"/projects/{c.project.pk}/invites/", {"role": Role.ARTIST}, field))


def _timeline(op: dict, field: str, setup: Callable[[Crew], dict] | None = None):
    def call(crew: Crew, value):
        extra = setup(crew) if setup else {}
        body = {"revision": timeline_revision(crew.project), "ops": [{**op, **extra, field: value}]}
        return crew.client("director").patch(f"{API}/projects/{crew.project.pk}/timeline/", body, format="json")

    return Target(call, in_ops=True)


def _audio(crew: Crew) -> dict:
    take = make_take(crew.shot, author=crew.owner)
    return {"media": str(take.pk), "track": "music", "start_frame": 0}


def _long_shot(crew: Crew) -> dict:
    # No pick: a trim is bounded by the shot's own length.
    return {"shot": str(make_shot(crew.seg, duration_frames=L.MAX_FRAMES).pk)}


def _timeline_revision():
    def call(crew: Crew, value):
        body = {"revision": value, "ops": [{"op": "add_marker", "frame": 0, "label": "x"}]}
        return crew.client("director").patch(f"{API}/projects/{crew.project.pk}/timeline/", body, format="json")

    return Target(call)


# (id, target, field, lowest accepted, highest accepted)
CASES = [
    (
        "project.target_runtime_seconds",
        _project_create("target_runtime_seconds"),
        "target_runtime_seconds",
        1,
        L.MAX_RUNTIME_SECONDS,
    ),
    ("project.width", _project_create("width"), "width", L.MIN_SIZE_PX, L.MAX_SIZE_PX),
    ("project.height", _project_create("height"), "height", L.MIN_SIZE_PX, L.MAX_SIZE_PX),
    ("project.budget_amount", _project_create("budget_amount"), "budget_amount", "0.00", str(L.MAX_MONEY)),
    (
        "project-patch.target_runtime_seconds",
        _project_patch("target_runtime_seconds"),
        "target_runtime_seconds",
        1,
        L.MAX_RUNTIME_SECONDS,
    ),
    ("project-patch.budget_amount", _project_patch("budget_amount", "producer"), "budget_amount", "0.00", str(L.MAX_MONEY)),
    (
        "project-patch.artist_budget_cap",
        _project_patch("artist_budget_cap", "producer"),
        "artist_budget_cap",
        "0.00",
        str(L.MAX_MONEY),
    ),
    ("project-patch.width", _project_patch("width"), "width", L.MIN_SIZE_PX, L.MAX_SIZE_PX),
    ("segment.target_frames", _segment_create("target_frames"), "target_frames", 1, L.MAX_FRAMES),
    ("segment.position", _segment_create("position"), "position", 0, L.MAX_POSITION),
    ("segment-patch.target_frames", _segment_patch("target_frames"), "target_frames", 1, L.MAX_FRAMES),
    ("segment-patch.position", _segment_patch("position"), "position", 0, L.MAX_POSITION),
    ("shot.duration_frames", _shot_create("duration_frames"), "duration_frames", 1, L.MAX_SHOT_FRAMES),
    ("shot.position", _shot_create("position"), "position", 0, L.MAX_POSITION),
    ("shot-patch.duration_frames", _shot_patch("duration_frames"), "duration_frames", 1, L.MAX_SHOT_FRAMES),
    ("comment.frame", _comment("frame"), "frame", 0, L.MAX_FRAMES),
    ("invite.max_uses", _invite("max_uses"), "max_uses", 1, L.MAX_INVITE_USES),
    ("invite.expires_in_days", _invite("expires_in_days"), "expires_in_days", 1, L.MAX_INVITE_DAYS),
    ("timeline.revision", _timeline_revision(), "revision", None, None),
    ("op.add_marker.frame", _timeline({"op": "add_marker", "label": "m"}, "frame"), "frame", 0, L.MAX_FRAMES),
    ("op.add_audio.start_frame", _timeline({"op": "add_audio"}, "start_frame", _audio), "start_frame", 0, L.MAX_FRAMES),
    ("op.add_audio.fade_in_frames", _timeline({"op": "add_audio"}, "fade_in_frames", _audio), "fade_in_frames", 0, L.MAX_FRAMES),
    (
        "op.add_audio.fade_out_frames",
        _timeline({"op": "add_audio"}, "fade_out_frames", _audio),
        "fade_out_frames",
        0,
        L.MAX_FRAMES,
    ),
    ("op.add_audio.volume", _timeline({"op": "add_audio"}, "volume", _audio), "volume", 0.0, L.MAX_VOLUME),
    (
        "op.trim.in_frame",
        _timeline({"op": "trim", "out_frame": L.MAX_FRAMES}, "in_frame", _long_shot),
        "in_frame",
        0,
        L.MAX_FRAMES - 1,
    ),
    ("op.trim.out_frame", _timeline({"op": "trim", "in_frame": 0}, "out_frame", _long_shot), "out_frame", 1, L.MAX_FRAMES),
    (
        "op.transition.frames",
        _timeline({"op": "transition", "kind": "crossfade"}, "frames", lambda c: {"shot": str(c.shot.pk)}),
        "frames",
        1,
        L.MAX_TRANSITION_FRAMES,
    ),
    (
        "op.move_segment.position",
        _timeline({"op": "move_segment"}, "position", lambda c: {"segment": str(c.seg.pk)}),
        "position",
        0,
        L.MAX_POSITION,
    ),
    (
        "op.move_shot.position",
        _timeline({"op": "move_shot"}, "position", lambda c: {"shot": str(c.shot.pk)}),
        "position",
        0,
        L.MAX_POSITION,
    ),
]


def _past(value, step):
    if isinstance(value, str):
        return str(Decimal(value) + Decimal(step) / 100)
    if isinstance(value, float):
        return value + step * 0.01
    return value + step


def _assert_refused(response, field: str, in_ops: bool) -> None:
    body = assert_error(response, 400, "validation_error")
    if in_ops:
        assert field in body["detail"], body
        assert "ops" in body["fields"], body
    else:
        assert field in body["fields"], body
        assert field in body["detail"], body


@pytest.mark.parametrize("case_id,target,field,lo,hi", CASES, ids=[c[0] for c in CASES])
def test_bounded_field_at_its_limits_is_accepted(crew, case_id, target, field, lo, hi):
    if lo is None:
        pytest.skip("revision: any value in range is a stale-revision 409 test, see below")
    add_member(crew.project, make_user(), Role.ARTIST)  # something for invites and caps to apply to
    for value in (lo, hi):
        response = target.call(crew, value)
        assert response.status_code < 300, (value, response.status_code, response.json())


@pytest.mark.parametrize("case_id,target,field,lo,hi", CASES, ids=[c[0] for c in CASES])
def test_bounded_field_past_its_limits_is_a_400_naming_it(crew, case_id, target, field, lo, hi):
    if lo is None:
        lo, hi = 0, L.MAX_REVISION
    past = [_past(lo, -1), _past(hi, 1)]
    if not isinstance(hi, (str, float)):
        past += [HUGE, -HUGE]
    for value in past:
        _assert_refused(target.call(crew, value), field, target.in_ops)


@pytest.mark.parametrize("value", [10**400, "1e400", "nan", "-inf", [1], {"a": 1}, True])
def test_odd_volumes_are_refused_by_name(crew, value):
    call = _timeline({"op": "add_audio"}, "volume", _audio).call
    _assert_refused(call(crew, value), "volume", in_ops=True)


@pytest.mark.parametrize("value", [1.5, "7", [1], {"a": 1}, True, None])
def test_odd_frames_in_ops_are_refused_by_name(crew, value):
    call = _timeline({"op": "add_marker", "label": "m"}, "frame").call
    _assert_refused(call(crew, value), "frame", in_ops=True)


def test_a_revision_in_range_but_stale_is_a_conflict_not_a_crash(crew):
    body = {"revision": L.MAX_REVISION, "ops": [{"op": "add_marker", "frame": 0, "label": "x"}]}
    response = crew.client("director").patch(f"{API}/projects/{crew.project.pk}/timeline/", body, format="json")
    assert_error(response, 409)


@pytest.mark.parametrize(
    "field,lo,hi",
    [("seed", 0, L.MAX_SEED), ("duration_frames", 1, L.MAX_FRAMES), ("variations", 1, L.MAX_VARIATIONS)],
)
def test_generation_numbers_are_bounded(crew, field, lo, hi):
    # At the limits the request passes the serializer (what the provider then allows is the
    # planner's business); past them the API refuses before any planning.
    for value in (lo, hi):
        data = GenerateIn(data={"backend": "runway", field: value})
        assert data.is_valid(), data.errors
    for value in (lo - 1, hi + 1, HUGE):
        url = f"{API}/shots/{crew.shot.pk}/generate/estimate/"
        response = crew.client("director").post(url, {"backend": "runway", field: value}, format="json")
        _assert_refused(response, field, in_ops=False)


def test_bounds_are_in_the_openapi_schema(crew):
    schema = crew.client("director").get(f"{API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    shot = components["ShotInRequest"]["properties"]["duration_frames"]
    assert (shot["minimum"], shot["maximum"]) == (1, L.MAX_SHOT_FRAMES)
    invite = components["InviteInRequest"]["properties"]["max_uses"]
    assert invite["maximum"] == L.MAX_INVITE_USES
    patch = components["PatchedTimelinePatchInRequest"]["properties"]["revision"]
    assert patch["maximum"] == L.MAX_REVISION
