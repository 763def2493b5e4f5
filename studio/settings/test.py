"""Settings for pytest. DATABASE_URL / REDIS_URL come from the environment when set."""

import os

from .base import *  # noqa: F401,F403
from .base import BASE_DIR, DATABASES, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "var" / "test-media"))
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = False
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# The provider fakes listen on loopback: allow it explicitly (tests/security/test_ssrf.py
# takes it away again to prove the refusal).
MONTAGE_PROVIDER_ALLOWED_HOSTS = "127.0.0.1,localhost,::1"

# Each pytest process gets its own PostgreSQL test database, so that parallel runs on one
# server (developers, CI) never drop each other's.
if "postgresql" in DATABASES["default"]["ENGINE"]:
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default=f"test_montage_{os.getpid()}")}
