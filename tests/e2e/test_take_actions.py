"""Iterating on a take from its card, in a real browser against the live server and worker.

An artist owns a segment whose shot has one ready 320×180 take (ingested here). In the
workspace she opens the take card's "Make more from this take" menu and clicks *Upscale*:
the generate panel opens prefilled (the ``local-upscale`` backend, ×2, the take shown as the
parent), she generates, and the worker's new take appears on the page, ready — twice as
wide and as high through the API, made from take 1. She then deletes that new take from its
card (after the confirmation) and it is gone from the page and the API; the original take,
which the director had approved meanwhile, offers no delete at all.

Screenshots: ``test-artifacts/e2e/take-actions-NN-*.png``.
"""

from __future__ import annotations

import re
import uuid

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="e2e: the playwright package is not installed").expect

from apps.production.models import Take  # noqa: E402
from apps.production.services import segment_assign, segment_create, shot_create, take_approve  # noqa: E402
from apps.projects.access import access_for  # noqa: E402
from apps.projects.models import Membership, Role  # noqa: E402
from apps.projects.services import project_create  # noqa: E402
from tests.conftest import make_user  # noqa: E402

from .film import ingested_take  # noqa: E402
from .harness import BrowserApi, django_side, make_clip  # noqa: E402
from .ui import PASSWORD, UI, sign_in, tid  # noqa: E402

pytestmark = pytest.mark.e2e

GENERATE = 120_000  # ms: a local upscale job on the worker, then ingest of its result
SETTLED = re.compile(r"^(ready|failed)$")


def test_artist_upscales_a_take_from_its_card_and_deletes_the_result(studio, settings, tmp_path):
    settings.MEDIA_ROOT = str(studio.stack.workdir / "media")
    clip = make_clip(tmp_path / "lamp.mp4", seconds=1.0, size="320x180")
    with django_side():
        director = make_user(f"dir-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        artist = make_user(f"ana-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        project = project_create(actor=director, title="The Lighthouse Keeper", fps=24, width=320, height=180)
        Membership.objects.create(project=project, user=artist, role=Role.ARTIST)
        access = access_for(user=director, project=project)
        segment = segment_create(access=access, title="Night watch")
        segment_assign(access=access, segment=segment, username=artist.username)
        shot = shot_create(access=access, segment=segment, duration_frames=24, title="Lamp room", prompt="the lamp turns")
        source = ingested_take(shot, clip, author=artist, approved=False)
    assert (source.media.width, source.media.height) == (320, 180)

    page = studio.page("artist")
    sign_in(page, artist.username)
    page.goto(f"/projects/{project.pk}/segments/{segment.pk}")
    card = page.locator(f'[data-testid="take-card"][data-take-id="{source.pk}"]')
    expect(card).to_have_attribute("data-status", "ready", timeout=UI)
    studio.snap(page, "take-actions-01-workspace")

    # --- Upscale from the card: the panel opens prefilled, with the parent shown -----------------
    tid(card, "take-iterate").click()
    tid(card, "take-action-upscale").click()
    panel = tid(page, "generate-panel")
    expect(panel).to_be_visible(timeout=UI)
    expect(panel).to_have_attribute("data-kind", "upscale")
    expect(tid(panel, "generate-backend")).to_have_value("local-upscale")
    expect(tid(panel, "generate-scale")).to_have_value("2")
    chip = tid(panel, "generate-parent-chip")
    expect(chip).to_contain_text("Take 1")
    expect(chip).to_have_attribute("data-take-id", str(source.pk))
    expect(tid(panel, "generate-estimate")).to_contain_text("Estimated cost", timeout=UI)
    studio.snap(page, "take-actions-02-upscale-panel")
    tid(panel, "generate-submit").click()

    # --- the worker's take appears on the page, ready ----------------------------------------------
    new_card = page.locator(f'[data-testid="take-card"]:not([data-take-id="{source.pk}"])')
    expect(new_card).to_have_count(1, timeout=UI)
    expect(new_card).to_have_attribute("data-status", SETTLED, timeout=GENERATE)
    new_id = new_card.get_attribute("data-take-id")
    if new_card.get_attribute("data-status") != "ready":
        take = Take.objects.filter(pk=new_id).first()
        pytest.fail(f"the upscaled take failed: {take.error if take else 'not in the database'!r}")
    expect(new_card).to_contain_text("Upscale")
    expect(tid(new_card, "take-parent")).to_have_text("from take 1")
    studio.snap(page, "take-actions-03-upscaled")

    api = BrowserApi(page)
    _, made = api.call("GET", f"/api/v1/takes/{new_id}/", expect=200)
    assert (made["media"]["width"], made["media"]["height"]) == (640, 360), made["media"]
    assert made["kind"] == "upscale" and made["medium"] == "video"
    assert made["parent"] == str(source.pk)
    assert made["provenance"]["backend"] == "local-upscale"
    assert made["number"] == 2

    # --- the director picks take 1; the artist deletes the upscale -----------------------------------
    with django_side():
        take_approve(access=access, take=Take.objects.get(pk=source.pk))
    expect(card).to_have_attribute("data-review-state", "approved", timeout=UI)
    expect(tid(card, "take-delete")).to_have_count(0)  # the pick is never offered for deletion

    page.once("dialog", lambda dialog: dialog.accept())
    tid(new_card, "take-delete").click()
    expect(page.locator(f'[data-testid="take-card"][data-take-id="{new_id}"]')).to_have_count(0, timeout=UI)
    status, _ = api.call("GET", f"/api/v1/takes/{new_id}/")
    assert status == 404
    assert Take.objects.filter(pk=source.pk).exists()
    studio.snap(page, "take-actions-04-deleted")
