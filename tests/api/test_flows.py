"""Behaviour of the API end to end: what a crew does in a day, through the HTTP contract."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.production.models import Comment, ReviewState, Segment, Shot, Take
from apps.projects.models import ActivityEvent, Invite, Membership, Project, Role
from apps.timeline.models import Timeline
from tests.conftest import client_for, make_segment, make_shot, make_user

from .helpers import (
    API,
    assert_error,
    make_completed_upload,
    make_take,
    timeline_revision,
)

PASSWORD = "pw-Montage-42"  # what tests/conftest.make_user sets


# --- accounts -----------------------------------------------------------------------------------


@pytest.mark.django_db
class TestRegister:
    url = f"{API}/auth/register/"

    def test_register_creates_an_account_that_can_sign_in(self):
        r = APIClient().post(self.url, {"username": "mara", "password": "lighthouse-Keeper-9", "email": "mara@example.com"}, format="json")
        assert r.status_code == 201, r.json()
        assert r.json()["username"] == "mara"
        assert {"id", "username", "display_name"} <= set(r.json())
        token = APIClient().post(f"{API}/auth/token/", {"username": "mara", "password": "lighthouse-Keeper-9"}, format="json")
        assert token.status_code == 200

    def test_weak_password_is_refused_with_a_readable_reason(self):
        r = APIClient().post(self.url, {"username": "mara", "password": "123"}, format="json")
        body = assert_error(r, 400, "validation_error")
        assert "password" in body["fields"]
        assert "short" in body["detail"].lower() or "common" in body["detail"].lower() or "numeric" in body["detail"].lower()

    def test_password_like_the_username_is_refused(self):
        r = APIClient().post(self.url, {"username": "lighthousekeeper", "password": "lighthousekeeper1"}, format="json")
        assert_error(r, 400, "validation_error")

    def test_duplicate_username_is_a_conflict(self):
        make_user("mara")
        r = APIClient().post(self.url, {"username": "MARA", "password": "lighthouse-Keeper-9"}, format="json")
        assert_error(r, 409)

    def test_closed_signup(self, settings):
        settings.MONTAGE_OPEN_SIGNUP = False
        r = APIClient().post(self.url, {"username": "mara", "password": "lighthouse-Keeper-9"}, format="json")
        assert_error(r, 403, "signup_closed")


@pytest.mark.django_db
class TestTokenAuth:
    def test_token_then_header_authenticates(self):
        user = make_user("scripter")
        r = APIClient().post(f"{API}/auth/token/", {"username": "scripter", "password": PASSWORD}, format="json")
        assert r.status_code == 200, r.json()
        key = r.json()["token"]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        me = client.get(f"{API}/me/")
        assert me.status_code == 200
        assert me.json()["id"] == user.pk and me.json()["username"] == "scripter"
        # The same token is returned again (one token per user).
        again = APIClient().post(f"{API}/auth/token/", {"username": "scripter", "password": PASSWORD}, format="json")
        assert again.json()["token"] == key

    def test_wrong_password(self):
        make_user("scripter")
        r = APIClient().post(f"{API}/auth/token/", {"username": "scripter", "password": "nope"}, format="json")
        assert_error(r, 400, "invalid_credentials")

    def test_bad_token_is_401(self):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
        assert_error(client.get(f"{API}/me/"), 401)

    def test_anonymous_is_401_with_www_authenticate(self):
        r = APIClient().get(f"{API}/me/")
        assert_error(r, 401, "not_authenticated")
        assert r.has_header("WWW-Authenticate")


@pytest.mark.django_db
class TestSessionLogin:
    url = f"{API}/auth/session/"

    def _csrf_client(self) -> tuple[APIClient, str]:
        client = APIClient(enforce_csrf_checks=True)
        r = client.get(self.url)  # not signed in yet, but hands out the CSRF cookie
        assert r.status_code == 401
        assert "csrftoken" in client.cookies
        return client, client.cookies["csrftoken"].value

    def test_login_needs_the_csrf_token(self):
        """Login CSRF: a foreign page must not be able to sign the browser into another account."""
        make_user("browser")
        client, _ = self._csrf_client()
        r = client.post(self.url, {"username": "browser", "password": PASSWORD}, format="json")
        assert_error(r, 403)
        assert client.get(self.url).status_code == 401  # no session was started

    def test_login_with_csrf_then_state_changes_need_it_too(self):
        user = make_user("browser")
        client, csrf = self._csrf_client()
        r = client.post(self.url, {"username": "browser", "password": PASSWORD}, format="json", HTTP_X_CSRFTOKEN=csrf)
        assert r.status_code == 200, r.json()
        assert r.json()["username"] == "browser"
        assert client.get(self.url).json()["id"] == user.pk
        assert client.get(f"{API}/me/").status_code == 200  # reads need no token

        # Django rotates the CSRF token on login: use the new one.
        csrf = client.cookies["csrftoken"].value
        refused = client.post(f"{API}/projects/", {"title": "Forged"}, format="json")
        body = assert_error(refused, 403)
        assert "csrf" in body["detail"].lower()
        assert not Project.objects.filter(title="Forged").exists()

        ok = client.post(f"{API}/projects/", {"title": "Real"}, format="json", HTTP_X_CSRFTOKEN=csrf)
        assert ok.status_code == 201, ok.json()

        assert client.delete(self.url).status_code == 403  # logging out is a state change too
        assert client.delete(self.url, HTTP_X_CSRFTOKEN=csrf).status_code == 204
        assert client.get(self.url).status_code == 401

    def test_wrong_password(self):
        make_user("browser")
        client, csrf = self._csrf_client()
        r = client.post(self.url, {"username": "browser", "password": "nope"}, format="json", HTTP_X_CSRFTOKEN=csrf)
        assert_error(r, 400, "invalid_credentials")

    def test_token_requests_need_no_csrf(self):
        make_user("scripter")
        key = APIClient().post(f"{API}/auth/token/", {"username": "scripter", "password": PASSWORD}, format="json").json()["token"]
        client = APIClient(enforce_csrf_checks=True)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert client.post(f"{API}/projects/", {"title": "Scripted"}, format="json").status_code == 201


# --- projects and people ------------------------------------------------------------------------


@pytest.mark.django_db
class TestProjectCreate:
    def test_creator_becomes_director_and_ntsc_rate_is_exact(self):
        user = make_user()
        r = client_for(user).post(
            f"{API}/projects/", {"title": "Night Harbour", "fps": "23.976", "width": 1280, "height": 720}, format="json"
        )
        assert r.status_code == 201, r.json()
        body = r.json()
        assert body["role"] == "director"
        assert body["fps_rational"] == "24000/1001"
        project = Project.objects.get(pk=body["id"])
        assert (project.fps_num, project.fps_den) == (24000, 1001)
        assert Membership.objects.get(project=project, user=user).role == Role.DIRECTOR
        assert Timeline.objects.filter(project=project).exists()
        # and it is in the creator's list
        listed = client_for(user).get(f"{API}/projects/").json()
        assert [p["id"] for p in listed] == [body["id"]]

    @pytest.mark.parametrize("fps, rational", [(23.976, "24000/1001"), ("29.97", "30000/1001"), (25, "25/1"), ("24000/1001", "24000/1001")])
    def test_frame_rates(self, fps, rational):
        r = client_for(make_user()).post(f"{API}/projects/", {"title": "F", "fps": fps}, format="json")
        assert r.status_code == 201, r.json()
        assert r.json()["fps_rational"] == rational

    def test_odd_width_is_refused(self):
        r = client_for(make_user()).post(f"{API}/projects/", {"title": "Odd", "width": 1281, "height": 720}, format="json")
        body = assert_error(r, 400, "validation_error")
        assert "width" in body["fields"]
        assert not Project.objects.filter(title="Odd").exists()

    def test_bad_fps_is_refused(self):
        r = client_for(make_user()).post(f"{API}/projects/", {"title": "Bad", "fps": "fast"}, format="json")
        assert "fps" in assert_error(r, 400, "validation_error")["fields"]


@pytest.mark.django_db
class TestProjectAndMembers:
    def test_producer_changes_budget_only(self, crew):
        url = f"{API}/projects/{crew.project.pk}/"
        r = crew.client("producer").patch(url, {"budget_amount": "1200.00", "budget_currency": "eur"}, format="json")
        assert r.status_code == 200, r.json()
        assert (r.json()["budget_amount"], r.json()["budget_currency"]) == ("1200.00", "EUR")
        refused = crew.client("producer").patch(url, {"title": "Mine now", "budget_amount": "1.00"}, format="json")
        assert_error(refused, 403, "permission_denied")
        crew.project.refresh_from_db()
        assert crew.project.title != "Mine now" and str(crew.project.budget_amount) == "1200.00"

    def test_directors_and_the_last_one(self, crew):
        members = f"{API}/projects/{crew.project.pk}/members/"
        second = make_user()
        # A producer cannot make a director.
        assert_error(crew.client("producer").post(members, {"username": second.username, "role": "director"}, format="json"), 403)
        r = crew.client("director").post(members, {"username": second.username, "role": "director"}, format="json")
        assert r.status_code == 202, r.json()
        invitation = client_for(second).get(f"{API}/me/invitations/").json()[0]
        assert client_for(second).post(f"{API}/me/invitations/{invitation['id']}/accept/").status_code == 200
        # Now the first director can step down...
        first = Membership.objects.get(project=crew.project, user=crew.director)
        r = crew.client("director").patch(f"{members}{first.pk}/", {"role": "producer"}, format="json")
        assert r.status_code == 200, r.json()
        # ...but the second (now last) director cannot be removed.
        last = Membership.objects.get(project=crew.project, user=second)
        assert_error(client_for(second).delete(f"{members}{last.pk}/"), 409, "last_director")
        assert Membership.objects.filter(project=crew.project, role=Role.DIRECTOR).count() == 1

    def test_adding_twice_and_unknown_users(self, crew):
        # Adding by username invites; a member or an unknown name changes nothing, and the
        # answer does not tell them apart (tests/security/test_exposure.py).
        members = f"{API}/projects/{crew.project.pk}/members/"
        assert crew.client("director").post(members, {"username": crew.artist.username, "role": "viewer"}, format="json").status_code == 202
        assert Membership.objects.get(project=crew.project, user=crew.artist).role == "artist"
        assert crew.client("director").post(members, {"username": "nobody-here", "role": "viewer"}, format="json").status_code == 202
        assert Membership.objects.filter(project=crew.project).count() == 5
        assert_error(crew.client("director").post(members, {"username": crew.stranger.username, "role": "boss"}, format="json"), 400, "validation_error")

    def test_director_changes_the_frame_rate(self, crew):
        r = crew.client("director").patch(f"{API}/projects/{crew.project.pk}/", {"fps": "29.97"}, format="json")
        assert r.status_code == 200, r.json()
        assert r.json()["fps_rational"] == "30000/1001"
        assert_error(crew.client("director").patch(f"{API}/projects/{crew.project.pk}/", {"height": 721}, format="json"), 400, "validation_error")

    def test_budget_shape(self, crew):
        import uuid
        from decimal import Decimal

        from apps.generation import ledger
        from apps.generation.models import GenerationJob

        crew.project.budget_amount = Decimal("10")
        crew.project.save(update_fields=["budget_amount"])
        job = GenerationJob.objects.create(
            project=crew.project, shot=crew.shot, author=crew.owner, backend="fake", kind="text_to_video", idempotency_key=str(uuid.uuid4())
        )
        ledger.reserve(project=crew.project, user=crew.owner, job=job, amount=Decimal("1.25"))
        ledger.settle(job, Decimal("1.25"))
        body = crew.client("viewer").get(f"{API}/projects/{crew.project.pk}/budget/").json()
        assert {"amount", "currency", "reserved", "spent", "remaining", "by_artist"} <= set(body)
        assert float(body["spent"]) == 1.25
        assert [row["user"]["username"] for row in body["by_artist"]] == [crew.owner.username]

    def test_demoting_an_artist_frees_their_segments(self, crew):
        m = Membership.objects.get(project=crew.project, user=crew.owner)
        r = crew.client("producer").patch(f"{API}/projects/{crew.project.pk}/members/{m.pk}/", {"role": "viewer"}, format="json")
        assert r.status_code == 200 and r.json()["role"] == "viewer"
        crew.seg.refresh_from_db()
        assert crew.seg.owner_id is None and crew.seg.status == "open"

    def test_removing_an_artist_frees_their_segments(self, crew):
        m = Membership.objects.get(project=crew.project, user=crew.owner)
        r = crew.client("producer").delete(f"{API}/projects/{crew.project.pk}/members/{m.pk}/")
        assert r.status_code == 204
        crew.seg.refresh_from_db()
        assert crew.seg.owner_id is None and crew.seg.status == "open"
        assert_error(crew.client("owner").get(f"{API}/projects/{crew.project.pk}/"), 404, "not_found")


@pytest.mark.django_db
class TestInvites:
    def _invite(self, crew, **body) -> dict:
        r = crew.client("producer").post(f"{API}/projects/{crew.project.pk}/invites/", {"role": "artist", **body}, format="json")
        assert r.status_code == 201, r.json()
        return r.json()

    def test_accept_is_idempotent_and_max_uses_is_enforced(self, crew):
        invite = self._invite(crew, max_uses=1)
        assert invite["url"].endswith(f"/invite/{invite['token']}")
        newcomer, late = make_user(), make_user()
        accept = f"{API}/invites/{invite['token']}/accept/"
        first = client_for(newcomer).post(accept)
        assert first.status_code == 200, first.json()
        assert first.json()["role"] == "artist" and first.json()["project"]["id"] == str(crew.project.pk)
        again = client_for(newcomer).post(accept)
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
        assert Invite.objects.get(token=invite["token"]).uses == 1
        assert_error(client_for(late).post(accept), 409, "invite_used_up")
        assert not Membership.objects.filter(project=crew.project, user=late).exists()
        # The newcomer is now a member and sees the project.
        assert client_for(newcomer).get(f"{API}/projects/{crew.project.pk}/").status_code == 200

    def test_existing_member_accepting_keeps_their_role(self, crew):
        invite = self._invite(crew)
        r = crew.client("producer").post(f"{API}/invites/{invite['token']}/accept/")
        assert r.status_code == 200 and r.json()["role"] == "producer"

    def test_expired(self, crew):
        invite = self._invite(crew, expires_in_days=1)
        Invite.objects.filter(token=invite["token"]).update(expires_at=timezone.now() - timedelta(minutes=1))
        assert_error(client_for(make_user()).post(f"{API}/invites/{invite['token']}/accept/"), 409, "invite_expired")

    def test_revoked_and_unknown(self, crew):
        invite = self._invite(crew)
        r = crew.client("director").delete(f"{API}/projects/{crew.project.pk}/invites/{invite['id']}/")
        assert r.status_code == 204
        assert_error(client_for(make_user()).post(f"{API}/invites/{invite['token']}/accept/"), 404, "not_found")
        assert_error(client_for(make_user()).post(f"{API}/invites/no-such-token/accept/"), 404, "not_found")

    def test_bad_limits(self, crew):
        url = f"{API}/projects/{crew.project.pk}/invites/"
        assert_error(crew.client("director").post(url, {"role": "artist", "max_uses": 0}, format="json"), 400, "validation_error")
        assert_error(crew.client("director").post(url, {"role": "artist", "expires_in_days": 0}, format="json"), 400, "validation_error")


# --- segments -----------------------------------------------------------------------------------


@pytest.mark.django_db
class TestSegments:
    def test_claim_release_claim_by_another(self, crew):
        claim = f"{API}/segments/{crew.open_seg.pk}/claim/"
        r = crew.client("artist").post(claim)
        assert r.status_code == 200, r.json()
        assert r.json()["owner"]["username"] == crew.artist.username and r.json()["status"] == "claimed"
        body = assert_error(crew.client("owner").post(claim), 409, "segment_already_claimed")
        assert body["current"]["owner"]["username"] == crew.artist.username

        r = crew.client("artist").post(f"{API}/segments/{crew.open_seg.pk}/release/")
        assert r.status_code == 200 and r.json()["owner"] is None and r.json()["status"] == "open"

        r = crew.client("owner").post(claim)
        assert r.status_code == 200 and r.json()["owner"]["username"] == crew.owner.username
        crew.open_seg.refresh_from_db()
        assert crew.open_seg.owner_id == crew.owner.pk and crew.open_seg.claimed_at is not None

    def test_director_releases_anyones_segment(self, crew):
        r = crew.client("director").post(f"{API}/segments/{crew.seg.pk}/release/")
        assert r.status_code == 200 and r.json()["owner"] is None

    def test_assign(self, crew):
        url = f"{API}/segments/{crew.open_seg.pk}/assign/"
        r = crew.client("director").post(url, {"username": crew.artist.username}, format="json")
        assert r.status_code == 200, r.json()
        assert r.json()["owner"]["username"] == crew.artist.username and r.json()["status"] == "claimed"
        # The assignee now edits it.
        made = crew.client("artist").post(f"{API}/segments/{crew.open_seg.pk}/shots/", {"duration_frames": 24}, format="json")
        assert made.status_code == 201, made.json()
        # Viewers and non-members cannot own segments.
        assert_error(crew.client("director").post(url, {"username": crew.viewer.username}, format="json"), 400, "validation_error")
        assert_error(crew.client("director").post(url, {"username": crew.stranger.username}, format="json"), 400, "validation_error")

    def test_reorder_segments_through_the_timeline(self, crew):
        s2 = make_segment(crew.project, title="Three")
        s3 = make_segment(crew.project, title="Four")
        rev = timeline_revision(crew.project)
        r = crew.client("director").patch(
            f"{API}/projects/{crew.project.pk}/timeline/",
            {"revision": rev, "ops": [{"op": "move_segment", "segment": str(s3.pk), "position": 0}]},
            format="json",
        )
        assert r.status_code == 200, r.json()
        assert r.json()["revision"] == rev + 1
        assert [s["id"] for s in r.json()["segments"]] == [str(x.pk) for x in (s3, crew.seg, crew.open_seg, s2)]
        listed = crew.client("viewer").get(f"{API}/projects/{crew.project.pk}/segments/").json()
        assert [s["position"] for s in listed] == [0, 1, 2, 3]
        assert [s["id"] for s in listed] == [str(x.pk) for x in (s3, crew.seg, crew.open_seg, s2)]
        # A position past the end lands at the end; positions stay contiguous.
        r = crew.client("director").patch(
            f"{API}/projects/{crew.project.pk}/timeline/",
            {"revision": rev + 1, "ops": [{"op": "move_segment", "segment": str(s3.pk), "position": 99}]},
            format="json",
        )
        assert r.status_code == 200, r.json()
        positions = list(Segment.objects.filter(project=crew.project).order_by("position").values_list("position", "pk"))
        assert [p for p, _ in positions] == [0, 1, 2, 3] and positions[-1][1] == s3.pk

    def test_create_at_position_and_delete_keep_positions_contiguous(self, crew):
        url = f"{API}/projects/{crew.project.pk}/segments/"
        r = crew.client("director").post(url, {"title": "Cold open", "position": 0}, format="json")
        assert r.status_code == 201 and r.json()["position"] == 0
        assert crew.client("director").delete(f"{API}/segments/{crew.open_seg.pk}/").status_code == 204
        listed = crew.client("director").get(url).json()
        assert [s["title"] for s in listed] == ["Cold open", "Owned"]
        assert [s["position"] for s in listed] == [0, 1]

    def test_owner_cannot_reposition_or_lock(self, crew):
        url = f"{API}/segments/{crew.seg.pk}/"
        assert_error(crew.client("owner").patch(url, {"status": "locked"}, format="json"), 403)
        r = crew.client("owner").patch(url, {"synopsis": "Fog rolls in."}, format="json")
        assert r.status_code == 200 and r.json()["synopsis"] == "Fog rolls in."

    def test_stale_segment_revision_is_409_with_current(self, crew):
        url = f"{API}/segments/{crew.seg.pk}/"
        rev = crew.client("owner").get(url).json()["revision"]
        assert crew.client("owner").patch(url, {"revision": rev, "title": "Harbour"}, format="json").status_code == 200
        body = assert_error(crew.client("director").patch(url, {"revision": rev, "title": "Pier"}, format="json"), 409, "conflict")
        assert body["current"]["title"] == "Harbour" and body["current"]["revision"] == rev + 1

    def test_locked_segment(self, crew):
        r = crew.client("director").patch(f"{API}/segments/{crew.open_seg.pk}/", {"status": "locked"}, format="json")
        assert r.status_code == 200 and r.json()["status"] == "locked"
        assert_error(crew.client("artist").post(f"{API}/segments/{crew.open_seg.pk}/claim/"), 409, "segment_locked")
        crew.client("director").patch(f"{API}/segments/{crew.seg.pk}/", {"status": "locked"}, format="json")
        assert_error(crew.client("owner").post(f"{API}/segments/{crew.seg.pk}/shots/", {"duration_frames": 24}, format="json"), 409, "segment_locked")

    def test_a_segment_with_picks_cannot_be_deleted(self, crew):
        make_take(crew.shot, author=crew.owner, review_state=ReviewState.APPROVED)
        assert_error(crew.client("director").delete(f"{API}/segments/{crew.seg.pk}/"), 409, "segment_has_picks")
        assert Segment.objects.filter(pk=crew.seg.pk).exists()

    def test_unknown_ids_are_404(self, crew):
        for url in (f"{API}/segments/not-a-uuid/", f"{API}/segments/{uuid.uuid4()}/", f"{API}/shots/{uuid.uuid4()}/",
                    f"{API}/takes/{uuid.uuid4()}/", f"{API}/projects/{uuid.uuid4()}/timeline/"):
            assert_error(crew.client("director").get(url), 404, "not_found")


# --- shots --------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestShots:
    def test_create_at_a_position(self, crew):
        url = f"{API}/segments/{crew.seg.pk}/shots/"
        a = crew.client("owner").post(url, {"title": "A", "duration_frames": 24, "position": 0}, format="json")
        assert a.status_code == 201, a.json()
        assert a.json()["position"] == 0
        b = crew.client("owner").post(url, {"title": "B", "duration_frames": 24, "position": 1}, format="json")
        assert b.status_code == 201 and b.json()["position"] == 1
        end = crew.client("owner").post(url, {"title": "Z", "duration_frames": 24, "position": 50}, format="json")
        assert end.status_code == 201 and end.json()["position"] == 3
        listed = crew.client("viewer").get(url).json()
        assert [s["position"] for s in listed] == [0, 1, 2, 3]
        assert [s["id"] for s in listed] == [a.json()["id"], b.json()["id"], str(crew.shot.pk), end.json()["id"]]

    def test_bad_duration(self, crew):
        url = f"{API}/segments/{crew.seg.pk}/shots/"
        assert_error(crew.client("owner").post(url, {"duration_frames": 0}, format="json"), 400, "validation_error")
        assert_error(crew.client("owner").post(url, {"title": "no duration"}, format="json"), 400, "validation_error")

    def test_patch_with_stale_revision_is_409_with_current(self, crew):
        url = f"{API}/shots/{crew.shot.pk}/"
        rev = crew.client("owner").get(url).json()["revision"]
        first = crew.client("owner").patch(url, {"revision": rev, "title": "Wide"}, format="json")
        assert first.status_code == 200, first.json()
        assert first.json()["revision"] == rev + 1
        stale = crew.client("director").patch(url, {"revision": rev, "title": "Close"}, format="json")
        body = assert_error(stale, 409, "conflict")
        assert body["current"]["revision"] == rev + 1 and body["current"]["title"] == "Wide"
        crew.shot.refresh_from_db()
        assert crew.shot.title == "Wide"

    def test_patch_needs_a_revision(self, crew):
        r = crew.client("owner").patch(f"{API}/shots/{crew.shot.pk}/", {"title": "No rev"}, format="json")
        assert "revision" in assert_error(r, 400, "validation_error")["fields"]

    def test_delete_renumbers(self, crew):
        second = make_shot(crew.seg)
        third = make_shot(crew.seg)
        assert crew.client("owner").delete(f"{API}/shots/{second.pk}/").status_code == 204
        assert list(Shot.objects.filter(segment=crew.seg).order_by("position").values_list("pk", "position")) == [
            (crew.shot.pk, 0), (third.pk, 1)
        ]


# --- takes, review, comments --------------------------------------------------------------------


@pytest.mark.django_db
class TestTakes:
    def test_take_from_an_upload(self, crew):
        upload = make_completed_upload(crew.project, owner=crew.owner)
        url = f"{API}/shots/{crew.shot.pk}/takes/"
        r = crew.client("owner").post(url, {"upload": str(upload.pk)}, format="json")
        assert r.status_code == 201, r.json()
        take = r.json()
        assert take["source"] == "upload" and take["number"] == 1 and take["review_state"] == "draft"
        assert take["status"] == "ready"  # its media was already ingested
        assert {"url", "proxy_url", "thumbnail_url", "duration_seconds", "fps", "width", "height", "has_audio"} <= set(take["media"])
        assert take["media"]["duration_seconds"] == 2.0
        assert take["author"]["username"] == crew.owner.username
        assert isinstance(take["provenance"], dict)
        # An upload becomes exactly one take.
        assert_error(crew.client("owner").post(url, {"upload": str(upload.pk)}, format="json"), 400, "validation_error")
        # Someone else's upload is not yours to use.
        theirs = make_completed_upload(crew.project, owner=crew.artist)
        assert_error(crew.client("owner").post(url, {"upload": str(theirs.pk)}, format="json"), 404, "not_found")
        # Numbers go up.
        again = crew.client("director").post(url, {"upload": str(make_completed_upload(crew.project, owner=crew.director).pk)}, format="json")
        assert again.status_code == 201 and again.json()["number"] == 2
        assert [t["number"] for t in crew.client("viewer").get(url).json()] == [2, 1]


@pytest.mark.django_db
class TestReview:
    def test_approve_replaces_the_pick(self, crew):
        a = make_take(crew.shot, author=crew.owner, review_state=ReviewState.SUBMITTED)
        b = make_take(crew.shot, author=crew.owner, review_state=ReviewState.SUBMITTED)
        director = crew.client("director")
        r = director.post(f"{API}/takes/{a.pk}/approve/")
        assert r.status_code == 200, r.json()
        assert r.json()["review_state"] == "approved" and r.json()["is_pick"] is True
        r = director.post(f"{API}/takes/{b.pk}/approve/")
        assert r.status_code == 200, r.json()
        a.refresh_from_db()
        b.refresh_from_db()
        assert a.review_state != ReviewState.APPROVED
        assert b.review_state == ReviewState.APPROVED and b.reviewed_by == crew.director
        assert Take.objects.filter(shot=crew.shot, review_state=ReviewState.APPROVED).count() == 1
        tl = crew.client("viewer").get(f"{API}/projects/{crew.project.pk}/timeline/").json()
        shot = next(s for seg in tl["segments"] for s in seg["shots"] if s["id"] == str(crew.shot.pk))
        assert shot["take"]["id"] == str(b.pk)
        assert crew.client("viewer").get(f"{API}/shots/{crew.shot.pk}/").json()["pick"]["id"] == str(b.pk)
        # approving the pick again is harmless
        assert director.post(f"{API}/takes/{b.pk}/approve/").status_code == 200

    def test_approving_every_shot_approves_the_segment(self, crew):
        take = make_take(crew.shot, author=crew.owner, review_state=ReviewState.SUBMITTED)
        assert crew.client("director").post(f"{API}/takes/{take.pk}/approve/").status_code == 200
        assert crew.client("owner").get(f"{API}/segments/{crew.seg.pk}/").json()["status"] == "approved"

    def test_only_ready_takes(self, crew):
        processing = make_take(crew.shot, author=crew.owner, status="processing")
        assert_error(crew.client("owner").post(f"{API}/takes/{processing.pk}/submit/"), 409, "take_not_ready")
        assert_error(crew.client("director").post(f"{API}/takes/{processing.pk}/approve/"), 409, "take_not_ready")

    def test_submit_puts_the_take_in_the_review_queue(self, crew):
        take = make_take(crew.shot, author=crew.owner)
        r = crew.client("owner").post(f"{API}/takes/{take.pk}/submit/")
        assert r.status_code == 200 and r.json()["review_state"] == "submitted"
        queue = crew.client("director").get(f"{API}/projects/{crew.project.pk}/review/").json()
        assert [t["id"] for t in queue] == [str(take.pk)]
        assert crew.client("owner").get(f"{API}/segments/{crew.seg.pk}/").json()["status"] == "in_review"

    def test_request_changes_adds_a_comment_and_drops_the_pick(self, crew):
        take = make_take(crew.shot, author=crew.owner, review_state=ReviewState.APPROVED)
        r = crew.client("director").post(
            f"{API}/takes/{take.pk}/request-changes/", {"comment": "The horizon tilts.", "frame": 30}, format="json"
        )
        assert r.status_code == 200, r.json()
        assert r.json()["review_state"] == "changes_requested"
        comments = crew.client("owner").get(f"{API}/takes/{take.pk}/comments/").json()
        assert len(comments) == 1
        assert comments[0]["body"] == "The horizon tilts." and comments[0]["frame"] == 30
        assert comments[0]["author"]["username"] == crew.director.username
        tl = crew.client("owner").get(f"{API}/projects/{crew.project.pk}/timeline/").json()
        assert tl["segments"][0]["shots"][0]["take"] is None

    def test_request_changes_needs_a_comment(self, crew):
        take = make_take(crew.shot, author=crew.owner, review_state=ReviewState.SUBMITTED)
        assert_error(crew.client("director").post(f"{API}/takes/{take.pk}/request-changes/", {}, format="json"), 400, "validation_error")
        assert not Comment.objects.filter(take=take).exists()

    def test_comments_are_threaded_and_time_coded(self, crew):
        take = make_take(crew.shot, author=crew.owner)
        url = f"{API}/takes/{take.pk}/comments/"
        root = crew.client("viewer").post(url, {"body": "The gull at 12 is lovely.", "frame": 12}, format="json")
        assert root.status_code == 201, root.json()
        assert root.json()["frame"] == 12 and root.json()["parent"] is None
        reply = crew.client("owner").post(url, {"body": "Thanks! Keeping it.", "parent": root.json()["id"]}, format="json")
        assert reply.status_code == 201, reply.json()
        assert reply.json()["parent"] == root.json()["id"] and reply.json()["frame"] is None
        listed = crew.client("producer").get(url).json()
        assert [(c["id"], c["parent"], c["frame"]) for c in listed] == [
            (root.json()["id"], None, 12), (reply.json()["id"], root.json()["id"], None)
        ]
        assert crew.client("viewer").get(f"{API}/takes/{take.pk}/").json()["comment_count"] == 2

    def test_comment_validation(self, crew):
        take = make_take(crew.shot, author=crew.owner)
        other = make_take(crew.shot, author=crew.owner)
        foreign = Comment.objects.create(take=other, author=crew.owner, body="elsewhere")
        url = f"{API}/takes/{take.pk}/comments/"
        assert_error(crew.client("viewer").post(url, {"body": "  "}, format="json"), 400, "validation_error")
        assert_error(crew.client("viewer").post(url, {"body": "x", "frame": -1}, format="json"), 400, "validation_error")
        assert_error(crew.client("viewer").post(url, {"body": "x", "parent": str(foreign.pk)}, format="json"), 400, "validation_error")


# --- timeline -----------------------------------------------------------------------------------


def _timeline_patch(client, project, ops, revision=None):
    rev = timeline_revision(project) if revision is None else revision
    return client.patch(f"{API}/projects/{project.pk}/timeline/", {"revision": rev, "ops": ops}, format="json")


@pytest.mark.django_db
class TestTimeline:
    def test_shape(self, crew):
        take = make_take(crew.shot, author=crew.owner, review_state=ReviewState.APPROVED)
        tl = crew.client("viewer").get(f"{API}/projects/{crew.project.pk}/timeline/").json()
        assert {"revision", "fps", "duration_frames", "segments", "audio_tracks", "markers"} <= set(tl)
        seg = tl["segments"][0]
        assert {"id", "position", "owner", "status", "shots"} <= set(seg)
        shot = seg["shots"][0]
        assert {"id", "position", "take", "in_frame", "out_frame", "duration_frames", "transition"} <= set(shot)
        assert shot["take"]["id"] == str(take.pk)
        assert shot["duration_frames"] == 48  # 2.0 s at 24 fps
        assert tl["duration_frames"] == 48

    def test_ops_apply_all_or_nothing(self, crew):
        before = list(Segment.objects.filter(project=crew.project).order_by("position").values_list("pk", flat=True))
        rev = timeline_revision(crew.project)
        r = _timeline_patch(crew.client("director"), crew.project, [
            {"op": "move_segment", "segment": str(crew.open_seg.pk), "position": 0},
            {"op": "trim", "shot": str(uuid.uuid4()), "in_frame": 0, "out_frame": 10},
        ])
        assert_error(r, 400, "validation_error")
        after = list(Segment.objects.filter(project=crew.project).order_by("position").values_list("pk", flat=True))
        assert after == before
        assert timeline_revision(crew.project) == rev

    def test_a_refused_op_rolls_back_the_allowed_ones(self, crew):
        rev = timeline_revision(crew.project)
        r = _timeline_patch(crew.client("owner"), crew.project, [
            {"op": "trim", "shot": str(crew.shot.pk), "in_frame": 4, "out_frame": 20},
            {"op": "move_segment", "segment": str(crew.open_seg.pk), "position": 0},
        ])
        assert_error(r, 403, "permission_denied")
        crew.shot.refresh_from_db()
        assert (crew.shot.in_frame, crew.shot.out_frame) == (None, None)
        assert timeline_revision(crew.project) == rev

    def test_stale_revision_is_409_with_the_current_timeline(self, crew):
        rev = timeline_revision(crew.project)
        ok = _timeline_patch(crew.client("owner"), crew.project, [{"op": "transition", "shot": str(crew.shot.pk), "kind": "fade_black", "frames": 12}], rev)
        assert ok.status_code == 200, ok.json()
        stale = _timeline_patch(crew.client("director"), crew.project, [{"op": "move_segment", "segment": str(crew.open_seg.pk), "position": 0}], rev)
        body = assert_error(stale, 409, "conflict")
        assert body["current"]["revision"] == rev + 1
        assert body["current"]["segments"][0]["shots"][0]["transition"] == {"kind": "fade_black", "frames": 12}
        assert Segment.objects.get(pk=crew.open_seg.pk).position == 1

    def test_trim_within_the_pick(self, crew):
        Shot.objects.filter(pk=crew.shot.pk).update(duration_frames=96)  # planned longer than the pick
        make_take(crew.shot, author=crew.owner, review_state=ReviewState.APPROVED, duration_seconds=2.0)  # 48 frames
        too_long = _timeline_patch(crew.client("owner"), crew.project, [{"op": "trim", "shot": str(crew.shot.pk), "in_frame": 0, "out_frame": 49}])
        assert_error(too_long, 400, "validation_error")
        empty = _timeline_patch(crew.client("owner"), crew.project, [{"op": "trim", "shot": str(crew.shot.pk), "in_frame": 10, "out_frame": 10}])
        assert_error(empty, 400, "validation_error")
        ok = _timeline_patch(crew.client("owner"), crew.project, [{"op": "trim", "shot": str(crew.shot.pk), "in_frame": 6, "out_frame": 48}])
        assert ok.status_code == 200, ok.json()
        shot = ok.json()["segments"][0]["shots"][0]
        assert (shot["in_frame"], shot["out_frame"], shot["duration_frames"]) == (6, 48, 42)

    def test_move_shot_between_own_segments(self, crew):
        other = make_segment(crew.project, owner=crew.owner, title="Also mine")
        moved = make_shot(other)
        r = _timeline_patch(crew.client("owner"), crew.project, [{"op": "move_shot", "shot": str(moved.pk), "segment": str(crew.seg.pk), "position": 0}])
        assert r.status_code == 200, r.json()
        assert list(Shot.objects.filter(segment=crew.seg).order_by("position").values_list("pk", flat=True)) == [moved.pk, crew.shot.pk]

    def test_unknown_op(self, crew):
        r = _timeline_patch(crew.client("director"), crew.project, [{"op": "explode"}])
        assert_error(r, 400, "validation_error")


# --- events -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_claim_records_an_activity_event_and_publishes_after_commit(crew, django_capture_on_commit_callbacks, monkeypatch):
    sent: list[tuple[str, str, dict]] = []
    monkeypatch.setattr(
        "apps.core.events.publish", lambda project_id, type, data, revision=None: sent.append((str(project_id), type, data))
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = crew.client("artist").post(f"{API}/segments/{crew.open_seg.pk}/claim/")
        assert r.status_code == 200, r.json()
    event = ActivityEvent.objects.get(project=crew.project, type="segment.claimed")
    assert event.actor == crew.artist and event.data["id"] == str(crew.open_seg.pk)
    assert callbacks, "the realtime message is published on commit"
    assert sent == []  # nothing went out before the commit
    for callback in callbacks:
        callback()
    assert [(p, t) for p, t, _ in sent] == [(str(crew.project.pk), "segment.claimed")]
    assert sent[0][2]["owner"]["username"] == crew.artist.username
    # and the activity feed shows it
    feed = crew.client("viewer").get(f"{API}/projects/{crew.project.pk}/activity/").json()
    assert feed[0]["type"] == "segment.claimed" and feed[0]["actor"]["username"] == crew.artist.username


@pytest.mark.django_db
def test_a_refused_claim_records_and_publishes_nothing(crew, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert_error(crew.client("artist").post(f"{API}/segments/{crew.seg.pk}/claim/"), 409, "segment_already_claimed")
    assert callbacks == []
    assert not ActivityEvent.objects.filter(project=crew.project, type="segment.claimed").exists()
