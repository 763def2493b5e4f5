"""Settings and the board, in real browsers against a live server.

1. A producer opens Settings: the budget form is theirs to edit, the film's runtime and style
   are shown but not editable (no field for them). They save a new budget; the page says so,
   the project has it, and the home page's activity says "Pablo set the budget to 250 USD".
   The API still refuses the producer a runtime change, naming the field.
2. A producer points ComfyUI at the studio's GPU box (a fake ComfyUI on loopback): host and
   a pasted API-format workflow, saved as the backend's settings; *Test connection* says what
   the box reported (version, GPU, queue), first that it lacks a node the workflow uses, then,
   with the node installed, that it works; a box that does not answer is reported as such.
3. The director locks a segment on the board: the row's status shows Locked (the artist who
   owns it sees that live), and the artist can no longer add a shot to it (checked through
   the API with the artist's own session). The director unlocks it and the artist can again.

Screenshots: ``test-artifacts/e2e/settings-NN-*.png`` and ``board-NN-*.png``.
"""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="e2e: the playwright package is not installed").expect

from apps.generation.models import Credential  # noqa: E402
from apps.production.models import Segment  # noqa: E402
from apps.production.services import segment_assign, segment_create, shot_create  # noqa: E402
from apps.projects.access import access_for  # noqa: E402
from apps.projects.models import Membership, Project, Role  # noqa: E402
from apps.projects.services import project_create  # noqa: E402
from tests.conftest import make_user  # noqa: E402
from tests.fakes.comfyui import FakeComfyUI  # noqa: E402

from .harness import BrowserApi, django_side  # noqa: E402
from .ui import LIVE, PASSWORD, UI, sign_in, tid  # noqa: E402

pytestmark = pytest.mark.e2e


def test_producer_saves_the_budget_and_has_no_runtime_to_edit(studio):
    with django_side():
        director = make_user(f"dir-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        producer = make_user(f"pablo-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        producer.first_name = "Pablo"
        producer.save()
        project = project_create(
            actor=director,
            title="The Lighthouse Keeper",
            fps=24,
            width=320,
            height=180,
            budget_amount=Decimal("100"),
            target_runtime_seconds=120,
            style_prompt="grainy 16mm, teal and amber",
        )
        Membership.objects.create(project=project, user=producer, role=Role.PRODUCER)

    page = studio.page("producer")
    sign_in(page, producer.username)
    page.goto(f"/projects/{project.pk}")
    tid(page, "nav-settings").click()
    expect(page).to_have_url(re.compile(rf"/projects/{project.pk}/settings$"))
    expect(tid(page, "budget-amount")).to_be_visible(timeout=UI)
    # The runtime and style are the director's: shown, with nothing to type into.
    expect(tid(page, "film-readonly")).to_be_visible()
    expect(tid(page, "film-runtime-value")).to_have_text("2:00")
    expect(tid(page, "film-style-value")).to_have_text("grainy 16mm, teal and amber")
    expect(tid(page, "film-runtime")).to_have_count(0)
    expect(tid(page, "film-style-prompt")).to_have_count(0)
    expect(tid(page, "film-save")).to_have_count(0)
    studio.snap(page, "settings-01-producer")

    tid(page, "budget-amount").fill("250")
    tid(page, "budget-save").click()
    expect(tid(page, "budget-saved")).to_be_visible(timeout=UI)
    expect(tid(page, "budget-now")).to_contain_text("250")
    expect(page.get_by_test_id("error-message")).to_have_count(0)
    studio.snap(page, "settings-02-budget-saved")
    project = Project.objects.get(pk=project.pk)
    assert project.budget_amount == Decimal("250.00")
    assert project.target_runtime_seconds == 120  # untouched

    # The feed says who set it to what.
    tid(page, "nav-home").click()
    expect(tid(page, "activity-feed")).to_contain_text("Pablo set the budget to 250 USD", timeout=UI)
    studio.snap(page, "settings-03-activity")

    # The API refuses the producer the director's field, and says which.
    api = BrowserApi(page)
    status, body = api.call("PATCH", f"/api/v1/projects/{project.pk}/", json={"target_runtime_seconds": 600})
    assert status == 403, body
    assert body["code"] == "permission_denied" and list(body["fields"]) == ["target_runtime_seconds"], body
    assert Project.objects.get(pk=project.pk).target_runtime_seconds == 120


WORKFLOW = {
    "3": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}", "steps": 4, "model": ["4", 0]}},
    "4": {"class_type": "UNETLoader", "inputs": {"unet_name": "wan.safetensors"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}"}},
    "9": {"class_type": "RIFE VFI", "inputs": {"frames": ["3", 0]}},
    "11": {"class_type": "SaveVideo", "inputs": {"video": ["9", 0], "filename_prefix": "montage/{{seed}}"}},
}


def test_producer_sets_up_comfyui_and_tests_the_connection(studio):
    with django_side():
        director = make_user(f"dir-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        producer = make_user(f"prod-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        project = project_create(actor=director, title="Night Ferry", fps=24, width=320, height=180)
        Membership.objects.create(project=project, user=producer, role=Role.PRODUCER)

    with FakeComfyUI() as box:
        page = studio.page("producer")
        sign_in(page, producer.username)
        page.goto(f"/projects/{project.pk}/settings")
        row = page.locator('[data-testid="credential-row"][data-backend="comfyui"]')
        expect(tid(row, "credential-host")).to_be_visible(timeout=UI)

        # A workflow that is not JSON is refused on the spot; nothing is stored.
        tid(row, "credential-host").fill(box.url)
        tid(row, "credential-workflow").fill('{"3": {"class_type": ')
        tid(row, "credential-config-save").click()
        expect(tid(row, "error-message")).to_contain_text("not valid JSON")
        assert not Credential.objects.filter(project=project, backend="comfyui").exists()

        tid(row, "credential-workflow").fill(json.dumps(WORKFLOW))
        tid(row, "credential-config-save").click()
        expect(tid(row, "credential-config-saved")).to_be_visible(timeout=UI)
        stored = Credential.objects.get(project=project, backend="comfyui").config
        assert stored["host"] == box.url and stored["workflow"] == WORKFLOW, stored

        # The box answers, but lacks a node the workflow uses: the test says which.
        tid(row, "credential-test").click()
        result = tid(row, "credential-test-result")
        expect(result).to_contain_text("RIFE VFI", timeout=UI)
        expect(result).to_have_attribute("data-ok", "false")
        expect(result).to_contain_text(f"ComfyUI {box.version}")
        expect(result).to_contain_text("RTX 4090")

        # The node is installed on the box: now the settings work.
        box.nodes.add("RIFE VFI")
        tid(row, "credential-test").click()
        expect(result).to_have_attribute("data-ok", "true", timeout=UI)
        expect(result).to_contain_text(f"ComfyUI {box.version}")
        expect(result).not_to_contain_text("RIFE VFI")
        assert box.count("GET", "/system_stats") == 2
        studio.snap(page, "settings-04-comfyui-tested")
        gone = box.url

    # The box is switched off: the test says nothing answered.
    tid(row, "credential-test").click()
    expect(result).to_have_attribute("data-ok", "false", timeout=UI)
    expect(result).to_contain_text("No answer from ComfyUI")
    expect(result).to_contain_text(gone.split("://", 1)[1])
    studio.snap(page, "settings-05-comfyui-unreachable")


def test_director_locks_a_segment_on_the_board_and_unlocks_it(studio):
    with django_side():
        director = make_user(f"dir-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        artist = make_user(f"ana-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        project = project_create(actor=director, title="Night Ferry", fps=24, width=320, height=180)
        Membership.objects.create(project=project, user=artist, role=Role.ARTIST)
        access = access_for(user=director, project=project)
        cold_open = segment_create(access=access, title="Cold open")
        segment_create(access=access, title="Crossing")
        segment_assign(access=access, segment=cold_open, username=artist.username)
        shot_create(access=access, segment=cold_open, duration_frames=24, title="Harbour")
    board = f"/projects/{project.pk}/segments"

    # The artist watches the board (and will try to edit through the API).
    ana = studio.page("artist")
    sign_in(ana, artist.username)
    ana.goto(board)
    ana_row = ana.locator(f'[data-testid="segment-row"][data-segment-id="{cold_open.pk}"]')
    expect(ana_row).to_have_attribute("data-status", "claimed", timeout=UI)
    expect(tid(ana_row, "segment-lock")).to_have_count(0)  # not the artist's control
    ana.evaluate("() => { window.__noReload = true; }")
    ana_api = BrowserApi(ana)
    add_shot = f"/api/v1/segments/{cold_open.pk}/shots/"

    boss = studio.page("director")
    sign_in(boss, director.username)
    boss.goto(f"/projects/{project.pk}")
    tid(boss, "nav-board").click()
    expect(boss).to_have_url(re.compile(rf"{board}$"))
    row = boss.locator(f'[data-testid="segment-row"][data-segment-id="{cold_open.pk}"]')
    expect(row).to_have_attribute("data-status", "claimed", timeout=UI)
    # "Open" is a status; the link to the segment says what it does.
    expect(tid(row, "segment-open")).to_have_text("Work on it")
    studio.snap(boss, "board-01-before")

    tid(row, "segment-lock").click()
    expect(row).to_have_attribute("data-status", "locked", timeout=UI)
    expect(tid(row, "segment-status")).to_contain_text("Locked")
    expect(tid(row, "segment-unlock")).to_be_visible()
    studio.snap(boss, "board-02-locked")
    assert Segment.objects.get(pk=cold_open.pk).status == "locked"

    # The artist sees it locked without reloading, and cannot edit it any more.
    expect(ana_row).to_have_attribute("data-status", "locked", timeout=LIVE)
    expect(tid(ana_row, "segment-release")).to_have_count(0)
    assert ana.evaluate("() => window.__noReload === true"), "the artist's page reloaded"
    studio.snap(ana, "board-03-artist-sees-locked")
    status, body = ana_api.call("POST", add_shot, json={"title": "Gulls", "duration_frames": 24})
    assert status == 409 and body["code"] == "segment_locked", body
    assert not cold_open.shots.filter(title="Gulls").exists()

    tid(row, "segment-unlock").click()
    expect(row).to_have_attribute("data-status", "claimed", timeout=UI)
    expect(tid(row, "segment-lock")).to_be_visible()
    expect(ana_row).to_have_attribute("data-status", "claimed", timeout=LIVE)
    studio.snap(boss, "board-04-unlocked")
    status, body = ana_api.call("POST", add_shot, json={"title": "Gulls", "duration_frames": 24})
    assert status == 201, body
    assert cold_open.shots.filter(title="Gulls").exists()
