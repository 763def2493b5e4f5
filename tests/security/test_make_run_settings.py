"""`make run` (studio.settings.local) is not a debug server and never uses a key from the
source tree: each check loads the settings in a fresh process, as the web server, worker and
beat do, with its own var/ folder (MONTAGE_VAR_DIR)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken

from studio.env import BASE_DIR
from studio.keyfiles import PUBLIC_DEFAULT_SECRET_KEY

pytestmark = pytest.mark.timeout(120)

# Loads the settings like any process of `make run`, makes one request that fails inside a
# view (500) and one to an address nothing serves (404), encrypts a provider key, and prints
# what a test needs as JSON.
PROBE = r"""
import json, sys
import django
django.setup()
from django.conf import settings
from django.test import Client

import apps.core.views as views

def boom(request):
    raise RuntimeError("probe failure with a local variable")

views.health = boom  # before the URLconf is first loaded
client = Client(raise_request_exception=False)
error = client.get("/healthz")
missing = client.get("/static/no-such-file.css")
hosts = {h: client.get("/static/no-such-file.css", HTTP_HOST=h).status_code for h in ("localhost", "127.0.0.1")}
from apps.generation.credentials import decrypt, encrypt
token = encrypt("sk-live-probe")
json.dump({
    "debug": settings.DEBUG,
    "secret_key": settings.SECRET_KEY,
    "credentials_key": settings.MONTAGE_CREDENTIALS_KEY,
    "error": [error.status_code, error.content.decode(errors="replace")],
    "missing": [missing.status_code, missing.content.decode(errors="replace")],
    "hosts": hosts,
    "token": token,
    "decrypted": decrypt(sys.argv[1]) if len(sys.argv) > 1 else None,
}, sys.stdout)
"""


def _env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MONTAGE_", "CELERY_"))}
    for name in ("SECRET_KEY", "DEBUG", "DATABASE_URL", "MEDIA_ROOT", "ALLOWED_HOSTS"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="studio.settings.local",
        MONTAGE_VAR_DIR=str(var_dir),
        PYTHONPATH=os.pathsep.join(filter(None, [str(BASE_DIR), os.environ.get("PYTHONPATH", "")])),
        LOG_LEVEL="CRITICAL",
    )
    env.update(extra)
    return env


def _probe(var_dir: Path, *args: str, **extra: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=_env(var_dir, **extra), cwd=str(var_dir.parent),
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_make_run_shows_no_traceback_and_no_settings(tmp_path):
    out = _probe(tmp_path / "var")
    assert out["debug"] is False
    status, body = out["error"]
    assert status == 500
    assert "Traceback" not in body and "probe failure" not in body and "RuntimeError" not in body
    assert out["secret_key"] not in body and "SECRET_KEY" not in body and "INSTALLED_APPS" not in body
    status, body = out["missing"]
    assert status == 404
    assert "URLconf" not in body and "studio.urls" not in body and "DEBUG = True" not in body
    # localhost names still work without DEBUG
    assert out["hosts"] == {"localhost": 404, "127.0.0.1": 404}


def test_make_dev_is_the_one_with_debug_pages(tmp_path):
    out = _probe(tmp_path / "var", DEBUG="1")
    assert out["debug"] is True
    status, body = out["error"]
    assert status == 500 and "probe failure" in body  # the technical page that `make run` never shows


def test_keys_are_generated_once_into_var_and_reused(tmp_path):
    var = tmp_path / "var"
    first = _probe(var)
    secret_file, key_file = var / "secret_key", var / "credentials_key"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    assert first["secret_key"] != PUBLIC_DEFAULT_SECRET_KEY and len(first["secret_key"]) >= 50
    assert first["secret_key"] == secret_file.read_text().strip()
    newest = first["credentials_key"].split(",")[0]
    assert newest == key_file.read_text().strip().splitlines()[0]
    # the stored provider key is encrypted with the generated key (not one from the source tree)
    assert Fernet(newest.encode()).decrypt(first["token"].encode()) == b"sk-live-probe"

    # a second process (the worker, a restart) gets the same keys and reads what the first stored
    second = _probe(var, first["token"])
    assert second["secret_key"] == first["secret_key"]
    assert second["credentials_key"] == first["credentials_key"]
    assert second["decrypted"] == "sk-live-probe"

    # another install gets other keys
    other = _probe(tmp_path / "other-var")
    assert other["secret_key"] != first["secret_key"]
    assert other["credentials_key"].split(",")[0] != newest


def test_the_environment_wins_over_the_files(tmp_path):
    var = tmp_path / "var"
    secret = "s" * 60
    key = Fernet.generate_key().decode()
    out = _probe(var, SECRET_KEY=secret, MONTAGE_CREDENTIALS_KEY=key)
    assert out["secret_key"] == secret
    assert out["credentials_key"].split(",")[0] == key
    assert Fernet(key.encode()).decrypt(out["token"].encode()) == b"sk-live-probe"
    assert not (var / "secret_key").exists() and not (var / "credentials_key").exists()


def test_provider_keys_stored_before_the_generated_key_still_decrypt(tmp_path):
    # Older `make run`s encrypted provider keys with a key derived from the public SECRET_KEY.
    digest = hashlib.sha256(b"montage-credentials-from-secret-key:" + PUBLIC_DEFAULT_SECRET_KEY.encode()).digest()
    legacy = Fernet(base64.urlsafe_b64encode(digest))
    out = _probe(tmp_path / "var", legacy.encrypt(b"sk-stored-long-ago").decode())
    assert out["decrypted"] == "sk-stored-long-ago"
    # ...but what is stored now cannot be read with that key from the source tree
    with pytest.raises(InvalidToken):
        legacy.decrypt(out["token"].encode())
