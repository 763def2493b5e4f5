"""``python -m studio.testrun [pytest args]`` — run the test suite against real services.

- REDIS_URL unset: a private Redis is started for the run (``studio.embedded``) and stopped after.
- DATABASE_URL unset: the tests run on SQLite (the settings default).
- Every run gets its own CHANNELS_PREFIX so parallel runs sharing one Redis do not cross-talk.

Exits with pytest's exit code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

from studio.embedded import start_private_redis
from studio.env import BASE_DIR, VAR_DIR


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    env = os.environ.copy()
    # Importing ``studio`` (for the Celery app) sets DJANGO_SETTINGS_MODULE to the local
    # settings in this process; an inherited value would beat pytest.ini. Tests always run
    # on the test settings.
    env["DJANGO_SETTINGS_MODULE"] = "studio.settings.test"
    env.setdefault("CHANNELS_PREFIX", f"montage-test-{uuid.uuid4().hex[:12]}")
    stop_redis = None
    if not os.environ.get("REDIS_URL"):
        url, stop_redis = start_private_redis(VAR_DIR / "redis-test")
        env["REDIS_URL"] = url
        print(f"testrun: private Redis at {url}", flush=True)
    database = os.environ.get("DATABASE_URL") or "SQLite (set DATABASE_URL for PostgreSQL)"
    print(f"testrun: database {_redact(database)}", flush=True)
    proc = None
    try:
        proc = subprocess.Popen([sys.executable, "-m", "pytest", *args], env=env, cwd=str(BASE_DIR))
        # SIGTERM (e.g. a CI timeout): pass it on to pytest, then clean up below.
        signal.signal(signal.SIGTERM, lambda signum, frame: proc.terminate())
        try:
            return proc.wait()
        except KeyboardInterrupt:
            # The terminal's Ctrl-C reached pytest too; give it a moment to report and exit.
            try:
                return proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                return 130
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if stop_redis is not None:
            stop_redis()


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


if __name__ == "__main__":
    sys.exit(main())
