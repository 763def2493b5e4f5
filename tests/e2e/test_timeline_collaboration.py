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

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="e2e: the playwright package is not installed").expect

from apps.production.services import take_approve  # noqa: E402

from .film import (  # noqa: E402
    api_order,
    api_shots,
    api_trim,
    assert_not_reloaded,
    director_and_artist_on_dusk,
    expect_order,
    expect_revision,
    expect_trim,
    make_film,
    open_timeline,
    segment_title,
    set_trim,
    watch_patches,
)
from .harness import BrowserApi, django_side  # noqa: E402
from .ui import LIVE, UI, tid  # noqa: E402

pytestmark = pytest.mark.e2e


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
    boss, ana, api = director_and_artist_on_dusk(studio, film)
    for page in (boss, ana):
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
