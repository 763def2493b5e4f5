"""The film the timeline tests edit, and what they share to drive and check the timeline page.

``make_film`` sets up, with the services and the ORM, the director's project "The Lighthouse
Keeper" with three segments — "Dusk" (owned by the artist: shots "Lamp room" and "Stairs"),
"Storm" ("Waves") and "Dawn" ("Harbour") — every shot with an approved take made from a tiny
ffmpeg clip (1 s = 24 frames; Waves 1.5 s = 36), ingested (thumbnail, proxy) into the live
stack's media folder. ``open_timeline`` signs a person in on their own page and opens the
timeline; the ``expect_*``/``api_*`` helpers read the page's data attributes and the API.

Import it after ``pytest.importorskip("playwright.sync_api")`` (it needs Playwright).
"""

from __future__ import annotations

import re
import uuid

from django.utils import timezone
from playwright.sync_api import expect

from apps.media.models import MediaStatus
from apps.media.services import media_create_from_file, media_ingest
from apps.production.models import ReviewState, Take, TakeSource, TakeStatus
from apps.production.services import segment_assign, segment_create, shot_create
from apps.projects.access import access_for
from apps.projects.models import Membership, Role
from apps.projects.services import project_create
from tests.conftest import make_user
from tests.rendering.conftest import make_clip

from .harness import BrowserApi, django_side
from .ui import LIVE, PASSWORD, UI, sign_in, tid


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


def director_and_artist_on_dusk(studio, film: Film):
    """Both people on the timeline with Dusk (the artist's segment) expanded: (director's page,
    artist's page, the artist's API client)."""
    boss, _ = open_timeline(studio, "director", film.director.username, film)
    ana, _ = open_timeline(studio, "artist", film.artist.username, film)
    for page in (boss, ana):
        tid(page, f"segment-expand-{film.dusk}").click()
    return boss, ana, BrowserApi(ana)


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
