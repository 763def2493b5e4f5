"""A day at the studio, in two real browsers against a live server and a real worker.

The director has a project with one open segment and an artist invite link. The artist
opens the link, signs up from it, comes back to it and joins; claims the segment on the
board while the director watches the same board (the claim must show up there without a
reload); opens the workspace, adds a shot, uploads a real clip (ingested by the worker),
generates a title card with the built-in ``local-animatic`` backend (run by the worker),
and submits the generated take. The director opens the review page, picks the take and
approves it; the artist's workspace shows the approval without a reload.

Screenshots of every page visited: ``test-artifacts/e2e/day-NN-*.png``.
"""

from __future__ import annotations

import re
import uuid

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="e2e: the playwright package is not installed").expect

from apps.production.models import Segment, Take  # noqa: E402
from apps.production.services import segment_create  # noqa: E402
from apps.projects.access import access_for  # noqa: E402
from apps.projects.models import Membership  # noqa: E402
from apps.projects.services import invite_create, project_create  # noqa: E402
from tests.conftest import make_user  # noqa: E402

from .harness import django_side  # noqa: E402

pytestmark = pytest.mark.e2e

DIRECTOR_PASSWORD = "pw-Montage-42"
ARTIST_PASSWORD = "Kestrel-Reel-7731"  # passes Django's password validators

# How long the browser may take for each kind of thing (ms).
UI = 15_000  # a click answered by the API
LIVE = 10_000  # an event from another person arriving over the socket
INGEST = 60_000  # an upload ingested by the worker
GENERATE = 90_000  # a local generation job on the worker


def tid(scope, name: str):
    return scope.get_by_test_id(name)


SETTLED = re.compile(r"^(ready|failed)$")


def expect_take_ready(card, timeout: int) -> str:
    """Wait until the take card is no longer processing; fail at once (with the server's
    reason) if it failed. Returns the take id."""
    expect(card).to_have_attribute("data-status", SETTLED, timeout=timeout)
    take_id = card.get_attribute("data-take-id")
    if card.get_attribute("data-status") != "ready":
        take = Take.objects.filter(pk=take_id).first()
        pytest.fail(f"take {take_id} failed: {take.error if take else 'not in the database'!r}")
    return take_id


def sign_in(studio, page, username: str, password: str) -> None:
    page.goto("/login")
    tid(page, "login-username").fill(username)
    tid(page, "login-password").fill(password)
    tid(page, "login-submit").click()
    expect(page).not_to_have_url(re.compile(r"/login"), timeout=UI)


def test_artist_joins_claims_uploads_generates_and_director_approves(studio, clip_path):
    # --- the director's project, set up with the services --------------------------------------
    with django_side():
        director = make_user(f"dir-{uuid.uuid4().hex[:6]}", password=DIRECTOR_PASSWORD)
        project = project_create(actor=director, title="The Lighthouse Keeper", fps=24, width=640, height=360)
        access = access_for(user=director, project=project)
        segment = segment_create(access=access, title="Night watch")
        invite = invite_create(access=access, role="artist")
    artist_name = f"ana-{uuid.uuid4().hex[:6]}"
    home = f"/projects/{project.pk}"
    board = f"{home}/segments"

    # --- the director signs in and watches the board ----------------------------------------------
    boss = studio.page("director")
    sign_in(studio, boss, director.username, DIRECTOR_PASSWORD)
    boss.goto(board)
    boss_row = boss.locator(f'[data-testid="segment-row"][data-segment-id="{segment.pk}"]')
    expect(boss_row).to_be_visible()
    expect(boss_row).to_have_attribute("data-status", "open")
    expect(tid(boss_row, "segment-title")).to_contain_text("Night watch")
    studio.snap(boss, "day-01-director-board")

    # --- the artist opens the invite link, signs up from it, and joins ------------------------
    artist = studio.page("artist")
    artist.goto(f"/invite/{invite.token}")
    expect(tid(artist, "invite-project")).to_contain_text("The Lighthouse Keeper")
    studio.snap(artist, "day-02-invite-anonymous")
    tid(artist, "invite-signup").click()
    expect(artist).to_have_url(re.compile(r"/signup\?.*next="))
    studio.snap(artist, "day-03-signup")
    tid(artist, "signup-username").fill(artist_name)
    tid(artist, "signup-email").fill(f"{artist_name}@example.com")
    tid(artist, "signup-password").fill(ARTIST_PASSWORD)
    tid(artist, "signup-submit").click()
    # Signed in and sent back to the invite (?next=).
    expect(artist).to_have_url(re.compile(rf"/invite/{re.escape(invite.token)}$"), timeout=UI)
    expect(tid(artist, "invite-accept")).to_be_visible()
    studio.snap(artist, "day-04-invite-signed-in")
    tid(artist, "invite-accept").click()
    expect(artist).to_have_url(re.compile(rf"/projects/{project.pk}(/.*)?$"), timeout=UI)
    assert Membership.objects.filter(project=project, user__username=artist_name, role="artist").exists()
    # The project home: progress, and who is online (the director, on the board).
    expect(tid(artist, "progress-summary")).to_be_visible()
    expect(tid(artist, "presence-list")).to_contain_text(director.username, timeout=LIVE)
    studio.snap(artist, "day-05-artist-home")

    # --- the artist claims the segment on the board; the director sees it live ------------------
    tid(artist, "nav-board").click()
    expect(artist).to_have_url(re.compile(rf"{board}$"))
    row = artist.locator(f'[data-testid="segment-row"][data-segment-id="{segment.pk}"]')
    expect(row).to_have_attribute("data-status", "open")
    studio.snap(artist, "day-06-artist-board")
    tid(row, "segment-claim").click()
    expect(row).to_have_attribute("data-status", "claimed", timeout=UI)
    expect(tid(row, "segment-owner")).to_contain_text(artist_name)
    expect(tid(row, "segment-release")).to_be_visible()
    studio.snap(artist, "day-07-artist-claimed")

    # No reload on the director's side: the claim arrives over the project socket.
    expect(tid(boss_row, "segment-owner")).to_contain_text(artist_name, timeout=LIVE)
    expect(boss_row).to_have_attribute("data-status", "claimed", timeout=LIVE)
    studio.snap(boss, "day-08-director-sees-claim")
    assert Segment.objects.get(pk=segment.pk).owner.username == artist_name

    # --- the workspace: a shot, an uploaded take --------------------------------------------------
    tid(row, "segment-open").click()
    expect(artist).to_have_url(re.compile(rf"{board}/{segment.pk}$"))
    tid(artist, "shot-add").click()
    tid(artist, "shot-title").fill("Lamp room")
    tid(artist, "shot-prompt").fill("the keeper lights the lamp, storm outside")
    tid(artist, "shot-duration").fill("48")
    tid(artist, "shot-save").click()
    card = tid(artist, "shot-card")
    expect(card).to_have_count(1, timeout=UI)
    shot_id = card.get_attribute("data-shot-id")
    assert shot_id, "shot-card has no data-shot-id"
    studio.snap(artist, "day-09-workspace-shot")

    tid(card, "take-upload-input").set_input_files(str(clip_path))
    uploaded = tid(card, "take-card")
    expect(uploaded).to_have_count(1, timeout=UI)
    uploaded_id = expect_take_ready(uploaded, INGEST)
    assert Take.objects.get(pk=uploaded_id).status == "ready"
    studio.snap(artist, "day-10-uploaded-take-ready")

    # --- generate a title card with the built-in backend -----------------------------------------
    tid(card, "generate-open").click()
    tid(artist, "generate-backend").select_option("local-animatic")
    tid(artist, "generate-model").select_option("title-card")
    tid(artist, "generate-prompt").fill("Night watch")
    tid(artist, "generate-duration").fill("48")
    expect(tid(artist, "generate-estimate")).to_be_visible()
    studio.snap(artist, "day-11-generate-dialog")
    tid(artist, "generate-submit").click()

    generated = card.locator(f'[data-testid="take-card"]:not([data-take-id="{uploaded_id}"])')
    expect(generated).to_have_count(1, timeout=GENERATE)
    generated_id = expect_take_ready(generated, GENERATE)
    take = Take.objects.get(pk=generated_id)
    assert (take.status, take.source, str(take.shot_id)) == ("ready", "generation", shot_id)
    studio.snap(artist, "day-12-generated-take-ready")

    tid(generated, "take-submit").click()
    expect(generated).to_have_attribute("data-review-state", "submitted", timeout=UI)
    studio.snap(artist, "day-13-submitted")

    # --- the director reviews and approves; the artist sees it live -------------------------------
    tid(boss, "nav-review").click()
    expect(boss).to_have_url(re.compile(rf"{home}/review$"))
    item = boss.locator(f'[data-testid="review-item"][data-take-id="{generated_id}"]')
    expect(item).to_be_visible(timeout=UI)
    studio.snap(boss, "day-14-review-queue")
    item.click()
    expect(tid(boss, "review-player")).to_be_visible()
    tid(boss, "review-approve").click()

    expect(generated).to_have_attribute("data-review-state", "approved", timeout=LIVE)
    studio.snap(boss, "day-15-review-approved")
    studio.snap(artist, "day-16-artist-sees-approval")
    take.refresh_from_db()
    assert take.review_state == "approved"
    assert take.reviewed_by_id == director.pk
