"""The embedded default (`make run`): SQLite in var/, a private Redis, media under var/media.

Not a debug server: DEBUG is off unless DEBUG=1 (`make dev`), so nobody is ever shown a
traceback or the settings. SECRET_KEY and the key that encrypts provider API keys are
generated into var/ on first start (files of mode 0600, see studio/keyfiles.py) and reused
afterwards; SECRET_KEY / MONTAGE_CREDENTIALS_KEY in the environment win. Every process that
loads these settings (web, worker, beat, manage.py) reads the same files.
"""

from urllib.parse import urlsplit

from studio import keyfiles

from .base import *  # noqa: F401,F403
from .base import ALLOWED_HOSTS, MONTAGE_PUBLIC_URL, VAR_DIR, env

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env("SECRET_KEY", default="") or keyfiles.secret_key(VAR_DIR)
MONTAGE_CREDENTIALS_KEY = env("MONTAGE_CREDENTIALS_KEY", default="") or keyfiles.credentials_key(VAR_DIR)

# The studio answers to its public address too (MONTAGE_PUBLIC_URL), besides localhost and
# what ALLOWED_HOSTS lists (`make run` adds the address it binds to).
_public_host = urlsplit(MONTAGE_PUBLIC_URL).hostname if MONTAGE_PUBLIC_URL else None
if _public_host and _public_host not in ALLOWED_HOSTS and "*" not in ALLOWED_HOSTS:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, _public_host]
