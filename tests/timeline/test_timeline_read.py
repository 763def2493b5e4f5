"""GET timeline: the revision it reports is the one its content is at, even when an edit
commits while it is being read (found by the browser tests on PostgreSQL)."""

from __future__ import annotations

from apps.production.models import ReviewState
from apps.projects.access import access_for
from apps.timeline import selectors
from apps.timeline.services import timeline_apply
from tests.api.helpers import API, make_take


def test_an_edit_committed_mid_read_is_not_paired_with_the_old_revision(crew, monkeypatch):
    make_take(crew.shot, author=crew.owner, review_state=ReviewState.APPROVED)
    before = crew.client("director").get(f"{API}/projects/{crew.project.pk}/timeline/").json()
    assert before["markers"] == []

    # Another person's edit lands after the revision and the shots were read, before the markers.
    real_pick_out = selectors._pick_out
    edits = []

    def pick_out_with_a_concurrent_edit(*args, **kwargs):
        if not edits:
            access = access_for(user=crew.director, project=crew.project)
            edits.append(
                timeline_apply(
                    access=access, revision=before["revision"], ops=[{"op": "add_marker", "frame": 3, "label": "here"}]
                )
            )
        return real_pick_out(*args, **kwargs)

    monkeypatch.setattr(selectors, "_pick_out", pick_out_with_a_concurrent_edit)
    body = crew.client("viewer").get(f"{API}/projects/{crew.project.pk}/timeline/").json()

    assert edits == [before["revision"] + 1]
    assert [m["label"] for m in body["markers"]] == ["here"]
    assert body["revision"] == before["revision"] + 1, "the marker of the next revision came with the old revision number"
