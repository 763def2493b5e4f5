"""Least exposure: key hints only for directors and producers; adding someone by username is
an invitation they accept, and the answer never tells which usernames exist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.core import events as core_events
from apps.projects.models import ActivityEvent, Invitation, Membership
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

API = "/api/v1"
KEY = "r8_live-abcdefghijklmnop-Q7Z9"
HINT = "Q7Z9"


@pytest.fixture
def published(monkeypatch):
    """Every realtime event sent to a project group (what members' websockets receive)."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(core_events, "publish", lambda project_id, type, data, revision=None: sent.append((type, data)))
    return sent


def _put_key(crew, who="producer"):
    r = crew.client(who).put(f"{API}/projects/{crew.project.pk}/credentials/replicate/", {"api_key": KEY}, format="json")
    assert r.status_code == 200, r.json()
    return r


def test_key_hints_reach_directors_and_producers_only(crew, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert _put_key(crew).json()["hint"] == HINT
    for who in ("director", "producer"):
        listing = crew.client(who).get(f"{API}/projects/{crew.project.pk}/credentials/").json()
        assert any(c["backend"] == "replicate" and c["hint"] == HINT for c in listing)
    for who in ("owner", "artist", "viewer"):
        for url in (f"{API}/projects/{crew.project.pk}/credentials/", f"{API}/projects/{crew.project.pk}/credentials/replicate/"):
            r = crew.client(who).get(url)
            assert r.status_code == 403 and HINT not in r.content.decode()
        # The feed and the backend list every member reads carry no hint either.
        for url in (f"{API}/projects/{crew.project.pk}/activity/", f"{API}/backends/?project={crew.project.pk}"):
            r = crew.client(who).get(url)
            assert r.status_code == 200 and HINT not in r.content.decode(), url
    feed = crew.client("viewer").get(f"{API}/projects/{crew.project.pk}/activity/").json()
    entry = next(e for e in feed if e["type"] == "credential.updated")
    assert "hint" not in entry["data"] and entry["data"]["backend"] == "replicate"
    # The websocket event (sent to every member) says what changed, not the key's end.
    events = [data for type, data in published if type == "credential.updated"]
    assert events and all("hint" not in data and HINT not in str(data) for data in events)
    assert events[0]["configured"] is True and events[0]["backend"] == "replicate"


def test_older_feed_entries_with_a_hint_do_not_show_it(crew):
    ActivityEvent.objects.create(
        project=crew.project,
        actor=crew.director,
        type="credential.updated",
        data={"backend": "runway", "configured": True, "hint": HINT},
    )
    r = crew.client("viewer").get(f"{API}/projects/{crew.project.pk}/activity/")
    assert HINT not in r.content.decode()
    assert r.json()[0]["data"]["backend"] == "runway"


def test_removing_a_key_sends_no_hint(crew, published, django_capture_on_commit_callbacks):
    _put_key(crew)
    with django_capture_on_commit_callbacks(execute=True):
        assert crew.client("director").delete(f"{API}/projects/{crew.project.pk}/credentials/replicate/").status_code == 204
    events = [data for type, data in published if type == "credential.updated"]
    assert events and all("hint" not in data for data in events)


# --- adding people by username ---------------------------------------------------------------


def _members_url(crew) -> str:
    return f"{API}/projects/{crew.project.pk}/members/"


def _answer(crew, username: str, role: str = "artist", who: str = "director"):
    return crew.client(who).post(_members_url(crew), {"username": username, "role": role}, format="json")


def test_known_and_unknown_usernames_get_the_same_answer(crew):
    known = make_user("known-" + "a" * 8)
    unknown = "ghost-" + "b" * 8  # same length as the known name
    a, b = _answer(crew, known.username), _answer(crew, unknown)
    assert a.status_code == b.status_code == 202
    assert a.json()["detail"].replace(known.username, "NAME") == b.json()["detail"].replace(unknown, "NAME")
    assert set(a.json()) == set(b.json())
    assert "If someone is called" in a.json()["detail"]
    # Nobody joined: the known user has to accept first.
    assert not Membership.objects.filter(project=crew.project, user=known).exists()
    # The project's pending list shows both the same way.
    pending = crew.client("producer").get(f"{API}/projects/{crew.project.pk}/invitations/").json()
    shapes = {p["username"]: {k: type(v).__name__ for k, v in p.items()} for p in pending}
    assert set(shapes) == {known.username, unknown}
    assert shapes[known.username] == shapes[unknown]
    # An existing member gets the same answer too (and nothing changes).
    assert _answer(crew, crew.artist.username, role="viewer").status_code == 202
    assert Membership.objects.get(project=crew.project, user=crew.artist).role == "artist"


def test_only_directors_and_producers_invite_and_see_invitations(crew):
    target = make_user()
    for who in ("owner", "artist", "viewer"):
        assert _answer(crew, target.username, who=who).status_code == 403
        assert crew.client(who).get(f"{API}/projects/{crew.project.pk}/invitations/").status_code == 403
    assert _answer(crew, target.username, who="stranger").status_code == 404
    # A producer cannot invite a director; the refusal is the same for any name.
    assert _answer(crew, target.username, role="director", who="producer").status_code == 403
    assert _answer(crew, "nobody-at-all", role="director", who="producer").status_code == 403
    assert not Invitation.objects.exists()


def test_the_invited_user_accepts_and_joins(crew, django_capture_on_commit_callbacks):
    newcomer, bystander = make_user(), make_user()
    assert _answer(crew, newcomer.username.upper(), role="viewer").status_code == 202  # any case
    assert client_for(bystander).get(f"{API}/me/invitations/").json() == []
    mine = client_for(newcomer).get(f"{API}/me/invitations/").json()
    assert len(mine) == 1
    invitation = mine[0]
    assert invitation["project"] == {"id": str(crew.project.pk), "title": crew.project.title}
    assert invitation["role"] == "viewer" and invitation["invited_by"]["username"] == crew.director.username
    # Someone else cannot use it.
    r = client_for(bystander).post(f"{API}/me/invitations/{invitation['id']}/accept/")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    # Inviting again changes the role of the pending invitation.
    _answer(crew, newcomer.username, role="artist")
    assert [i["role"] for i in client_for(newcomer).get(f"{API}/me/invitations/").json()] == ["artist"]
    with django_capture_on_commit_callbacks(execute=True):
        r = client_for(newcomer).post(f"{API}/me/invitations/{invitation['id']}/accept/")
    assert r.status_code == 200, r.json()
    assert r.json()["role"] == "artist" and r.json()["project"]["id"] == str(crew.project.pk)
    assert Membership.objects.get(project=crew.project, user=newcomer).role == "artist"
    assert client_for(newcomer).get(f"{API}/projects/{crew.project.pk}/").status_code == 200
    # Gone from both lists; the feed says they joined.
    assert client_for(newcomer).get(f"{API}/me/invitations/").json() == []
    assert crew.client("director").get(f"{API}/projects/{crew.project.pk}/invitations/").json() == []
    feed = crew.client("viewer").get(f"{API}/projects/{crew.project.pk}/activity/").json()
    assert any(e["type"] == "member.added" and e["data"]["user"]["username"] == newcomer.username for e in feed)
    # Accepting again is harmless.
    assert client_for(newcomer).post(f"{API}/me/invitations/{invitation['id']}/accept/").status_code == 200
    assert Membership.objects.filter(project=crew.project, user=newcomer).count() == 1


def test_declining_and_cancelling(crew):
    a, b = make_user(), make_user()
    _answer(crew, a.username)
    _answer(crew, b.username)
    inv_a = client_for(a).get(f"{API}/me/invitations/").json()[0]
    assert client_for(a).post(f"{API}/me/invitations/{inv_a['id']}/decline/").status_code == 204
    assert client_for(a).post(f"{API}/me/invitations/{inv_a['id']}/accept/").status_code == 404
    assert not Membership.objects.filter(project=crew.project, user=a).exists()
    pending = crew.client("director").get(f"{API}/projects/{crew.project.pk}/invitations/").json()
    assert [p["username"] for p in pending] == [b.username]
    # A producer cancels b's: b no longer sees it and cannot accept it.
    inv_b = client_for(b).get(f"{API}/me/invitations/").json()[0]
    assert crew.client("artist").delete(f"{API}/projects/{crew.project.pk}/invitations/{pending[0]['id']}/").status_code == 403
    assert crew.client("producer").delete(f"{API}/projects/{crew.project.pk}/invitations/{pending[0]['id']}/").status_code == 204
    assert client_for(b).get(f"{API}/me/invitations/").json() == []
    assert client_for(b).post(f"{API}/me/invitations/{inv_b['id']}/accept/").status_code == 404
    assert not Membership.objects.filter(project=crew.project, user=b).exists()


def test_an_expired_invitation_cannot_be_accepted(crew):
    late = make_user()
    _answer(crew, late.username)
    invitation = Invitation.objects.get(invitee=late)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client_for(late).get(f"{API}/me/invitations/").json() == []
    r = client_for(late).post(f"{API}/me/invitations/{invitation.pk}/accept/")
    assert r.status_code == 409 and r.json()["code"] == "invitation_expired"
    assert not Membership.objects.filter(project=crew.project, user=late).exists()


def test_signing_up_under_an_invited_unknown_name_inherits_nothing(crew):
    name = "future-" + "c" * 6
    _answer(crew, name)
    r = client_for(None).post(f"{API}/auth/register/", {"username": name, "password": "a-Long-pass-91"}, format="json")
    assert r.status_code == 201
    newcomer = get_user_model().objects.get(username=name)
    assert client_for(newcomer).get(f"{API}/me/invitations/").json() == []
