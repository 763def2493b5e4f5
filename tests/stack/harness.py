"""Montage as ``make run`` runs it: daphne + a Celery worker with ``studio.settings.local``.

What ``make run`` does that the rest of the test suite does not, and that this stack keeps:

- the settings module of ``make run`` (``studio.settings.local``), not the test settings;
- tasks go to a real Celery worker (thread pool, the same queues as ``montage_run``);
- the media root is given as a *relative* path (``var/media``) and the processes run in a
  working directory that is not the repository, so a storage key is never the same thing
  as a path relative to the current directory (the bug of issue 10, item 1);
- the database is a SQLite file that the server and worker share (``make run``'s default),
  migrated with ``manage.py migrate`` - whatever DATABASE_URL the test run itself uses;
- a private Redis (``studio.embedded``), so parallel runs never take each other's tasks.

Everything is driven through the public HTTP API with a token, as a script would.
Logs of the server and worker are kept in the working directory (tails go into failure
messages) and copied to ``test-artifacts/stack/`` when the stack stops.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.embedded import free_port, popen_group, start_private_redis, stop_groups, wait_for_port
from studio.env import BASE_DIR

ARTIFACTS = BASE_DIR / "test-artifacts" / "stack"
QUEUES = "default,media,generation,render"
SETTINGS = "studio.settings.local"  # the module `make run` (manage.py montage_run) uses


def tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} not written)"


@dataclass
class MakeRunStack:
    """A running server + worker in ``workdir`` (its current directory)."""

    workdir: Path
    url: str = ""
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    _stop_redis: Any = None

    def env(self, port: int, redis_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "MONTAGE_", "AWS_"))}
        for name in ("DATABASE_URL", "REDIS_URL", "CHANNELS_PREFIX", "MEDIA_ROOT", "TEST_DATABASE_NAME", "STATIC_ROOT"):
            env.pop(name, None)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": SETTINGS,
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(BASE_DIR), os.environ.get("PYTHONPATH", "")])),
                "DATABASE_URL": f"sqlite:///{self.workdir / 'db.sqlite3'}",
                "REDIS_URL": redis_url,
                "CHANNELS_PREFIX": f"montage-stack-{uuid.uuid4().hex[:10]}",
                "MEDIA_ROOT": "var/media",  # relative, as a user may write it; the cwd is not the repository
                # make run's own state (its generated SECRET_KEY and credentials key) in this stack's var/
                "MONTAGE_VAR_DIR": str(self.workdir / "var"),
                "MONTAGE_RENDER_CACHE_DIR": "var/render-cache",
                "MONTAGE_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "LOG_LEVEL": "INFO",
            }
        )
        return env

    def start(self, timeout: float = 90.0) -> MakeRunStack:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (self.workdir / "var").mkdir(parents=True, exist_ok=True)
        redis_url, self._stop_redis = start_private_redis(self.workdir / "redis")
        port = free_port()
        env = self.env(port, redis_url)
        python = sys.executable
        try:
            migrate = subprocess.run(
                [python, str(BASE_DIR / "manage.py"), "migrate", "--noinput", "-v", "0"],
                env=env, cwd=str(self.workdir), capture_output=True, timeout=240, check=False,
            )  # fmt: skip
            if migrate.returncode != 0:
                raise RuntimeError(f"make-run stack: migrate failed:\n{migrate.stderr.decode(errors='replace')[-3000:]}")
            commands = {
                "server": [python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "studio.asgi:application"],
                "worker": [
                    python, "-m", "celery", "-A", "studio", "worker", "-Q", QUEUES, "--pool=threads", "-c", "3",
                    f"--hostname=montage-stack-{os.getpid()}@%h", "--without-mingle", "--without-gossip",
                    "--without-heartbeat", "-l", "INFO",
                ],
            }  # fmt: skip
            for name, command in commands.items():
                log = self.workdir / f"{name}.log"
                self.logs[name] = log
                with open(log, "wb") as fh:
                    self.procs[name] = popen_group(
                        command, env=env, cwd=str(self.workdir), stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT
                    )
            self.url = f"http://127.0.0.1:{port}"
            self._wait_ready(port, timeout)
        except Exception:
            self.stop()
            raise
        return self

    def _wait_ready(self, port: int, timeout: float) -> None:
        import requests

        deadline = time.monotonic() + timeout
        server = self.procs["server"]
        if not wait_for_port("127.0.0.1", port, timeout=timeout, alive=lambda: server.poll() is None):
            raise RuntimeError(self.describe(f"the server did not listen on port {port}"))
        while True:
            try:
                if requests.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(self.describe("the server did not answer /healthz"))
            time.sleep(0.2)
        while "ready." not in self.logs["worker"].read_text(errors="replace"):
            if self.procs["worker"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(self.describe("the Celery worker did not become ready"))
            time.sleep(0.2)

    def describe(self, problem: str) -> str:
        parts = [f"make-run stack: {problem}."]
        for name, log in self.logs.items():
            parts.append(f"--- {name} log, last lines ---\n{tail(log)}")
        return "\n".join(parts)

    def stop(self) -> None:
        stop_groups(list(self.procs.values()), timeout=8)
        if self._stop_redis is not None:
            self._stop_redis()
            self._stop_redis = None
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for name, log in self.logs.items():
            try:
                shutil.copyfile(log, ARTIFACTS / f"{name}.log")
            except OSError:
                pass


class Api:
    """The public API with a token, as a script uses it."""

    def __init__(self, stack: MakeRunStack) -> None:
        import requests

        self.stack = stack
        self.session = requests.Session()

    def call(self, method: str, path: str, *, expect: int | tuple[int, ...] | None = None, **kwargs) -> Any:
        url = path if path.startswith("http") else f"{self.stack.url}{path}"
        response = self.session.request(method, url, timeout=60, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        wanted = (expect,) if isinstance(expect, int) else expect
        if wanted is not None and response.status_code not in wanted:
            raise AssertionError(self.stack.describe(f"{method} {path} answered {response.status_code}: {str(body)[:800]}"))
        return body

    def sign_up(self, username: str, password: str) -> None:
        self.call("POST", "/api/v1/auth/register/", json={"username": username, "password": password}, expect=201)
        token = self.call("POST", "/api/v1/auth/token/", json={"username": username, "password": password}, expect=200)["token"]
        self.session.headers["Authorization"] = f"Token {token}"

    def upload(self, project_id: str, name: str, data: bytes, content_type: str) -> dict:
        created = self.call(
            "POST", "/api/v1/uploads/",
            json={"project": project_id, "filename": name, "size": len(data), "content_type": content_type}, expect=201,
        )  # fmt: skip
        self.call(created["method"], created["url"], data=data, headers=created.get("headers") or {}, expect=(200, 201, 204))
        return self.call("POST", f"/api/v1/uploads/{created['id']}/complete/", json={}, expect=200)

    def wait_for(self, path: str, predicate, *, timeout: float = 60.0, interval: float = 0.2, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        body = None
        while time.monotonic() < deadline:
            body = self.call("GET", path, expect=200)
            if predicate(body):
                return body
            for name, proc in self.stack.procs.items():
                if proc.poll() is not None:
                    raise AssertionError(self.stack.describe(f"the {name} exited with code {proc.returncode}"))
            time.sleep(interval)
        raise AssertionError(self.stack.describe(f"{what or path}: not done within {timeout:.0f}s; last answer: {str(body)[:1500]}"))

    def generate(self, shot: str, **body) -> dict:
        return self.call("POST", f"/api/v1/shots/{shot}/generate/", json=body, expect=202)

    def finished_takes(self, answer: dict, *, timeout: float = 90.0) -> list[dict]:
        """Wait for the job of a generate answer to end and its takes to be ready (ingested)."""
        job = answer["job"]
        done = self.wait_for(
            f"/api/v1/generation-jobs/{job['id']}/", lambda j: j["state"] in ("succeeded", "failed", "cancelled"),
            timeout=timeout, what=f"job {job['id']} ({job['backend']} {job['kind']})",
        )
        assert done["state"] == "succeeded", self.stack.describe(f"job failed: {done.get('error')}")
        takes = []
        for take in answer["takes"]:
            takes.append(
                self.wait_for(
                    f"/api/v1/takes/{take['id']}/", lambda t: t["status"] in ("ready", "failed"), timeout=timeout,
                    what=f"take {take['number']}",
                )
            )
        assert all(t["status"] == "ready" for t in takes), [t["error"] for t in takes]
        return takes
