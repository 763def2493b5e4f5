"""CMX 3600 EDL of the picture cut, written by OpenTimelineIO's cmx_3600 adapter.

Only the video track goes into the EDL (CMX 3600 carries one picture track here); reels are
8-character names (``S<segment><shot>``, ``BL`` for slates, which EDL readers take as black)
and clip names are plain ASCII, so strict readers accept it. Crossfades become dissolves.
"""

from __future__ import annotations

import opentimelineio as otio

from ..plan import RenderPlan
from .otio import UrlFor, build_timeline, rate_of, safe_name


def write_edl(plan: RenderPlan, *, url_for: UrlFor, title: str | None = None) -> str:
    timeline = build_timeline(plan, url_for=url_for, name=title, audio=False)
    timeline.name = safe_name((title or plan.project_title).upper(), limit=70)
    return otio.adapters.write_to_string(timeline, "cmx_3600", rate=rate_of(plan), style="avid", reelname_len=8)


def read_edl(text: str, *, rate: float) -> otio.schema.Timeline:
    return otio.adapters.read_from_string(text, "cmx_3600", rate=rate)
