"""Throttling: failed sign-ins lock the account and the address; sign-ups, invitation
acceptance, uploads and generations are rate-limited. Every refusal is
429 ``{code: "throttled", detail, retry_after}`` with a Retry-After header.

Limits are set low here (the test settings raise them for the rest of the suite); time is
simulated by moving the clocks the lockout and the throttles read."""

from __future__ import annotations

import uuid

import pytest
import redis
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from apps.accounts import lockout
from apps.core.throttling import ScopedThrottle, client_address
from apps.projects.models import Invite, Membership
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

API = "/api/v1"
PASSWORD = "pw-Montage-42"


class Clock:
    def __init__(self, start: float = 1_900_000_000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture(autouse=True)
def _fresh_counts():
    """Counts live in Redis and outlive a test (user ids repeat on SQLite): start clean."""
    client = redis.Redis.from_url(django_settings.REDIS_URL)

    def wipe():
        for pattern in ("*montage-throttle*", "*montage-lockout*"):
            for key in client.scan_iter(pattern):
                client.delete(key)

    wipe()
    yield
    wipe()
    client.close()


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(lockout, "now", clock)
    monkeypatch.setattr(ScopedThrottle, "timer", clock)
    return clock


@pytest.fixture
def limits(settings):
    settings.MONTAGE_LOGIN_FAILURES_PER_ACCOUNT = 3
    settings.MONTAGE_LOGIN_FAILURES_PER_ADDRESS = 5
    settings.MONTAGE_LOGIN_FAILURE_WINDOW_SECONDS = 900
    settings.MONTAGE_LOGIN_LOCKOUT_SECONDS = 900
    settings.MONTAGE_TRUSTED_PROXY_COUNT = 0
    settings.MONTAGE_THROTTLE_RATES = {"signup": "2/hour", "invite_accept": "2/hour", "upload": "2/hour", "generate": "2/hour"}
    return settings


def _from(address: str, **headers) -> APIClient:
    return APIClient(REMOTE_ADDR=address, **headers)


def _token(address: str, username: str, password: str, **headers):
    return _from(address, **headers).post(f"{API}/auth/token/", {"username": username, "password": password}, format="json")


def _assert_throttled(response, *, starts: str, retry_after: int) -> None:
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "throttled"
    assert body["retry_after"] == retry_after
    assert response["Retry-After"] == str(retry_after)
    assert body["detail"].startswith(starts), body["detail"]


# --- sign-in lockout -------------------------------------------------------------------------


def test_failed_sign_ins_lock_the_account_from_any_address(limits, clock):
    alice, bob = make_user(), make_user()
    for n, address in enumerate(["10.0.0.1", "10.0.0.2"]):
        r = _token(address, alice.username, "wrong")
        assert r.status_code == 400 and r.json()["code"] == "invalid_credentials", n
    # The third failure locks, and says so.
    _assert_throttled(
        _token("10.0.0.3", alice.username, "wrong"), starts="Too many failed sign-ins; try again in 15 minutes", retry_after=900
    )
    # Now even the right password is refused, from an address never seen before...
    r = _token("10.0.0.4", alice.username, PASSWORD)
    _assert_throttled(r, starts="Too many failed sign-ins", retry_after=900)
    assert "token" not in r.json()
    # ...and the name is matched whatever its case.
    _assert_throttled(_token("10.0.0.4", alice.username.upper(), PASSWORD), starts="Too many", retry_after=900)
    # Someone else signs in from that address.
    assert _token("10.0.0.4", bob.username, PASSWORD).status_code == 200


def test_the_browser_sign_in_and_the_token_share_the_count(limits, clock):
    alice = make_user()
    session = f"{API}/auth/session/"
    assert _from("10.1.0.1").post(session, {"username": alice.username, "password": "x"}, format="json").status_code == 400
    assert _token("10.1.0.2", alice.username, "y").status_code == 400
    r = _from("10.1.0.3").post(session, {"username": alice.username, "password": "z"}, format="json")
    _assert_throttled(r, starts="Too many failed sign-ins; try again in 15 minutes.", retry_after=900)
    r = _from("10.1.0.3").post(session, {"username": alice.username, "password": PASSWORD}, format="json")
    assert r.status_code == 429
    assert _from("10.1.0.3").get(session).status_code == 401  # not signed in


def test_failures_from_one_address_lock_that_address(limits, clock):
    victim = make_user()
    # Five different names (some that do not exist) from one address.
    for n in range(4):
        assert _token("10.2.0.1", f"guess-{n}-{uuid.uuid4().hex[:4]}", "wrong").status_code == 400
    _assert_throttled(_token("10.2.0.1", "guess-last", "wrong"), starts="Too many failed sign-ins", retry_after=900)
    # Nobody signs in from there now, not even with the right password...
    _assert_throttled(_token("10.2.0.1", victim.username, PASSWORD), starts="Too many failed sign-ins", retry_after=900)
    # ...but the account itself is not locked.
    assert _token("10.2.0.2", victim.username, PASSWORD).status_code == 200


def test_unknown_names_count_like_real_ones(limits, clock):
    """The lock does not tell which names exist: a made-up name locks the same way."""
    ghost = f"ghost-{uuid.uuid4().hex[:6]}"
    for address in ("10.3.0.1", "10.3.0.2"):
        assert _token(address, ghost, "wrong").status_code == 400
    _assert_throttled(_token("10.3.0.3", ghost, "wrong"), starts="Too many failed sign-ins", retry_after=900)


def test_the_lockout_ends_after_its_time(limits, clock):
    alice = make_user()
    for address in ("10.4.0.1", "10.4.0.2", "10.4.0.3"):
        _token(address, alice.username, "wrong")
    clock.advance(600)
    _assert_throttled(
        _token("10.4.0.9", alice.username, PASSWORD), starts="Too many failed sign-ins; try again in 5 minutes.", retry_after=300
    )
    clock.advance(299)
    _assert_throttled(
        _token("10.4.0.9", alice.username, PASSWORD), starts="Too many failed sign-ins; try again in 1 second.", retry_after=1
    )
    clock.advance(2)
    r = _token("10.4.0.9", alice.username, PASSWORD)
    assert r.status_code == 200 and r.json()["token"]
    # A fresh set of attempts after the lock: one failure does not lock again.
    assert _token("10.4.0.9", alice.username, "wrong").status_code == 400


def test_a_successful_sign_in_clears_the_account_count(limits, clock):
    alice = make_user()
    for address in ("10.5.0.1", "10.5.0.2"):
        assert _token(address, alice.username, "wrong").status_code == 400
    assert _token("10.5.0.3", alice.username, PASSWORD).status_code == 200
    for address in ("10.5.0.4", "10.5.0.5"):
        assert _token(address, alice.username, "wrong").status_code == 400
    assert _token("10.5.0.6", alice.username, PASSWORD).status_code == 200


def test_forwarded_for_is_not_trusted_by_default(limits, clock):
    """A client cannot spread its guesses over made-up addresses."""
    for n in range(4):
        r = _token("10.6.0.1", f"name-{n}", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        assert r.status_code == 400
    _assert_throttled(
        _token("10.6.0.1", "name-x", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.99"), starts="Too many", retry_after=900
    )


def test_client_address_behind_trusted_proxies(settings):
    class Req:
        def __init__(self, remote, forwarded=None):
            self.META = {"REMOTE_ADDR": remote}
            if forwarded is not None:
                self.META["HTTP_X_FORWARDED_FOR"] = forwarded

    settings.MONTAGE_TRUSTED_PROXY_COUNT = 0
    assert client_address(Req("192.0.2.7", "203.0.113.5")) == "192.0.2.7"
    settings.MONTAGE_TRUSTED_PROXY_COUNT = 1
    # The client may send its own X-Forwarded-For; the proxy appends the address it saw.
    assert client_address(Req("10.0.0.2", "6.6.6.6, 203.0.113.5")) == "203.0.113.5"
    settings.MONTAGE_TRUSTED_PROXY_COUNT = 2
    assert client_address(Req("10.0.0.3", "6.6.6.6, 203.0.113.5, 10.0.0.2")) == "203.0.113.5"
    settings.MONTAGE_TRUSTED_PROXY_COUNT = 1
    assert client_address(Req("10.0.0.2", "not-an-address")) == "10.0.0.2"
    # IPv6 counts per /64; an IPv4-mapped address as IPv4.
    settings.MONTAGE_TRUSTED_PROXY_COUNT = 0
    assert client_address(Req("2001:db8:1:2:aaaa::1")) == client_address(Req("2001:db8:1:2:bbbb::9")) == "2001:db8:1:2::/64"
    assert client_address(Req("::ffff:192.0.2.1")) == "192.0.2.1"


def test_trusted_proxy_count_counts_the_forwarded_client(limits, clock):
    limits.MONTAGE_TRUSTED_PROXY_COUNT = 1
    for n in range(5):
        _token("10.7.0.1", f"n{n}", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.50")
    _assert_throttled(_token("10.7.0.1", "n9", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.50"), starts="Too many", retry_after=900)
    # Another client behind the same proxy is not locked.
    assert _token("10.7.0.1", "n9", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.51").status_code == 400


def test_the_admin_sign_in_is_locked_too(limits, clock):
    admin = make_user()
    admin.is_staff = admin.is_superuser = True
    admin.save()
    for n in range(3):
        c = _from(f"10.8.0.{n + 1}")
        c.post("/admin/login/", {"username": admin.username, "password": "wrong", "next": "/admin/"})
    c = _from("10.8.0.9")
    r = c.post("/admin/login/", {"username": admin.username, "password": PASSWORD, "next": "/admin/"})
    assert r.status_code == 200  # the form again, not the redirect of a successful sign-in
    assert c.get("/admin/").status_code == 302  # still signed out
    clock.advance(901)
    r = c.post("/admin/login/", {"username": admin.username, "password": PASSWORD, "next": "/admin/"})
    assert r.status_code == 302 and c.get("/admin/").status_code == 200


# --- rate limits -------------------------------------------------------------------------------


def _register(address: str):
    name = f"new-{uuid.uuid4().hex[:8]}"
    return _from(address).post(f"{API}/auth/register/", {"username": name, "password": "a-Long-pass-91"}, format="json")


def test_sign_ups_are_limited_per_address(limits, clock):
    assert _register("10.9.0.1").status_code == 201
    assert _register("10.9.0.1").status_code == 201
    r = _register("10.9.0.1")
    _assert_throttled(r, starts="Too many sign-ups from this address; try again in 60 minutes.", retry_after=3600)
    assert _register("10.9.0.2").status_code == 201  # another address
    clock.advance(3601)
    assert _register("10.9.0.1").status_code == 201


def test_invitation_acceptance_is_limited_per_user(limits, clock, crew):
    joiner = make_user()
    invites = [Invite.objects.create(project=crew.project, role="viewer", created_by=crew.director) for _ in range(3)]
    other_projects = []
    for invite in invites[:2]:
        r = client_for(joiner).post(f"{API}/invites/{invite.token}/accept/")
        assert r.status_code == 200, r.content
        other_projects.append(invite)
    late = make_user()
    r = client_for(joiner).post(f"{API}/invites/{invites[2].token}/accept/")
    _assert_throttled(r, starts="Too many invitations accepted; try again in", retry_after=3600)
    # Someone else is not affected.
    assert client_for(late).post(f"{API}/invites/{invites[2].token}/accept/").status_code == 200
    assert Membership.objects.filter(project=crew.project, user=late).exists()


def test_uploads_started_are_limited_per_user(limits, clock, crew):
    url = f"{API}/uploads/"
    body = {"project": str(crew.project.pk), "filename": "", "size": 0}  # refused, but counted
    for _ in range(2):
        assert crew.client("owner").post(url, body, format="json").status_code == 400
    _assert_throttled(
        crew.client("owner").post(url, body, format="json"), starts="Too many uploads started; try again in", retry_after=3600
    )
    assert crew.client("artist").post(url, body, format="json").status_code == 400  # per user
    clock.advance(3601)
    assert crew.client("owner").post(url, body, format="json").status_code == 400


def test_generations_started_are_limited_per_user(limits, clock, crew):
    url = f"{API}/shots/{crew.shot.pk}/generate/"
    body = {"backend": "no-such-backend", "prompt": "x", "duration_frames": 24}
    first = [crew.client("owner").post(url, body, format="json").status_code for _ in range(2)]
    assert 429 not in first
    _assert_throttled(
        crew.client("owner").post(url, body, format="json"), starts="Too many generations started; try again in", retry_after=3600
    )
    assert crew.client("director").post(url, body, format="json").status_code != 429
    # Reading is not throttled.
    assert crew.client("owner").get(f"{API}/shots/{crew.shot.pk}/generate/estimate/").status_code != 429
