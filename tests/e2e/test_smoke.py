"""The e2e harness itself: live server + real worker + Chromium, on the tests' database.

Independent of the screens (only the SPA mount is checked), so it keeps working while the
browser app changes: it proves the pieces the full browser flows rely on — the SPA is
served, anonymous API calls get 401, a browser session signs in, the project socket says
hello, an uploaded clip is ingested by the *worker* (not eagerly) and the resulting
``take.ready`` event reaches the browser through the shared channel layer.
"""

from __future__ import annotations

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="e2e: the playwright package is not installed").expect

from apps.production.services import segment_create, shot_create  # noqa: E402
from apps.projects.access import access_for  # noqa: E402
from apps.projects.services import project_create  # noqa: E402
from tests.conftest import make_user  # noqa: E402

from .harness import BrowserApi, django_side  # noqa: E402

pytestmark = pytest.mark.e2e

PASSWORD = "pw-Montage-42"


def test_live_stack_serves_the_app_and_runs_tasks_on_the_worker(studio, clip_path):
    with django_side():
        director = make_user("e2e-smoke-director", password=PASSWORD)
        project = project_create(actor=director, title="Smoke Film", fps=24, width=320, height=240)
        access = access_for(user=director, project=project)
        segment = segment_create(access=access, title="Opening")
        shot = shot_create(access=access, segment=segment, duration_frames=48, title="Establishing")

    page = studio.page("visitor")
    response = page.goto("/login")
    assert response is not None and response.status == 200
    expect(page).to_have_title("Montage")
    # The SPA mounted: React rendered something into #root.
    expect(page.locator("#root > *").first).to_be_visible()
    studio.snap(page, "smoke-01-login")

    # Anonymous API calls are refused — asked through the page, as the app does.
    status = page.evaluate("() => fetch('/api/v1/me/', {credentials: 'same-origin'}).then(r => r.status)")
    assert status == 401

    api = BrowserApi(page)
    me = api.sign_in(director.username, PASSWORD)
    assert me["username"] == director.username
    assert page.evaluate("() => fetch('/api/v1/me/').then(r => r.status)") == 200

    # The project socket (session cookie + Origin) says hello.
    page.evaluate(
        """(projectId) => {
            window.__events = [];
            const ws = new WebSocket(`ws://${location.host}/ws/projects/${projectId}/`);
            ws.onmessage = (e) => window.__events.push(JSON.parse(e.data));
            window.__ws = ws;
        }""",
        str(project.pk),
    )
    page.wait_for_function("() => window.__events.some(e => e.type === 'hello')", timeout=15_000)

    # Events of changes the test itself makes reach the browser too.
    with django_side():
        later = segment_create(access=access, title="Later")
    page.wait_for_function(
        "(id) => window.__events.some(e => e.type === 'segment.created' && e.data.id === id)", arg=str(later.pk), timeout=15_000
    )

    # Upload a real clip; the worker (CELERY_TASK_ALWAYS_EAGER is off there) ingests it.
    data = clip_path.read_bytes()
    _, upload = api.call(
        "POST", "/api/v1/uploads/",
        json={"project": str(project.pk), "filename": "clip.mp4", "size": len(data), "content_type": "video/mp4"}, expect=201,
    )
    assert upload["mode"] == "local", upload
    api.call("PUT", upload["url"], data=data, content_type="video/mp4", expect=200)
    api.call("POST", f"/api/v1/uploads/{upload['id']}/complete/", json={}, expect=200)
    _, take = api.call("POST", f"/api/v1/shots/{shot.pk}/takes/", json={"upload": upload["id"]}, expect=201)

    take = api.wait_for(f"/api/v1/takes/{take['id']}/", lambda t: t["status"] != "processing", timeout=60)
    assert take["status"] == "ready", take
    # ... and the worker's event reached this browser through the channel layer.
    page.wait_for_function(
        "(id) => window.__events.some(e => e.type === 'take.ready' && e.data && e.data.id === id)", arg=take["id"], timeout=15_000
    )
    assert "Task apps.media.tasks" in "\n".join(
        line for line in studio.stack.logs["worker"].read_text(errors="replace").splitlines() if "received" in line
    ), "the ingest did not run on the worker"

    page.goto("/projects")
    expect(page.locator("#root > *").first).to_be_visible()
    studio.snap(page, "smoke-02-projects")
