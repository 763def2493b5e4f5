"""Credentials keys: several keys (newest first), a rotation command, SECRET_KEY changes that
lose nothing, config secrets encrypted at rest and write-only in the admin."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from apps.generation import credentials
from apps.generation.models import Credential
from apps.generation.planning import backend_context
from apps.generation.registry import get_backend
from apps.projects.access import project_access
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

API = "/api/v1"
KEY = "r8_live-SECRET-abcdefghijklmnop-4321"
WEBHOOK = "whsec_plain-webhook-secret-XYZ"
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _set(crew, api_key=KEY, config=None, backend="replicate"):
    access = project_access(user=crew.director, project_id=crew.project.pk)
    return credentials.credential_set(access=access, backend=backend, api_key=api_key, config=config)


def _rotate(*args) -> str:
    out = io.StringIO()
    call_command("rotate_credentials_key", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _raw_row(cred) -> tuple[str, str]:
    """The columns as the database holds them (no model field decoding)."""
    table = Credential._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT encrypted, config FROM {table} WHERE id = %s", [cred.pk.hex if connection.vendor == "sqlite" else cred.pk]
        )
        row = cursor.fetchone()
    return str(row[0]), str(row[1])


def test_old_keys_still_read_and_rotation_moves_rows_to_the_newest(crew, settings):
    settings.MONTAGE_CREDENTIALS_KEY = OLD
    cred = _set(crew)
    before = Credential.objects.get(pk=cred.pk).encrypted
    # A new key in front: the old row is still read...
    settings.MONTAGE_CREDENTIALS_KEY = f"{NEW}, {OLD}"
    assert credentials.credential_get_key(crew.project, "replicate") == KEY
    assert not credentials.uses_newest_key(before)
    # ...new writes use the new key...
    assert "Re-encrypted 1 credential(s) with the newest key; 0 already used it; 0 could not be decrypted." in _rotate()
    after = Credential.objects.get(pk=cred.pk).encrypted
    assert after != before and credentials.uses_newest_key(after)
    # ...and once rotated, the old key can go.
    settings.MONTAGE_CREDENTIALS_KEY = NEW
    assert credentials.credential_get_key(crew.project, "replicate") == KEY
    # Running it again changes nothing.
    assert "Re-encrypted 0 credential(s) with the newest key; 1 already used it" in _rotate()
    assert Credential.objects.get(pk=cred.pk).encrypted == after


def test_without_a_rotation_dropping_the_old_key_loses_the_row_and_the_command_says_so(crew, settings):
    settings.MONTAGE_CREDENTIALS_KEY = OLD
    _set(crew)
    settings.MONTAGE_CREDENTIALS_KEY = NEW
    assert credentials.credential_get_key(crew.project, "replicate") is None
    out = _rotate()
    assert "0 already used it; 1 could not be decrypted." in out and f"{crew.project.pk}/replicate" in out
    with pytest.raises(Exception, match="could not be decrypted"):
        _rotate("--strict")


def test_rows_made_with_a_secret_key_derived_key_survive_a_secret_key_change(crew, settings):
    # An older install: no credentials key, rows encrypted with a key derived from SECRET_KEY.
    settings.MONTAGE_CREDENTIALS_KEY = ""
    settings.SECRET_KEY = "an-old-secret-key-" + "x" * 40
    cred = _set(crew)
    # The operator sets a credentials key: the old rows are read through the derived key...
    settings.MONTAGE_CREDENTIALS_KEY = NEW
    assert credentials.credential_get_key(crew.project, "replicate") == KEY
    assert "Re-encrypted 1 credential(s)" in _rotate()
    # ...and after the rotation, changing SECRET_KEY loses nothing.
    settings.SECRET_KEY = "a-brand-new-secret-key-" + "y" * 40
    assert credentials.credential_get_key(crew.project, "replicate") == KEY
    assert credentials.uses_newest_key(Credential.objects.get(pk=cred.pk).encrypted)


def test_a_former_secret_key_can_be_named_to_rotate(crew, settings):
    settings.MONTAGE_CREDENTIALS_KEY = ""
    settings.SECRET_KEY = "the-former-secret-key-" + "z" * 40
    _set(crew)
    settings.SECRET_KEY = "the-current-secret-key-" + "w" * 40
    settings.MONTAGE_CREDENTIALS_KEY = NEW
    assert credentials.credential_get_key(crew.project, "replicate") is None
    assert "Re-encrypted 1 credential(s)" in _rotate("--old-secret-key", "the-former-secret-key-" + "z" * 40)
    assert credentials.credential_get_key(crew.project, "replicate") == KEY


def test_rows_of_the_public_development_secret_key_stay_readable(crew, settings):
    """`make run` used to run with the SECRET_KEY from the source tree; it now makes its own."""
    settings.MONTAGE_CREDENTIALS_KEY = ""
    settings.SECRET_KEY = credentials._PUBLIC_DEVELOPMENT_SECRET_KEY
    _set(crew)
    settings.SECRET_KEY = "generated-on-first-start-" + "q" * 40
    settings.MONTAGE_CREDENTIALS_KEY = NEW
    assert credentials.credential_get_key(crew.project, "replicate") == KEY
    assert "Re-encrypted 1 credential(s)" in _rotate()


def test_config_secrets_are_encrypted_at_rest_and_still_reach_the_worker(crew, settings):
    settings.MONTAGE_CREDENTIALS_KEY = NEW
    r = crew.client("director").put(
        f"{API}/projects/{crew.project.pk}/credentials/replicate/",
        {"api_key": KEY, "config": {"webhook_secret": WEBHOOK, "auth_token": "tok-PLAIN-123", "concurrency": 2}},
        format="json",
    )
    assert r.status_code == 200, r.json()
    assert r.json()["config"] == {"webhook_secret": "(set)", "auth_token": "(set)", "concurrency": 2}
    cred = Credential.objects.get(project=crew.project, backend="replicate")
    encrypted, config = _raw_row(cred)
    for plain in (KEY, WEBHOOK, "tok-PLAIN-123"):
        assert plain not in encrypted and plain not in config
    assert '"concurrency": 2' in config.replace(" ", "").replace(":", ": ")
    # What a worker gets: the secrets, decrypted.
    loaded = credentials.credential_load(crew.project, "replicate")
    assert loaded.config["webhook_secret"] == WEBHOOK and loaded.config["auth_token"] == "tok-PLAIN-123"
    assert backend_context(get_backend("replicate"), loaded).webhook_secret == WEBHOOK
    # "(set)" sent back keeps them; leaving one out removes it.
    crew.client("director").put(
        f"{API}/projects/{crew.project.pk}/credentials/replicate/",
        {"config": {"webhook_secret": "(set)", "concurrency": 3}},
        format="json",
    )
    loaded = credentials.credential_load(crew.project, "replicate")
    assert loaded.config == {"webhook_secret": WEBHOOK, "concurrency": 3}
    # Rotating re-encrypts the config secrets too.
    settings.MONTAGE_CREDENTIALS_KEY = f"{OLD},{NEW}"
    assert "Re-encrypted 1 credential(s)" in _rotate()
    settings.MONTAGE_CREDENTIALS_KEY = OLD
    assert credentials.credential_load(crew.project, "replicate").config["webhook_secret"] == WEBHOOK


def test_plain_text_secrets_of_older_rows_are_encrypted_by_the_rotation(crew, settings):
    settings.MONTAGE_CREDENTIALS_KEY = NEW
    cred = _set(crew)
    Credential.objects.filter(pk=cred.pk).update(config={"webhook_secret": WEBHOOK, "concurrency": 1})
    # Still used (and never shown) before the rotation...
    assert credentials.credential_load(crew.project, "replicate").config["webhook_secret"] == WEBHOOK
    body = crew.client("director").get(f"{API}/projects/{crew.project.pk}/credentials/replicate/").json()
    assert body["config"] == {"webhook_secret": "(set)", "concurrency": 1}
    assert "Re-encrypted 1 credential(s)" in _rotate()
    assert WEBHOOK not in _raw_row(cred)[1]
    assert credentials.credential_load(crew.project, "replicate").config["webhook_secret"] == WEBHOOK


@pytest.fixture
def admin_client(db):
    admin = make_user()
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = client_for(None)
    client.force_login(admin)
    return client


def test_the_admin_shows_secrets_masked_and_sets_them_encrypted(crew, settings, admin_client):
    settings.MONTAGE_CREDENTIALS_KEY = NEW
    cred = _set(crew, config={"webhook_secret": WEBHOOK, "concurrency": 2})
    url = f"/admin/generation/credential/{cred.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert KEY not in page and WEBHOOK not in page and Credential.objects.get(pk=cred.pk).encrypted not in page
    assert "webhook_secret: (set)" in page and "API key: (set)" in page
    form = {"project": str(crew.project.pk), "backend": "replicate", "config": '{"concurrency": 4}'}
    # Secrets typed into the plain settings are refused.
    r = admin_client.post(url, {**form, "config": '{"webhook_secret": "typed-in-plain"}'})
    assert r.status_code == 200 and "looks like a secret" in r.content.decode()
    assert "typed-in-plain" not in _raw_row(cred)[1]
    # The write-only fields: blank keeps, a value replaces (encrypted).
    r = admin_client.post(url, form)
    assert r.status_code == 302, r.content.decode()[:2000]
    loaded = credentials.credential_load(crew.project, "replicate")
    assert loaded.api_key == KEY and loaded.config == {"webhook_secret": WEBHOOK, "concurrency": 4}
    r = admin_client.post(url, {**form, "new_webhook_secret": "whsec_NEW-one-555", "new_api_key": "r8_new-key-000099"})
    assert r.status_code == 302
    encrypted, config = _raw_row(cred)
    assert "whsec_NEW-one-555" not in config and "r8_new-key-000099" not in encrypted
    loaded = credentials.credential_load(crew.project, "replicate")
    assert loaded.api_key == "r8_new-key-000099" and loaded.config["webhook_secret"] == "whsec_NEW-one-555"
    assert Credential.objects.get(pk=cred.pk).hint == "0099"
    admin_client.post(url, {**form, "clear_webhook_secret": "on"})
    assert "webhook_secret" not in credentials.credential_load(crew.project, "replicate").config
