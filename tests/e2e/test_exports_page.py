"""The exports page, in real browsers against a live server and a real render worker.

A small film is set up with the services and the ORM: two segments, three shots, each with
an approved take made from a tiny ffmpeg clip (stored where the worker reads media). The
producer signs in, opens the exports page and starts an export of the final cut; the row's
progress bar moves live (no reload) until the export is done; the MP4, the OTIO and the
.otioz bundle are then downloaded through the page's own links. The MP4 must be exactly as
long as the timeline (video frames counted with PyAV; container duration within one frame),
the OTIO must read back with OpenTimelineIO at the same length with media URLs on the
studio's address that can be fetched, and the bundle must open with every clip's media inside.

An artist who owns one segment watches the same page: they are offered only their own
segment (no final cut) and see the producer's export finish without a reload.

Screenshots: ``test-artifacts/e2e/exports-NN-*.png``.
"""

from __future__ import annotations

import re
import uuid
import zipfile
from fractions import Fraction

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="e2e: the playwright package is not installed").expect

import av  # noqa: E402
import opentimelineio as otio  # noqa: E402

from apps.production.services import segment_assign, segment_create, shot_create  # noqa: E402
from apps.projects.access import access_for  # noqa: E402
from apps.projects.models import Membership, Role  # noqa: E402
from apps.projects.services import project_create  # noqa: E402
from apps.rendering.models import Export  # noqa: E402
from tests.conftest import make_user  # noqa: E402
from tests.rendering.conftest import make_clip, real_take  # noqa: E402

from .harness import BrowserApi, django_side  # noqa: E402
from .ui import LIVE, PASSWORD, UI, sign_in, tid  # noqa: E402

pytestmark = pytest.mark.e2e

RENDER = 180_000  # the worker conforming, joining and packaging a tiny film


def watch_progress(page, export_id: str) -> None:
    """Record every value the export's progress bar shows, and mark the document (a reload
    would lose both)."""
    page.evaluate(
        """(id) => {
            window.__noReload = true;
            window.__progress = [];
            const testId = `export-progress-${id}`;
            const seen = () => {
                const bar = document.querySelector(`[data-testid="${testId}"]`);
                if (!bar) return;
                const value = Number(bar.getAttribute('aria-valuenow'));
                const list = window.__progress;
                if (list[list.length - 1] !== value) list.push(value);
            };
            seen();
            new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                                 attributeFilter: ['aria-valuenow']});
        }""",
        export_id,
    )


def video_facts(path) -> tuple[int, float, Fraction]:
    """(decoded video frames, container duration in seconds, stream frame rate)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = Fraction(stream.average_rate)
        duration = container.duration / 1_000_000 if container.duration else float(stream.duration * stream.time_base)
        frames = sum(1 for _ in container.decode(video=0))
    return frames, duration, rate


def test_producer_exports_the_final_cut_and_downloads_the_mp4_and_otio(studio, settings, tmp_path):
    # The worker reads media from the live stack's MEDIA_ROOT: store the takes there.
    settings.MEDIA_ROOT = str(studio.stack.workdir / "media")
    red = make_clip(tmp_path / "red.mp4", color="red", seconds=1.0, tone=440)
    green = make_clip(tmp_path / "green.mp4", color="green", seconds=1.0, tone=550)
    blue = make_clip(tmp_path / "blue.mp4", color="blue", seconds=1.5, tone=330)

    # --- a small film: two segments, three shots with approved takes ------------------------
    with django_side():
        director = make_user(f"dir-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        producer = make_user(f"prod-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        artist = make_user(f"ana-{uuid.uuid4().hex[:6]}", password=PASSWORD)
        project = project_create(actor=director, title="The Lighthouse Keeper", fps=24, width=320, height=180)
        Membership.objects.create(project=project, user=producer, role=Role.PRODUCER)
        Membership.objects.create(project=project, user=artist, role=Role.ARTIST)
        access = access_for(user=director, project=project)
        dusk = segment_create(access=access, title="Dusk")
        storm = segment_create(access=access, title="Storm")
        segment_assign(access=access, segment=dusk, username=artist.username)
        shots = [
            (shot_create(access=access, segment=dusk, duration_frames=24, title="Lamp room"), red),
            (shot_create(access=access, segment=dusk, duration_frames=24, title="Stairs"), green),
            (shot_create(access=access, segment=storm, duration_frames=36, title="Waves"), blue),
        ]
        for shot, clip in shots:
            real_take(shot, clip, author=artist, reviewer=director)
    exports_url = f"/projects/{project.pk}/exports"

    # --- the artist watches the exports page: only their own segment is offered -------------
    ana = studio.page("artist")
    sign_in(ana, artist.username)
    ana.goto(exports_url)
    expect(tid(ana, "export-kind")).to_be_visible(timeout=UI)
    assert tid(ana, "export-kind").locator("option").evaluate_all("os => os.map(o => o.value)") == ["segment"]
    assert tid(ana, "export-segment").locator("option").evaluate_all("os => os.map(o => o.value)") == [str(dusk.pk)]
    ana.evaluate("() => { window.__noReload = true; }")
    studio.snap(ana, "exports-01-artist-before")

    # --- the producer opens the exports page and starts the final cut ------------------------
    boss = studio.page("producer")
    sign_in(boss, producer.username)
    boss.goto(f"/projects/{project.pk}")
    tid(boss, "nav-exports").click()
    expect(boss).to_have_url(re.compile(rf"{exports_url}$"))
    expect(tid(boss, "export-kind")).to_be_visible(timeout=UI)
    assert tid(boss, "export-kind").locator("option").evaluate_all("os => os.map(o => o.value)") == ["final", "segment"]
    tid(boss, "export-kind").select_option("segment")
    assert tid(boss, "export-segment").locator("option").evaluate_all("os => os.map(o => o.value)") == [
        str(dusk.pk),
        str(storm.pk),
    ]
    tid(boss, "export-kind").select_option("final")
    expect(tid(boss, "export-segment")).to_have_count(0)
    expect(tid(boss, "export-include-unapproved")).not_to_be_checked()
    studio.snap(boss, "exports-02-producer-form")

    tid(boss, "export-start").click()
    row = boss.locator('[data-testid^="export-row-"]')
    expect(row).to_have_count(1, timeout=UI)
    export_id = row.get_attribute("data-export-id")
    assert export_id
    export = Export.objects.get(pk=export_id)
    assert (export.kind, export.created_by_id, export.include_unapproved) == ("final", producer.pk, False)
    expect(row).to_contain_text(f"Started by {producer.username}")
    watch_progress(boss, export_id)
    studio.snap(boss, "exports-03-started")

    # --- the bar moves live until the export is done -------------------------------------------
    bar = tid(boss, f"export-progress-{export_id}")
    expect(bar).to_be_visible()
    expect(row).to_have_attribute("data-state", re.compile(r"^(succeeded|failed|cancelled)$"), timeout=RENDER)
    if row.get_attribute("data-state") != "succeeded":
        export.refresh_from_db()
        pytest.fail(f"export {export_id} ended {export.state}: {export.error!r}")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(bar).to_contain_text("100%")
    seen = boss.evaluate("() => window.__progress")
    assert boss.evaluate("() => window.__noReload === true"), "the page reloaded"
    assert seen[-1] == 100 and seen == sorted(seen), f"progress went backwards: {seen}"
    print(f"progress values the bar showed: {seen}")
    for kind in ("mp4", "otio", "otioz", "edl", "srt", "credits", "manifest"):
        expect(tid(boss, f"artifact-{kind}-{export_id}")).to_be_visible(timeout=UI)
    studio.snap(boss, "exports-04-done")

    # The artist saw the producer's export finish without a reload.
    ana_row = tid(ana, f"export-row-{export_id}")
    expect(ana_row).to_have_attribute("data-state", "succeeded", timeout=LIVE)
    expect(tid(ana, f"artifact-mp4-{export_id}")).to_be_visible(timeout=LIVE)
    expect(tid(ana, f"export-cancel-{export_id}")).to_have_count(0)
    assert ana.evaluate("() => window.__noReload === true"), "the artist's page reloaded"
    studio.snap(ana, "exports-05-artist-sees-done")

    # --- the timeline the export must match --------------------------------------------------------
    api = BrowserApi(boss)
    _, timeline = api.call("GET", f"/api/v1/projects/{project.pk}/timeline/", expect=200)
    frames = timeline["duration_frames"]
    rate = Fraction(timeline["fps_rational"])
    assert frames == 24 + 24 + 36, timeline

    # --- download the MP4 and the OTIO through the page's links --------------------------------
    mp4_link = tid(boss, f"artifact-mp4-{export_id}")
    assert mp4_link.evaluate("a => a.tagName") == "A" and mp4_link.get_attribute("download") is not None
    with boss.expect_download(timeout=UI) as info:
        mp4_link.click()
    download = info.value
    assert download.failure() is None, download.failure()
    mp4 = tmp_path / download.suggested_filename
    download.save_as(mp4)
    assert mp4.suffix == ".mp4" and mp4.stat().st_size > 0
    assert str(mp4.stat().st_size) == mp4_link.get_attribute("data-size")

    decoded, seconds, stream_rate = video_facts(mp4)
    assert stream_rate == rate, (stream_rate, rate)
    assert decoded == frames, f"the MP4 has {decoded} video frames; the timeline is {frames}"
    assert abs(seconds - float(frames / rate)) <= float(1 / rate), (seconds, frames, rate)

    otio_link = tid(boss, f"artifact-otio-{export_id}")
    with boss.expect_download(timeout=UI) as info:
        otio_link.click()
    download = info.value
    assert download.failure() is None, download.failure()
    otio_path = tmp_path / download.suggested_filename
    download.save_as(otio_path)
    assert otio_path.suffix == ".otio"
    cut = otio.adapters.read_from_file(str(otio_path))
    assert cut.duration().to_frames() == frames
    assert cut.duration().rate == pytest.approx(float(rate))
    assert len(list(cut.find_clips())) == 3
    # Media URLs are absolute on the studio's address, and an editor can fetch them.
    urls = [c.media_reference.target_url for c in cut.find_clips()]
    assert all(u.startswith(f"{studio.url}/media/") for u in urls), urls
    response = boss.request.get(urls[0])
    assert response.status == 200 and len(response.body()) > 0

    # The .otioz bundle: the same cut with every clip's media inside, referenced relatively.
    with boss.expect_download(timeout=UI) as info:
        tid(boss, f"artifact-otioz-{export_id}").click()
    download = info.value
    assert download.failure() is None, download.failure()
    bundle_path = tmp_path / download.suggested_filename
    download.save_as(bundle_path)
    assert bundle_path.suffix == ".otioz"
    bundled = otio.adapters.read_from_file(str(bundle_path))
    assert bundled.duration().to_frames() == frames
    refs = [c.media_reference.target_url for c in bundled.find_clips()]
    with zipfile.ZipFile(bundle_path) as zf:
        assert len(refs) == 3 and all(r.startswith("media/") and r in zf.namelist() for r in refs), refs
    studio.snap(boss, "exports-06-downloaded")
