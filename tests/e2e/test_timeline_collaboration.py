"""The shared timeline of the whole film, edited by two people at once in real browsers (issue #6).

A small film is set up with the services and the ORM: the director's project with three
segments — "Dusk" (owned by the artist: two shots), "Storm" and "Dawn" (one shot each) — and
every shot has an approved take made from a tiny ffmpeg clip, ingested (thumbnail, proxy)
into the live stack's media folder so the page shows thumbnails and the cut player plays.

- Two editors: the director reorders segments (the move buttons, then a real mouse drag)
  while the artist trims shots of their own segment (the trim inputs); both pages follow
  both edits without reloading. The artist's presence shows on the block they selected, on
  the director's page.
- A stale edit: the artist's project socket is held back (``SocketValve``) so their page
  keeps an old revision. (a) Their trim, sent on that stale revision, is refused (409) and
  re-applied on top of the director's reorder: both are kept. (b) After the director
  approves a shorter pick, the artist's stale trim past its end cannot be re-applied: the
  ``timeline-notice`` says so and nothing else is lost (API checked).
- Undo/redo of one's own trim with the buttons and Ctrl+Z / Ctrl+Shift+Z, each round-trip
  checked through the API, with the director's reorder in between left alone.

Screenshots: ``test-artifacts/e2e/timeline-NN-*.png``.
"""

from __future__ import annotations

import re
import uuid

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="e2e: the playwright package is not installed").expect

from django.utils import timezone  # noqa: E402

from apps.media.models import MediaStatus  # noqa: E402
from apps.media.services import media_create_from_file, media_ingest  # noqa: E402
from apps.production.models import ReviewState, Take, TakeSource, TakeStatus  # noqa: E402
from apps.production.services import segment_assign, segment_create, shot_create, take_approve  # noqa: E402
from apps.projects.access import access_for  # noqa: E402
from apps.projects.models import Membership, Role  # noqa: E402
from apps.projects.services import project_create  # noqa: E402
from tests.conftest import make_user  # noqa: E402
from tests.rendering.conftest import make_clip  # noqa: E402

from .harness import BrowserApi, django_side  # noqa: E402
from .ui import LIVE, PASSWORD, UI, sign_in, tid  # noqa: E402

pytestmark = pytest.mark.e2e



class SocketValve:
    """Stands between a page and its project socket. Open, it passes everything both ways;
    held, what the server sends is kept back (the page then holds a stale timeline, as when
    an event is still on its way) until ``release`` delivers it in order."""

    def __init__(self, page) -> None:
        self.holding = False
        self.held: list[tuple[object, object]] = []
        page.route_web_socket(re.compile(r"/ws/projects/"), self._route)

    def _route(self, ws) -> None:
        server = ws.connect_to_server()

        def from_server(message) -> None:
            if self.holding:
                self.held.append((ws, message))
            else:
                ws.send(message)

        server.on_message(from_server)  # page → server is still forwarded as it is

    def hold(self) -> None:
        self.holding = True

    def release(self) -> None:
        self.holding = False
        held, self.held = self.held, []
        for ws, message in held:
            try:
                ws.send(message)
            except Exception:  # pragma: no cover - that socket closed meanwhile
                pass


class Film:
    """The project and its people, segments and shots (ids as strings)."""

    def __init__(self, **kw) -> None:
        self.__dict__.update(kw)

    @property
    def timeline_url(self) -> str:
        return f"/projects/{self.project.pk}/timeline"

    @property
    def api_path(self) -> str:
        return f"/api/v1/projects/{self.project.pk}/timeline/"


def ingested_take(shot, clip, *, author, reviewer=None, approved: bool = True) -> Take:
    """A ready take of ``shot`` holding ``clip``, ingested here (thumbnail, proxy) into the
    MEDIA_ROOT the live server reads."""
    project = shot.segment.project
    media = media_create_from_file(owner=author, project=project, path=str(clip), filename=clip.name, ingest=False)
    media_ingest(media_id=media.pk)
    media.refresh_from_db()
    assert media.status == MediaStatus.READY, media.error
    return Take.objects.create(
        shot=shot, number=Take.objects.filter(shot=shot).count() + 1, media=media, source=TakeSource.UPLOAD,
        author=author, status=TakeStatus.READY,
        review_state=ReviewState.APPROVED if approved else ReviewState.SUBMITTED,
        reviewed_by=reviewer if approved else None, reviewed_at=timezone.now() if approved else None,
    )  # fmt: skip


def make_film(studio, settings, tmp_path, *, short_take: bool = False) -> Film:
    settings.MEDIA_ROOT = str(studio.stack.workdir / "media")
    clips = {
        name: make_clip(tmp_path / f"{name}.mp4", color=color, seconds=seconds, size="320x180", tone=tone)
        for name, color, seconds, tone in [
            ("red", "red", 1.0, 440), ("green", "green", 1.0, 550), ("blue", "blue", 1.5, 330), ("yellow", "yellow", 1.0, 660),
        ]
    }  # fmt: skip
    with django_side():
        director = make_user(f"dir-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        artist = make_user(f"ana-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        project = project_create(actor=director, title="The Lighthouse Keeper", fps=24, width=320, height=180)
        Membership.objects.create(project=project, user=artist, role=Role.ARTIST)
        access = access_for(user=director, project=project)
        dusk = segment_create(access=access, title="Dusk")
        storm = segment_create(access=access, title="Storm")
        dawn = segment_create(access=access, title="Dawn")
        segment_assign(access=access, segment=dusk, username=artist.username)
        lamp = shot_create(access=access, segment=dusk, duration_frames=24, title="Lamp room")
        stairs = shot_create(access=access, segment=dusk, duration_frames=24, title="Stairs")
        waves = shot_create(access=access, segment=storm, duration_frames=36, title="Waves")
        harbour = shot_create(access=access, segment=dawn, duration_frames=24, title="Harbour")
        for shot, clip in [(lamp, clips["red"]), (stairs, clips["green"]), (waves, clips["blue"]), (harbour, clips["yellow"])]:
            ingested_take(shot, clip, author=artist, reviewer=director)
        short = None
        if short_take:  # half a second (12 frames): submitted now, approved by the test later
            clip = make_clip(tmp_path / "short.mp4", color="orange", seconds=0.5, size="320x180", tone=770)
            short = ingested_take(lamp, clip, author=artist, approved=False)
    return Film(
        director=director, artist=artist, project=project, access=access, short=short,
        dusk=str(dusk.pk), storm=str(storm.pk), dawn=str(dawn.pk),
        lamp=str(lamp.pk), stairs=str(stairs.pk), waves=str(waves.pk), harbour=str(harbour.pk),
    )  # fmt: skip


def open_timeline(studio, name: str, username: str, film: Film, *, valve: bool = False):
    page = studio.page(name)
    socket = SocketValve(page) if valve else None
    sign_in(page, username)
    page.goto(film.timeline_url)
    expect(tid(page, "timeline-page")).to_be_visible(timeout=UI)
    for seg in (film.dusk, film.storm, film.dawn):
        expect(tid(page, f"segment-block-{seg}")).to_be_visible(timeout=UI)
    page.evaluate("() => { window.__noReload = true; }")
    return page, socket


def assert_not_reloaded(page) -> None:
    assert page.evaluate("() => window.__noReload === true"), "the page reloaded"


def expect_order(page, film: Film, order: list[str], timeout: int = LIVE) -> None:
    """The segments' data-position attributes follow ``order`` (segment ids)."""
    for position, seg in enumerate(order):
        expect(tid(page, f"segment-block-{seg}")).to_have_attribute("data-position", str(position), timeout=timeout)


def expect_trim(page, shot: str, in_frame: int, out_frame: int, timeout: int = LIVE) -> None:
    block = tid(page, f"shot-block-{shot}")
    expect(block).to_have_attribute("data-in", str(in_frame), timeout=timeout)
    expect(block).to_have_attribute("data-out", str(out_frame), timeout=timeout)


def expect_revision(page, revision: int, timeout: int = LIVE) -> None:
    expect(tid(page, "timeline-page").locator(".page-head p").first).to_contain_text(
        re.compile(rf"revision {revision}(\D|$)"), timeout=timeout
    )


def set_trim(page, shot: str, edge: str, value: int) -> None:
    field = tid(page, f"trim-{edge}-{shot}")
    expect(field).to_be_enabled()
    field.fill(str(value))
    field.press("Enter")


def api_shots(timeline: dict) -> dict[str, dict]:
    return {shot["id"]: shot for seg in timeline["segments"] for shot in seg["shots"]}


def api_order(timeline: dict) -> list[str]:
    return [seg["id"] for seg in sorted(timeline["segments"], key=lambda s: s["position"])]


def api_trim(timeline: dict, shot: str) -> tuple[int, int]:
    s = api_shots(timeline)[shot]
    return s["in_frame"], s["out_frame"]


def watch_patches(page) -> list[int]:
    """HTTP statuses of the page's timeline PATCHes, in order."""
    statuses: list[int] = []
    page.on(
        "response",
        lambda r: statuses.append(r.status) if r.request.method == "PATCH" and r.url.endswith("/timeline/") else None,
    )
    return statuses


def segment_title(page, seg: str):
    return tid(page, f"segment-block-{seg}").locator(".tl-segment-title")


# --- 1. two people, one timeline ---------------------------------------------------------------


def test_director_reorders_while_artist_trims_and_both_see_both(studio, settings, tmp_path):
    film = make_film(studio, settings, tmp_path)
    boss, _ = open_timeline(studio, "director", film.director.username, film)
    ana, _ = open_timeline(studio, "artist", film.artist.username, film)
    boss_api = BrowserApi(boss)
    start = [film.dusk, film.storm, film.dawn]
    expect_order(boss, film, start)
    expect_order(ana, film, start)
    expect(tid(boss, f"segment-owner-{film.dusk}")).to_have_text(film.artist.username)
    # Only the director gets the reorder buttons.
    expect(tid(boss, f"segment-move-right-{film.dusk}")).to_be_visible()
    expect(tid(ana, f"segment-move-right-{film.dusk}")).to_have_count(0)

    # --- presence: the artist selects their segment; the director sees them on it -----------
    artist_on = lambda seg: tid(boss, f"presence-{seg}").locator(f'[data-username="{film.artist.username}"]')  # noqa: E731
    expect(artist_on(film.dusk)).to_have_count(0)
    segment_title(ana, film.dusk).click()
    expect(tid(ana, f"segment-block-{film.dusk}")).to_have_class(re.compile(r"\bselected\b"))
    expect(artist_on(film.dusk)).to_have_count(1, timeout=LIVE)
    expect(artist_on(film.storm)).to_have_count(0)
    expect(tid(boss, "timeline-presence").locator(f'[data-username="{film.artist.username}"]')).to_contain_text("Dusk")
    studio.snap(boss, "timeline-01-director-sees-artist-on-dusk")

    # Both open Dusk's shots.
    for page in (boss, ana):
        tid(page, f"segment-expand-{film.dusk}").click()
        expect(tid(page, f"segment-shots-{film.dusk}")).to_be_visible()
        expect_trim(page, film.lamp, 0, 24, timeout=UI)
        expect_trim(page, film.stairs, 0, 24, timeout=UI)
    # The director is not the only editor of Dusk, but the artist cannot edit Storm's shots.
    tid(ana, f"segment-expand-{film.storm}").click()
    expect(tid(ana, f"trim-out-{film.waves}")).to_be_disabled()
    tid(ana, f"segment-expand-{film.storm}").click()
    expect(tid(ana, f"segment-shots-{film.storm}")).to_have_count(0)

    # --- the director moves Dusk later (button); the artist trims the lamp room ---------------
    tid(boss, f"segment-move-right-{film.dusk}").click()
    order = [film.storm, film.dusk, film.dawn]
    expect_order(boss, film, order, timeout=UI)
    expect_order(ana, film, order)  # live, over the socket
    set_trim(ana, film.lamp, "out", 18)
    for page in (boss, ana):
        expect_trim(page, film.lamp, 0, 18)
        expect_order(page, film, order)
    timeline = boss_api.wait_for(film.api_path, lambda t: api_order(t) == order and api_trim(t, film.lamp) == (0, 18))
    for page in (boss, ana):
        expect_revision(page, timeline["revision"])
        expect(tid(page, "timeline-notice")).to_have_count(0)

    # --- the artist trims the stairs' in point; the director sees it ---------------------------
    set_trim(ana, film.stairs, "in", 4)
    for page in (boss, ana):
        expect_trim(page, film.stairs, 4, 24)
    # The segment got 4 frames shorter: 18 + 20 = 38 frames, after Storm's 36.
    for page in (boss, ana):
        expect(tid(page, f"segment-block-{film.dusk}")).to_have_attribute("data-start", "36")
        expect(tid(page, f"segment-block-{film.dusk}")).to_have_attribute("data-end", "74")
    studio.snap(ana, "timeline-02-artist-sees-reorder-and-trims")

    # --- the director drags Dawn to the front with the mouse (HTML5 drag and drop) ------------
    grip = segment_title(boss, film.dawn).bounding_box()
    first = tid(boss, f"segment-block-{film.storm}").bounding_box()
    assert grip and first
    boss.mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2)
    boss.mouse.down()
    boss.mouse.move(first["x"] + first["width"] / 2, first["y"] + first["height"] / 2, steps=8)
    boss.mouse.move(first["x"] + 6, first["y"] + first["height"] / 2, steps=8)
    boss.mouse.up()
    order = [film.dawn, film.storm, film.dusk]
    for page in (boss, ana):
        expect_order(page, film, order)
    timeline = boss_api.wait_for(film.api_path, lambda t: api_order(t) == order)
    assert api_trim(timeline, film.lamp) == (0, 18) and api_trim(timeline, film.stairs) == (4, 24), timeline
    studio.snap(boss, "timeline-03-director-dragged-dawn-first")

    # --- the director looks at a shot of the expanded segment in the cut player ----------------
    stairs = tid(boss, f"shot-block-{film.stairs}")
    expect(stairs).to_have_attribute("data-start", str(24 + 36 + 18))
    stairs.click()
    expect(tid(boss, "timeline-playhead")).to_have_attribute("data-frame", str(24 + 36 + 18))
    expect(tid(boss, "cut-player")).to_have_attribute("data-frame", str(24 + 36 + 18), timeout=UI)
    expect(tid(boss, "cut-player-now")).to_contain_text("Stairs", timeout=UI)
    expect(tid(boss, "cut-player-slate")).to_have_count(0)  # a proxy plays, no slate
    expect(tid(boss, f"shot-row-{film.stairs}")).to_have_class(re.compile(r"\bselected\b"))
    studio.snap(boss, "timeline-04-expanded-shots-and-cut-player")

    for page in (boss, ana):
        assert_not_reloaded(page)


# --- 2. a stale edit: re-applied when it can be, reported when it cannot ----------------------


def test_stale_edit_is_reapplied_or_reported_and_nothing_else_is_lost(studio, settings, tmp_path):
    film = make_film(studio, settings, tmp_path, short_take=True)
    boss, _ = open_timeline(studio, "director", film.director.username, film)
    ana, valve = open_timeline(studio, "artist", film.artist.username, film, valve=True)
    api = BrowserApi(boss)
    patches = watch_patches(ana)
    for page in (boss, ana):
        tid(page, f"segment-expand-{film.dusk}").click()
        expect_trim(page, film.lamp, 0, 24, timeout=UI)
    _, timeline = api.call("GET", film.api_path, expect=200)
    rev0 = timeline["revision"]
    expect_revision(ana, rev0)

    # --- (a) the director moves Dawn earlier; the artist's page does not hear of it ----------
    valve.hold()
    tid(boss, f"segment-move-left-{film.dawn}").click()
    moved = [film.dusk, film.dawn, film.storm]
    timeline = api.wait_for(film.api_path, lambda t: api_order(t) == moved)
    assert timeline["revision"] == rev0 + 1
    expect_revision(boss, rev0 + 1)
    expect_order(ana, film, [film.dusk, film.storm, film.dawn], timeout=UI)  # still the old order
    expect_revision(ana, rev0)

    # The artist trims on the stale revision: refused (409), re-applied on the current one.
    set_trim(ana, film.lamp, "out", 20)
    # The page learns the director's order from its own edit's answer (the socket is held).
    expect_revision(ana, rev0 + 2, timeout=UI)
    expect_trim(ana, film.lamp, 0, 20)
    expect_order(ana, film, moved)
    assert patches == [409, 200], patches
    expect(tid(ana, "timeline-notice")).to_have_count(0)
    timeline = api.wait_for(film.api_path, lambda t: t["revision"] == rev0 + 2)
    assert api_order(timeline) == moved and api_trim(timeline, film.lamp) == (0, 20), timeline
    # The director's page follows live.
    expect_trim(boss, film.lamp, 0, 20)
    expect_order(boss, film, moved)
    studio.snap(ana, "timeline-05-stale-trim-reapplied")

    # --- (b) the director approves a shorter pick (12 frames) and moves Storm; the artist's -----
    # page (socket still held) keeps the old pick and trims past the new one's end: that
    # cannot be re-applied.
    expect_revision(ana, rev0 + 2)
    with django_side():
        take_approve(access=film.access, take=film.short)
    expect_trim(boss, film.lamp, 0, 12)  # the old out point (20) clamped to the new pick
    tid(boss, f"segment-move-left-{film.storm}").click()
    final = [film.dusk, film.storm, film.dawn]
    expect_order(boss, film, final, timeout=UI)
    timeline = api.wait_for(film.api_path, lambda t: api_order(t) == final)
    rev_b = timeline["revision"]
    assert rev_b == rev0 + 4 and api_trim(timeline, film.lamp) == (0, 12), timeline
    expect_trim(ana, film.lamp, 0, 20, timeout=UI)  # stale: still the old pick
    expect_revision(ana, rev0 + 2)

    patches.clear()
    set_trim(ana, film.lamp, "out", 22)
    notice = tid(ana, "timeline-notice")
    expect(notice).to_be_visible(timeout=UI)
    expect(notice).to_contain_text("could not be kept")
    expect(notice).to_contain_text("12 frames")
    assert patches == [409], patches  # not sent again
    # The page shows the current timeline: the new pick, the director's order.
    expect_trim(ana, film.lamp, 0, 12)
    expect_order(ana, film, final)
    expect_revision(ana, rev_b)
    expect(tid(ana, f"shot-row-{film.lamp}")).to_contain_text("Take 2")
    studio.snap(ana, "timeline-06-stale-trim-notice")

    # Nothing else lost: the server state is the director's, with the earlier trims.
    _, timeline = api.call("GET", film.api_path, expect=200)
    assert timeline["revision"] == rev_b, timeline
    assert api_order(timeline) == final
    shots = api_shots(timeline)
    assert shots[film.lamp]["take"]["id"] == str(film.short.pk)
    assert (shots[film.lamp]["in_frame"], shots[film.lamp]["out_frame"]) == (0, 12)
    assert api_trim(timeline, film.stairs) == (0, 24)
    expect_trim(boss, film.lamp, 0, 12)
    expect(tid(boss, "timeline-notice")).to_have_count(0)

    # Released, the held events change nothing more; the notice can be dismissed.
    valve.release()
    notice.get_by_role("button", name="Dismiss the notice").click()
    expect(notice).to_have_count(0)
    expect_order(ana, film, final)
    expect_trim(ana, film.lamp, 0, 12)
    for page in (boss, ana):
        assert_not_reloaded(page)


# --- 3. undo / redo through the server -----------------------------------------------------------


def test_undo_and_redo_of_own_trim_round_trip_through_the_server(studio, settings, tmp_path):
    film = make_film(studio, settings, tmp_path)
    boss, _ = open_timeline(studio, "director", film.director.username, film)
    ana, _ = open_timeline(studio, "artist", film.artist.username, film)
    api = BrowserApi(ana)
    for page in (boss, ana):
        tid(page, f"segment-expand-{film.dusk}").click()
        expect_trim(page, film.lamp, 0, 24, timeout=UI)
    undo, redo = tid(ana, "timeline-undo"), tid(ana, "timeline-redo")
    expect(undo).to_be_disabled()
    expect(redo).to_be_disabled()

    def server_trim(trim: tuple[int, int]) -> dict:
        return api.wait_for(film.api_path, lambda t: api_trim(t, film.lamp) == trim)

    def blur() -> None:
        # Keys go to the page, not to a focused frame input (whose own undo wins there).
        tid(ana, "timeline-page").get_by_role("heading", name="Timeline").click()
        expect(ana.locator("input:focus")).to_have_count(0)

    set_trim(ana, film.lamp, "out", 16)
    rev_edit = server_trim((0, 16))["revision"]
    expect(undo).to_be_enabled()
    expect(redo).to_be_disabled()
    expect_trim(boss, film.lamp, 0, 16)

    # The director reorders in between: the artist's undo must leave that alone.
    tid(boss, f"segment-move-right-{film.dusk}").click()
    order = [film.storm, film.dusk, film.dawn]
    expect_order(ana, film, order)
    api.wait_for(film.api_path, lambda t: t["revision"] == rev_edit + 1)
    expect_revision(ana, rev_edit + 1)

    # Undo (button) → back to the whole pick, on the server.
    undo.click()
    timeline = server_trim((0, 24))
    assert api_order(timeline) == order, timeline
    expect_trim(ana, film.lamp, 0, 24)
    expect_trim(boss, film.lamp, 0, 24)
    expect(undo).to_be_disabled()
    expect(redo).to_be_enabled()
    studio.snap(ana, "timeline-07-undone")

    # Redo (button) → the trim again.
    redo.click()
    server_trim((0, 16))
    expect_trim(boss, film.lamp, 0, 16)
    expect(redo).to_be_disabled()

    # The keys: Ctrl+Z undoes, Ctrl+Shift+Z redoes, Ctrl+Z again.
    blur()
    ana.keyboard.press("Control+z")
    server_trim((0, 24))
    expect_trim(boss, film.lamp, 0, 24)
    expect(redo).to_be_enabled()
    ana.keyboard.press("Control+Shift+z")
    server_trim((0, 16))
    expect_trim(boss, film.lamp, 0, 16)
    ana.keyboard.press("Control+z")
    timeline = server_trim((0, 24))
    expect_trim(ana, film.lamp, 0, 24)
    expect(undo).to_be_disabled()
    # Nothing of the director's was undone; no one got a notice.
    assert api_order(timeline) == order, timeline
    expect_order(boss, film, order)
    for page in (boss, ana):
        expect(tid(page, "timeline-notice")).to_have_count(0)
        expect_revision(page, timeline["revision"])
        assert_not_reloaded(page)
    studio.snap(ana, "timeline-08-redo-undo-keys")
