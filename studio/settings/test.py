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

# Every test signs in from 127.0.0.1 and the cache outlives a test: limits far above what a
# suite does, so nothing is throttled by accident (tests/security/test_throttle.py sets them low).
MONTAGE_LOGIN_FAILURES_PER_ACCOUNT = 1000
MONTAGE_LOGIN_FAILURES_PER_ADDRESS = 100000
MONTAGE_THROTTLE_RATES = {scope: "100000/hour" for scope in MONTAGE_THROTTLE_RATES}  # noqa: F405
# A fixed credentials key (not the SECRET_KEY-derived fallback, which warns).
MONTAGE_CREDENTIALS_KEY = env("MONTAGE_CREDENTIALS_KEY", default="dGVzdC1jcmVkZW50aWFscy1rZXktMzItYnl0ZXMhISE=")
# The provider fakes listen on loopback: allow it explicitly (tests/security/test_ssrf.py
# takes it away again to prove the refusal).
MONTAGE_PROVIDER_ALLOWED_HOSTS = "127.0.0.1,localhost,::1"

# Each pytest process gets its own PostgreSQL test database, so that parallel runs on one
# server (developers, CI) never drop each other's.
if "postgresql" in DATABASES["default"]["ENGINE"]:
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default=f"test_montage_{os.getpid()}")}
