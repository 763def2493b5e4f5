"""Settings for the live ASGI server and Celery worker that the browser tests start.

The test settings, plus what a *real* deployment does differently: tasks go to a real
worker (not eager), the SPA's files are served straight from ``frontend/dist`` and both
subprocesses share one database, one media folder and one Redis key prefix, all given by
the harness (tests/e2e/harness.py) through the environment:

- ``MONTAGE_E2E_DB_NAME``   the database the pytest process uses (its test database on
  PostgreSQL, a shared file on SQLite); engine, host and user still come from DATABASE_URL.
- ``MONTAGE_E2E_PREFIX``    Redis key prefix of the Celery broker and of the generation
  rate-limit slots, so that parallel runs (or a ``make run`` on the same Redis) never take
  each other's tasks or slots.
- ``MEDIA_ROOT``, ``MONTAGE_E2E_STATIC_ROOT``, ``MONTAGE_RENDER_CACHE_DIR``  private folders.
- ``CHANNELS_PREFIX``, ``REDIS_URL``  inherited from the pytest process (same channel layer).
- ``MONTAGE_E2E_FRONTEND_DIST``  optional: serve another build of the browser app.
"""

import os

from studio.settings.test import *  # noqa: F401,F403
from studio.settings.test import DATABASES, LOGGING, env

CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = False

_db_name = os.environ.get("MONTAGE_E2E_DB_NAME")
if _db_name:
    DATABASES["default"]["NAME"] = _db_name
    DATABASES["default"].pop("TEST", None)

_prefix = env("MONTAGE_E2E_PREFIX", default="")
if _prefix:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{_prefix}:"}
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": f"{_prefix}:"}
    # Provider concurrency slots live in Redis too (leased for minutes): a job of another
    # run on the same Redis must not hold this run's local-animatic slots.
    MONTAGE_RATELIMIT_PREFIX = f"{_prefix}:gen"

# Serve the built browser app from frontend/dist (no collectstatic into a shared folder).
# MONTAGE_E2E_FRONTEND_DIST points at another build (e.g. `vite build --outDir /tmp/x`).
STATIC_ROOT = env("MONTAGE_E2E_STATIC_ROOT", default=None) or STATIC_ROOT  # noqa: F405
_dist = os.environ.get("MONTAGE_E2E_FRONTEND_DIST")
if _dist:
    from pathlib import Path

    FRONTEND_DIST = Path(_dist)
    STATICFILES_DIRS = [FRONTEND_DIST]
WHITENOISE_USE_FINDERS = True

LOGGING["root"]["level"] = env("LOG_LEVEL", default="INFO")
