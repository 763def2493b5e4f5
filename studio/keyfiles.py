"""The keys of the embedded studio (``make run``), generated on first start and kept in files.

``studio.settings.local`` reads them, so every process that loads those settings (the web
server, the Celery worker and beat, ``manage.py`` commands) uses the same keys:

- ``<var>/secret_key``        Django's SECRET_KEY (sessions, CSRF, signed media URLs);
- ``<var>/credentials_key``   Fernet keys for provider API keys stored in the database, one a
  line, newest first (the first encrypts; every line decrypts).

Both are created with mode 0600 the first time they are needed and reused afterwards; the
environment (``SECRET_KEY``, ``MONTAGE_CREDENTIALS_KEY``) wins over the files. Nothing here
imports Django.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

# The SECRET_KEY that studio/settings/base.py falls back to (for the tests): public (it is in
# the source tree), so ``make run`` never uses it.
PUBLIC_DEFAULT_SECRET_KEY = "montage-insecure-development-key-change-me-0123456789abcdef"

SECRET_KEY_FILE = "secret_key"
CREDENTIALS_KEY_FILE = "credentials_key"


def _read(path: Path) -> str:
    return path.read_text(encoding="ascii").strip()


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The content of ``path``; when it does not exist, ``make()`` is written there first
    (mode 0600, atomically: when two processes start at once, both read the one that won)."""
    path = Path(path)
    with contextlib.suppress(FileNotFoundError):
        value = _read(path)
        if value:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(make().strip() + "\n")
        try:
            os.link(tmp, path)  # fails when another process created it first
        except FileExistsError:
            if not _read(path):  # an empty file (e.g. made by hand): replace it
                os.replace(tmp, path)
                tmp = None
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    return _read(path)


def new_secret_key() -> str:
    return secrets.token_urlsafe(64)


def new_fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def secret_key(var_dir: Path) -> str:
    """SECRET_KEY from ``<var>/secret_key``, generated on first use."""
    return read_or_create(Path(var_dir) / SECRET_KEY_FILE, new_secret_key)


def credentials_key(var_dir: Path) -> str:
    """MONTAGE_CREDENTIALS_KEY (comma-separated, newest first) from ``<var>/credentials_key``
    (one key a line; a new Fernet key is generated on first use). To rotate: put a new key on
    the first line and run ``manage.py rotate_credentials_key``."""
    text = read_or_create(Path(var_dir) / CREDENTIALS_KEY_FILE, new_fernet_key)
    keys = [line.strip() for line in text.replace(",", "\n").splitlines()]
    return ",".join(k for k in keys if k and not k.startswith("#"))
