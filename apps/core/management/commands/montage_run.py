"""``python manage.py montage_run`` — the whole studio on one machine (what ``make run`` starts).

With no configuration: a private Redis (unless REDIS_URL is set), migrations, static files,
demo data, then the ASGI server, one Celery worker (all queues) and Celery beat as child
processes. Ctrl-C or SIGTERM stops every child and the private Redis; if any child dies,
everything is stopped and the command exits non-zero.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand, CommandError

from studio import keyfiles
from studio.embedded import popen_group, start_private_redis, stop_groups, wait_for_port
from studio.env import BASE_DIR, VAR_DIR

QUEUES = "default,media,generation,render"


class _Shutdown(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_shutdown(signum, frame):
    raise _Shutdown(signum)


class Command(BaseCommand):
    help = "Run Montage embedded: private Redis, migrate, collectstatic, seed_demo, ASGI server, Celery worker and beat."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"), help="Bind address (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")), help="HTTP port (default $PORT or 8000).")
        parser.add_argument("--server", choices=["daphne", "uvicorn"], default=os.environ.get("MONTAGE_ASGI_SERVER", "daphne"))
        parser.add_argument("--concurrency", type=int, default=2, help="Celery worker threads (default 2).")
        parser.add_argument("--no-seed", action="store_true", help="Skip seed_demo.")

    def handle(self, *args, **options):
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.stop_redis = None
        previous = {sig: signal.signal(sig, _raise_shutdown) for sig in (signal.SIGINT, signal.SIGTERM)}
        failure: str | None = None
        try:
            failure = self._run(options)
        except _Shutdown as stop:
            self.stdout.write(f"\nmontage_run: {stop} received, stopping…")
        finally:
            # A second Ctrl-C must not interrupt the cleanup half-way.
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if failure:
            raise CommandError(failure)
        self.stdout.write("montage_run: stopped.")

    # ------------------------------------------------------------------------------------------

    def _run(self, options) -> str | None:
        python = sys.executable
        manage = str(BASE_DIR / "manage.py")
        VAR_DIR.mkdir(parents=True, exist_ok=True)

        env = os.environ.copy()
        env.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings.local")
        env["PYTHONUNBUFFERED"] = "1"
        if not os.environ.get("ALLOWED_HOSTS"):
            env["ALLOWED_HOSTS"] = ",".join(_allowed_hosts(options["host"]))
        if options["host"] in ("0.0.0.0", "::", ""):
            self.stdout.write(
                "montage_run: listening on every address; other machines must use a name listed in "
                f"ALLOWED_HOSTS ({env.get('ALLOWED_HOSTS') or 'see studio/settings/base.py'})."
            )
        self._describe_keys()
        if not os.environ.get("REDIS_URL"):
            url, self.stop_redis = start_private_redis(VAR_DIR / "redis")
            env["REDIS_URL"] = url
            self.stdout.write(f"montage_run: private Redis at {url}")
        else:
            self.stdout.write(f"montage_run: using REDIS_URL={_redact(env['REDIS_URL'])}")

        steps = [["migrate", "--noinput"], ["collectstatic", "--noinput", "--verbosity", "0"]]
        if options["no_seed"]:
            pass
        elif "seed_demo" in get_commands():
            steps.append(["seed_demo"])
        else:
            self.stdout.write("montage_run: no seed_demo command yet; skipping demo data.")
        for step in steps:
            self.stdout.write(f"montage_run: manage.py {' '.join(step)}")
            result = subprocess.run([python, manage, *step], check=False, env=env, stdin=subprocess.DEVNULL)
            if result.returncode != 0:
                return f"manage.py {' '.join(step)} failed with exit code {result.returncode}"

        host, port = options["host"], options["port"]
        if options["server"] == "uvicorn":
            server = [python, "-m", "uvicorn", "--host", host, "--port", str(port), "studio.asgi:application"]
        else:
            server = [python, "-m", "daphne", "-b", host, "-p", str(port), "studio.asgi:application"]
        beat_schedule = VAR_DIR / "celerybeat-schedule"
        commands = {
            "web": server,
            "worker": [
                python, "-m", "celery", "-A", "studio", "worker",
                "-Q", QUEUES, "--pool=threads", f"--concurrency={options['concurrency']}",
                "--hostname=montage-embedded@%h", "--without-mingle", "--without-gossip", "-l", "INFO",
            ],
            "beat": [python, "-m", "celery", "-A", "studio", "beat", "-s", str(beat_schedule), "-l", "INFO"],
        }  # fmt: skip
        for name, command in commands.items():
            proc = popen_group(command, env=env, stdin=subprocess.DEVNULL, cwd=str(BASE_DIR))
            self.children.append((name, proc))

        web = self.children[0][1]
        if not wait_for_port(host, port, timeout=60, alive=lambda: web.poll() is None):
            died = self._dead_child()
            if died:
                return died
            return f"the ASGI server did not listen on {host}:{port} within 60 seconds"
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.stdout.write(self.style.SUCCESS(f"\nMontage is running at http://{shown}:{port}/  (Ctrl-C to stop)\n"))

        while True:
            died = self._dead_child()
            if died:
                return died
            time.sleep(0.5)

    def _describe_keys(self) -> None:
        if settings.DEBUG:
            self.stdout.write(
                self.style.WARNING(
                    "montage_run: DEBUG is on (make dev): errors show tracebacks and settings. "
                    "Never let other people reach this server; use `make run` for them."
                )
            )
        if not os.environ.get("SECRET_KEY"):
            self.stdout.write(f"montage_run: SECRET_KEY from {VAR_DIR / keyfiles.SECRET_KEY_FILE}")
        if not os.environ.get("MONTAGE_CREDENTIALS_KEY"):
            self.stdout.write(
                f"montage_run: provider keys are encrypted with {VAR_DIR / keyfiles.CREDENTIALS_KEY_FILE} "
                "(back it up: without it stored provider keys cannot be read)"
            )

    def _dead_child(self) -> str | None:
        for name, proc in self.children:
            code = proc.poll()
            if code is not None:
                return f"{name} exited unexpectedly with code {code}; stopped everything."
        return None

    def _stop_all(self) -> None:
        if self.children:
            self.stdout.write("montage_run: stopping " + ", ".join(name for name, _ in self.children) + "…")
            stop_groups([proc for _, proc in self.children], timeout=20)
        if self.stop_redis is not None:
            self.stop_redis()
            self.stop_redis = None


def _allowed_hosts(bind: str) -> list[str]:
    """Host names the studio answers to: localhost, and the address it binds to (on every
    address: this machine's name too)."""
    hosts = ["localhost", "127.0.0.1", "[::1]", "testserver"]
    if bind in ("0.0.0.0", "::", ""):
        name = socket.gethostname()
        extra = [name, f"{name}.local"] if name else []
    else:
        extra = [f"[{bind}]" if ":" in bind and not bind.startswith("[") else bind]
    return hosts + [h for h in extra if h and h not in hosts]


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
