"""What the browser tests share: test ids, signing in, and how long to wait.

Import it after ``pytest.importorskip("playwright.sync_api")`` (it needs Playwright)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

PASSWORD = "pw-Montage-42"

UI = 15_000  # ms: a click answered by the API
LIVE = 10_000  # ms: an event from another person arriving over the socket


def tid(scope, name: str):
    return scope.get_by_test_id(name)


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    tid(page, "login-username").fill(username)
    tid(page, "login-password").fill(password)
    tid(page, "login-submit").click()
    expect(page).not_to_have_url(re.compile(r"/login"), timeout=UI)
