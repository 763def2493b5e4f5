"""CMX 3600 EDL of the picture cut, written by OpenTimelineIO's cmx_3600 adapter.

Only the video track goes into the EDL (CMX 3600 carries one picture track here); reels are
8-character names (``S<segment><shot>``, ``BL`` for slates, which EDL readers take as black)
and clip names are plain ASCII, so strict readers accept it. Crossfades become dissolves
(``D``), fades through black dissolves to and from black (``BL``), markers locators
(``* LOC:`` on the event under them, in its source timecode).
"""

from __future__ import annotations

import opentimelineio as otio

from ..plan import RenderPlan
from .otio import UrlFor, build_timeline, rate_of, safe_name


def write_edl(plan: RenderPlan, *, url_for: UrlFor, title: str | None = None) -> str:
    timeline = build_timeline(plan, url_for=url_for, name=title, audio=False, markers_on_clips=True)
    timeline.name = safe_name((title or plan.project_title).upper(), limit=70)
    text = otio.adapters.write_to_string(timeline, "cmx_3600", rate=rate_of(plan), style="avid", reelname_len=8)
    return _locators_once(text)


def _locators_once(text: str) -> str:
    """The adapter repeats the outgoing clip's comments (locators included) under a dissolve
    event's ``FROM`` lines; readers would then see each of its locators twice. Keep each
    locator only under the event it belongs to."""
    out: list[str] = []
    headers = 0  # event lines in a row: 2 for a dissolve (the cut line, then the D line)
    in_from = False
    for line in text.splitlines():
        if line[:3].isdigit():
            headers = headers + 1 if out and out[-1][:3] == line[:3] else 1
            in_from = False
        elif line.startswith("* FROM CLIP NAME"):
            in_from = headers == 2
        elif line.startswith("* TO CLIP NAME"):
            in_from = False
        if in_from and line.startswith("* LOC:"):
            continue
        out.append(line)
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def read_edl(text: str, *, rate: float) -> otio.schema.Timeline:
    return otio.adapters.read_from_string(text, "cmx_3600", rate=rate)
