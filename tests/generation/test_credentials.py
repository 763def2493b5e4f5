"""Provider keys: encrypted at rest, write-only, managers only."""

from __future__ import annotations

import pytest

from apps.generation import credentials
from apps.generation.models import Credential
from apps.generation.services import generate

from .conftest import API, access_of

pytestmark = pytest.mark.django_db

KEY = "sk-live-SECRET-abcdefghijklmnop-9876"


def _url(crew, backend="fake-generic"):
    return f"{API}/projects/{crew.project.pk}/credentials/{backend}/"


def test_put_then_get_never_returns_the_key(crew, fake):
    r = crew.client("producer").put(_url(crew), {"api_key": KEY, "config": {"region": "eu"}}, format="json")
    assert r.status_code == 200, r.json()
    assert KEY not in r.content.decode()
    body = crew.client("director").get(_url(crew)).json()
    assert body["backend"] == "fake-generic" and body["configured"] is True
    assert body["hint"] == "9876" and body["config"] == {"region": "eu"} and body["updated_at"]
    assert KEY not in str(body)
    row = Credential.objects.get(project=crew.project, backend="fake-generic")
    assert KEY not in row.encrypted and "SECRET" not in row.encrypted
    assert credentials.credential_get_key(crew.project, "fake-generic") == KEY
    listing = crew.client("director").get(f"{API}/projects/{crew.project.pk}/credentials/").json()
    assert any(item["backend"] == "fake-generic" and item["configured"] for item in listing)
    assert KEY not in str(listing)


def test_config_only_update_keeps_the_key_and_empty_key_removes_it(crew, fake):
    crew.client("director").put(_url(crew), {"api_key": KEY}, format="json")
    crew.client("director").put(_url(crew), {"config": {"concurrency": 2}}, format="json")
    assert credentials.credential_get_key(crew.project, "fake-generic") == KEY
    r = crew.client("director").put(_url(crew), {"api_key": ""}, format="json")
    assert r.json()["configured"] is False and r.json()["config"] == {"concurrency": 2}
    assert credentials.credential_get_key(crew.project, "fake-generic") is None
    assert crew.client("director").delete(_url(crew)).status_code == 204
    assert not Credential.objects.filter(project=crew.project).exists()


@pytest.mark.parametrize("who,status", [("owner", 403), ("artist", 403), ("viewer", 403), ("stranger", 404)])
def test_only_managers(crew, fake, who, status):
    assert crew.client(who).put(_url(crew), {"api_key": KEY}, format="json").status_code == status
    assert crew.client(who).get(_url(crew)).status_code == status
    assert not Credential.objects.exists()


def test_anonymous_and_unknown_backend(crew, fake):
    assert crew.client("anonymous").get(_url(crew)).status_code in (401, 403)
    r = crew.client("director").put(_url(crew, "no-such-backend"), {"api_key": KEY}, format="json")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_secrets_do_not_belong_in_config(crew, fake):
    r = crew.client("director").put(_url(crew), {"config": {"api_key": KEY}}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "validation_error"
    r = crew.client("director").put(_url(crew), {"api_key": "has a space"}, format="json")
    assert r.status_code == 400
    crew.client("director").put(_url(crew), {"config": {"webhook_secret": "whsec-x"}}, format="json")
    assert crew.client("director").get(_url(crew)).json()["config"] == {"webhook_secret": "(set)"}
    crew.client("director").put(_url(crew), {"config": {"webhook_secret": "(set)", "a": 1}}, format="json")
    assert credentials.credential_load(crew.project, "fake-generic").config == {"webhook_secret": "whsec-x", "a": 1}
    assert "whsec-x" not in str(Credential.objects.get().config)  # encrypted at rest


def test_generate_without_a_key_is_backend_unavailable(crew, fake):
    r = crew.client("owner").post(
        f"{API}/shots/{crew.shot.pk}/generate/", {"backend": "fake-generic", "prompt": "x", "duration_frames": 96}, format="json"
    )
    assert r.status_code == 400 and r.json()["code"] == "backend_unavailable"
    assert "API key" in r.json()["detail"]
    assert fake.calls == []


def test_a_changed_encryption_key_makes_stored_keys_unreadable_not_leaky(crew, fake, settings):
    credentials.credential_set(access=access_of(crew, "director"), backend="fake-generic", api_key=KEY)
    settings.MONTAGE_CREDENTIALS_KEY = "a-completely-different-key"
    assert credentials.credential_get_key(crew.project, "fake-generic") is None
    from apps.core.errors import DomainError

    with pytest.raises(DomainError) as refused:
        generate(access=access_of(crew), shot=crew.shot, backend="fake-generic", prompt="x", duration_frames=96)
    assert refused.value.code == "backend_unavailable" and "enter it again" in refused.value.detail


def test_explicit_fernet_key(settings):
    from cryptography.fernet import Fernet

    settings.MONTAGE_CREDENTIALS_KEY = Fernet.generate_key().decode()
    token = credentials.encrypt("hello")
    assert credentials.decrypt(token) == "hello" and "hello" not in token


def test_scrub():
    assert credentials.scrub(f"Bad key {KEY} in https://x/?key={KEY}", KEY) == "Bad key [redacted] in https://x/?key=[redacted]"
