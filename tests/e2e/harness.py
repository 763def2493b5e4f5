"""The live studio the browser tests drive: an ASGI server (daphne) and a Celery worker.

Both run as subprocesses with ``DJANGO_SETTINGS_MODULE=tests.e2e.e2e_settings`` against the
database the pytest process uses, so rows a test creates with the ORM are seen by the server
and what the server/worker write is seen by the test. Their output goes to log files under
``test-artifacts/e2e/`` when the stack stops (tails are attached to failure reports).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from studio.embedded import free_port, popen_group, stop_groups, wait_for_port
from studio.env import BASE_DIR

ARTIFACTS = BASE_DIR / "test-artifacts" / "e2e"
QUEUES = "default,media,generation,render"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium phones home at start-up, and the closed network refuses it.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_executable() -> str | None:
    """The Chromium to drive: $MONTAGE_E2E_CHROMIUM, else Debian's chromium on PATH."""
    explicit = os.environ.get("MONTAGE_E2E_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def tail(path: Path, lines: int = 80) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} not written)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class LiveStack:
    """A running server + worker. ``url`` is the server's base URL (no trailing slash)."""

    db_name: str
    workdir: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    url: str = ""
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    broker_prefix: str = field(default_factory=lambda: f"montage-e2e-{uuid.uuid4().hex[:10]}")

    def _env(self, port: int) -> dict[str, str]:
        from django.conf import settings

        env = os.environ.copy()
        prefix = settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("prefix", "")
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "tests.e2e.e2e_settings",
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(BASE_DIR), env.get("PYTHONPATH", "")])),
                "MONTAGE_E2E_DB_NAME": self.db_name,
                "MONTAGE_E2E_PREFIX": self.broker_prefix,
                "MONTAGE_E2E_STATIC_ROOT": str(self.workdir / "static"),
                "MEDIA_ROOT": str(self.workdir / "media"),
                "MONTAGE_RENDER_CACHE_DIR": str(self.workdir / "render-cache"),
                "MONTAGE_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "REDIS_URL": settings.REDIS_URL,
                "CELERY_TASK_ALWAYS_EAGER": "false",
                "LOG_LEVEL": "INFO",
            }
        )
        if prefix:
            env["CHANNELS_PREFIX"] = prefix
        # Set in this process only for Playwright's sake (conftest); the server and worker
        # must keep Django's async-safety checks.
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        env.update(self.env_extra)
        return env

    def start(self, timeout: float = 60.0) -> LiveStack:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for sub in ("static", "media", "render-cache", "logs"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        port = free_port()
        env = self._env(port)
        python = sys.executable
        hostname = f"montage-e2e-{os.getpid()}@%h"
        commands = {
            "server": [python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "studio.asgi:application"],
            "worker": [
                python, "-m", "celery", "-A", "studio", "worker", "-Q", QUEUES, "--pool=threads", "-c", "2",
                f"--hostname={hostname}", "--without-mingle", "--without-gossip", "--without-heartbeat", "-l", "INFO",
            ],
        }  # fmt: skip
        for name, command in commands.items():
            # Written in the private folder (a parallel run may clear test-artifacts/),
            # copied to test-artifacts/e2e/ when the stack stops.
            log = self.workdir / "logs" / f"{name}.log"
            self.logs[name] = log
            fh = open(log, "wb")  # noqa: SIM115 - the child owns it; closed below
            try:
                self.procs[name] = popen_group(
                    command, env=env, cwd=str(BASE_DIR), stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT
                )
            finally:
                fh.close()
        self.url = f"http://127.0.0.1:{port}"
        try:
            self._wait_ready(port, timeout)
        except Exception:
            self.stop()
            raise
        return self

    def _wait_ready(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        server = self.procs["server"]
        if not wait_for_port("127.0.0.1", port, timeout=timeout, alive=lambda: server.poll() is None):
            raise RuntimeError(self.describe(f"the ASGI server did not listen on port {port}"))
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(self.describe("the ASGI server did not answer /healthz"))
            time.sleep(0.2)
        # The worker logs "<hostname> ready." once it consumes from its queues.
        while "ready." not in self.logs["worker"].read_text(errors="replace"):
            if self.procs["worker"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(self.describe("the Celery worker did not become ready"))
            time.sleep(0.2)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(self.describe(f"the {name} exited with code {proc.returncode}"))

    def describe(self, problem: str) -> str:
        parts = [f"e2e stack: {problem}."]
        for name, log in self.logs.items():
            parts.append(f"--- {name} log ({log}), last lines ---\n{tail(log)}")
        return "\n".join(parts)

    def stop(self) -> None:
        stop_groups(list(self.procs.values()), timeout=15)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for name, log in self.logs.items():
            try:
                shutil.copyfile(log, ARTIFACTS / f"{name}.log")
            except OSError:
                pass


@contextmanager
def django_side() -> Iterator[None]:
    """Run domain code (services) from the test while the browser is up.

    Between calls, Playwright's sync API marks its asyncio loop as running in this thread,
    so ``async_to_sync`` refuses to publish realtime events ("cannot use AsyncToSync in the
    same thread as an async event loop"; logged, not raised) and the browsers would never
    hear of changes the test makes. Inside this block the loop is hidden; make no Playwright
    calls here.

    Django keeps database connections in an ``asgiref.local.Local`` whose storage differs
    with and without a running loop, so the block also carries this test's connections
    across: the code inside uses the very same connection (and database) as the test.
    """
    from django.db import connections

    loop = asyncio._get_running_loop()
    if loop is None:
        yield
        return
    aliases = list(connections)
    current = {alias: connections[alias] for alias in aliases}
    asyncio._set_running_loop(None)
    try:
        previous = {alias: connections[alias] for alias in aliases}
        for alias, connection in current.items():
            connections[alias] = connection
        try:
            yield
        finally:
            for alias, connection in previous.items():
                connections[alias] = connection
    finally:
        asyncio._set_running_loop(loop)


def make_clip(path: Path, *, seconds: float = 2.0, size: str = "320x240", fps: int = 24) -> Path:
    """A real H.264 + AAC clip made with the ffmpeg bundled by imageio-ffmpeg."""
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    cmd = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc=size={size}:rate={fps}:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-shortest",
        "-movflags", "+faststart", str(path),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return path


class BrowserApi:
    """JSON API calls with a browser context's cookies (session + CSRF), for setup and checks
    that have no UI. ``page.request`` shares the context's cookie jar."""

    def __init__(self, page) -> None:
        self.page = page

    def _headers(self) -> dict[str, str]:
        cookies = {c["name"]: c["value"] for c in self.page.context.cookies()}
        headers = {"Accept": "application/json"}
        if "csrftoken" in cookies:
            headers["X-CSRFToken"] = cookies["csrftoken"]
        return headers

    def call(
        self,
        method: str,
        path: str,
        *,
        json=None,
        data: bytes | None = None,
        content_type: str | None = None,
        expect: int | None = None,
    ):
        headers = self._headers()
        kwargs = {}
        if json is not None:
            kwargs["data"] = json
        elif data is not None:
            kwargs["data"] = data
            headers["Content-Type"] = content_type or "application/octet-stream"
        response = self.page.request.fetch(path, method=method, headers=headers, **kwargs)
        body = None
        try:
            body = response.json()
        except Exception:
            body = response.text()
        if expect is not None:
            assert response.status == expect, f"{method} {path} answered {response.status}: {body}"
        return response.status, body

    def sign_in(self, username: str, password: str) -> dict:
        if not any(c["name"] == "csrftoken" for c in self.page.context.cookies()):
            self.page.request.get("/login")  # the SPA view sets the CSRF cookie
        _, body = self.call("POST", "/api/v1/auth/session/", json={"username": username, "password": password}, expect=200)
        return body

    def wait_for(self, path: str, predicate, *, timeout: float = 60.0, interval: float = 0.25):
        """GET ``path`` until ``predicate(body)`` is true; returns the body (polling an API
        with a deadline, for checks that have no UI)."""
        deadline = time.monotonic() + timeout
        body = None
        while time.monotonic() < deadline:
            status, body = self.call("GET", path)
            if status == 200 and predicate(body):
                return body
            time.sleep(interval)
        raise AssertionError(f"GET {path}: condition not met within {timeout:.0f}s; last answer: {body}")
