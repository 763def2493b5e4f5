"""Browser end-to-end fixtures: a live studio (server + worker) and Chromium via Playwright.

- ``live_stack`` (package): daphne + a Celery worker as subprocesses on the pytest process's
  database (see harness.py). Started once for the e2e tests, stopped after the last one.
- ``studio`` (function): committed data (``transactional_db``: every ORM write in the test is
  visible to the server at once; tables are flushed after the test), the live URL, and
  ``studio.page(name)`` — a fresh browser context (its own cookies) per person.
  ``studio.snap(page, step)`` saves ``test-artifacts/e2e/<step>.png``.

On failure every open page is screenshotted (``failure-<test>-<name>.png``) and the report
carries the tails of the server, worker and browser logs.

Skipped (never failed) when Playwright, Chromium or the built frontend is missing.

Playwright's sync API runs an asyncio loop in this thread, which makes Django refuse ORM
calls ("cannot call this from an async context"); ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set only
while the e2e browser is up (never for the server and worker). Services that publish
realtime events must run inside ``harness.django_side()`` for the events to be sent.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest

from studio.env import BASE_DIR

from .harness import ARTIFACTS, CHROMIUM_ARGS, LiveStack, chromium_executable, make_clip, tail

FRONTEND_INDEX = Path(os.environ.get("MONTAGE_E2E_FRONTEND_DIST") or BASE_DIR / "frontend" / "dist") / "index.html"


# --- prerequisites -----------------------------------------------------------------------------


def _missing_prerequisite() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "e2e: the playwright package is not installed (pip install -r requirements-dev.txt)"
    if chromium_executable() is None:
        return "e2e: Chromium not found (apt-get install chromium, or set MONTAGE_E2E_CHROMIUM)"
    if not FRONTEND_INDEX.exists():
        return f"e2e: the browser app is not built ({FRONTEND_INDEX} missing; run make frontend-build)"
    return None


@pytest.fixture(scope="package")
def e2e_workdir():
    reason = _missing_prerequisite()
    if reason:
        pytest.skip(reason)
    # Start from an empty artifacts folder: screenshots and logs are of this run only.
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="montage-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="package")
def browser(e2e_workdir):
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = sync_playwright().start()
    try:
        try:
            chromium = manager.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS, timeout=60_000)
        except PlaywrightError as exc:
            pytest.skip(f"e2e: Chromium ({chromium_executable()}) does not start: {str(exc).splitlines()[0]}")
        yield chromium
        chromium.close()
    finally:
        manager.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# --- database shared with the subprocesses -------------------------------------------------------


def _is_sqlite() -> bool:
    from django.db import connections

    return connections["default"].vendor == "sqlite"


@pytest.fixture(scope="package")
def e2e_db_name(e2e_workdir, django_db_setup, django_db_blocker) -> str:
    """PostgreSQL: pytest-django's test database itself. SQLite: the test database is in
    memory, which other processes cannot open, so each test copies it (migrated, empty) into
    a file and points this process's connection at that file (see ``e2e_db``)."""
    from django.db import connections

    with django_db_blocker.unblock():
        connection = connections["default"]
        if connection.vendor != "sqlite":
            return connection.settings_dict["NAME"]
        path = e2e_workdir / "e2e.sqlite3"
        _copy_sqlite(connection, path)
        return str(path)


def _copy_sqlite(connection, path: Path) -> None:
    connection.ensure_connection()
    target = sqlite3.connect(str(path))
    try:
        connection.connection.backup(target)
    finally:
        target.close()


@pytest.fixture
def e2e_db(transactional_db, e2e_db_name, browser):
    """Committed ORM writes in the database the live stack uses.

    Requests ``browser`` so that the connection is swapped with Playwright's loop already
    marked running, as it is in the test body (see harness.django_side)."""
    from django.db import connections

    if not _is_sqlite():
        yield e2e_db_name
        return
    original = connections["default"]
    _copy_sqlite(original, Path(e2e_db_name))  # reset to the empty migrated schema
    shared = original.__class__({**original.settings_dict, "NAME": e2e_db_name}, alias="default")
    connections["default"] = shared
    try:
        yield e2e_db_name
    finally:
        shared.close()
        connections["default"] = original  # the flush after the test then runs on the in-memory one


# --- the live stack ------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def live_stack(e2e_workdir, e2e_db_name, browser):
    stack = LiveStack(db_name=e2e_db_name, workdir=e2e_workdir)
    try:
        stack.start(timeout=90)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield stack
    stack.stop()
    _forget_broker_keys(stack)


def _forget_broker_keys(stack: LiveStack) -> None:
    prefix = stack.broker_prefix
    try:
        import redis
        from django.conf import settings

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()
    except Exception:  # pragma: no cover - cleanup only
        pass


@pytest.fixture(scope="package")
def clip_path(e2e_workdir) -> Path:
    """A real 2-second 320×240 24 fps H.264 clip with AAC audio."""
    return make_clip(e2e_workdir / "clip.mp4")


# --- per test ----------------------------------------------------------------------------------


class Studio:
    """The live studio as one test sees it."""

    def __init__(self, *, stack: LiveStack, browser, test_name: str) -> None:
        self.stack = stack
        self.url = stack.url
        self.browser = browser
        self.test_name = test_name
        self.contexts: dict[str, object] = {}
        self.pages: dict[str, object] = {}
        self.browser_logs: dict[str, list] = {}
        self.shots: list[Path] = []

    def page(self, name: str, *, timeout_ms: int = 15_000):
        """A new browser context (own cookies, own session) with one page."""
        context = self.browser.new_context(base_url=self.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(timeout_ms)
        context.set_default_navigation_timeout(30_000)
        page = context.new_page()
        log = self.browser_logs.setdefault(name, [])
        page.on(
            "console", lambda msg: log.append(f"console.{msg.type}: {msg.text}") if msg.type in ("error", "warning") else None
        )
        page.on("pageerror", lambda exc: log.append(f"pageerror: {exc}"))
        page.on("requestfailed", lambda req: log.append(f"requestfailed: {req.method} {req.url} {req.failure}"))
        # Failed responses are kept as objects: their bodies are read when the log is written.
        page.on("response", lambda resp: log.append(resp) if resp.status >= 400 else None)
        page.on("websocket", lambda ws: log.append(f"websocket opened: {ws.url}"))
        self.contexts[name] = context
        self.pages[name] = page
        return page

    def snap(self, page, step: str) -> Path:
        """Screenshot ``page`` to test-artifacts/e2e/<step>.png."""
        path = ARTIFACTS / f"{_safe(step)}.png"
        # From the top: a full-page shot of a scrolled page repeats sticky headers mid-page.
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path

    def snap_all(self, prefix: str) -> None:
        for name, page in self.pages.items():
            try:
                if not page.is_closed():
                    page.screenshot(path=str(ARTIFACTS / f"{_safe(prefix)}-{_safe(name)}.png"), full_page=True, timeout=5_000)
            except Exception:  # pragma: no cover - best effort on failure
                pass

    def failure_sections(self) -> list[tuple[str, str]]:
        sections = []
        for name, log in self.stack.logs.items():
            sections.append((f"e2e {name} log (tail; whole log: test-artifacts/e2e/{log.name})", tail(log, 120)))
        for name in self.browser_logs:
            lines = self.browser_log(name)
            if lines:
                sections.append((f"e2e browser log: {name}", "\n".join(lines[-80:])))
        for name, page in self.pages.items():
            try:
                if not page.is_closed():
                    sections.append((f"e2e page {name}", page.url))
            except Exception:  # pragma: no cover
                pass
        return sections

    def browser_log(self, name: str) -> list[str]:
        """Console errors, page errors, failed requests and HTTP errors (with the body of
        API answers) of one person's page."""
        lines = []
        for entry in self.browser_logs.get(name, []):
            if isinstance(entry, str):
                lines.append(entry)
                continue
            line = f"HTTP {entry.status}: {entry.request.method} {entry.url}"
            if "/api/" in entry.url:
                try:
                    line += f" -> {entry.text()[:400]}"
                except Exception:  # the body is gone once the page navigated away
                    pass
            lines.append(line)
        return lines

    def write_browser_logs(self) -> None:
        for name in self.browser_logs:
            lines = self.browser_log(name)
            (ARTIFACTS / f"{_safe(self.test_name)}-{_safe(name)}-browser.log").write_text("\n".join(lines) + "\n")

    def close(self) -> None:
        self.write_browser_logs()
        for context in self.contexts.values():
            try:
                context.close()
            except Exception:  # pragma: no cover
                pass


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120] or "page"


@pytest.fixture
def studio(request, e2e_db, live_stack, browser):
    live_stack.check_alive()
    s = Studio(stack=live_stack, browser=browser, test_name=request.node.name)
    request.node._e2e_studio = s
    try:
        yield s
    finally:
        s.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    s = getattr(item, "_e2e_studio", None)
    if s is not None and report.failed and report.when in ("setup", "call"):
        s.snap_all(f"failure-{item.name}")
        for title, text in s.failure_sections():
            report.sections.append((title, text))
    return report
