"""Time-coded comments on the picks, listed for the timeline's pins."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.media.models import MediaFile
from apps.production.models import Comment, ReviewState
from tests.api.helpers import API, assert_error, make_take
from tests.conftest import make_shot


def test_lists_time_coded_comments_on_picks_only(crew):
    pick = make_take(crew.shot, author=crew.owner, review_state=ReviewState.APPROVED)
    draft = make_take(crew.shot, author=crew.owner)
    pinned = Comment.objects.create(take=pick, author=crew.director, body="Hold the wide a beat longer", frame=30)
    Comment.objects.create(take=pick, author=crew.director, body="Lovely overall")  # no frame: no pin
    Comment.objects.create(take=draft, author=crew.director, body="Not on the timeline", frame=5)

    body = crew.client("viewer").get(f"{API}/projects/{crew.project.pk}/timeline/comments/").json()

    assert [c["id"] for c in body] == [str(pinned.pk)]
    pin = body[0]
    assert pin["take"] == str(pick.pk)
    assert pin["shot"] == str(crew.shot.pk)
    assert pin["segment"] == str(crew.seg.pk)
    assert pin["frame"] == 30 and pin["pick_frame"] == 30  # 24 fps take in a 24 fps project
    assert pin["body"] == "Hold the wide a beat longer"
    assert pin["author"] == {"id": crew.director.pk, "username": crew.director.username}


def test_pick_frame_is_in_project_frames(crew):
    crew.project.fps_num, crew.project.fps_den = 24000, 1001
    crew.project.save(update_fields=["fps_num", "fps_den"])
    pick = make_take(crew.shot, author=crew.owner, review_state=ReviewState.APPROVED)
    MediaFile.objects.filter(pk=pick.media_id).update(fps=30000 / 1001)
    Comment.objects.create(take=pick, author=crew.owner, body="here", frame=300)  # 10.01 s into a 29.97 take

    [pin] = crew.client("owner").get(f"{API}/projects/{crew.project.pk}/timeline/comments/").json()

    assert pin["frame"] == 300
    assert pin["pick_frame"] == 240  # the same instant at 23.976


def test_one_query_for_many_comments(crew):
    for n in range(5):
        shot = make_shot(crew.seg)
        take = make_take(shot, author=crew.owner, review_state=ReviewState.APPROVED)
        Comment.objects.create(take=take, author=crew.director, body=f"note {n}", frame=n)
    from apps.timeline.selectors import timeline_comments

    with CaptureQueriesContext(connection) as ctx:
        assert len(timeline_comments(project=crew.project)) == 5
    assert len(ctx.captured_queries) == 1


def test_strangers_get_404(crew):
    assert_error(crew.client("stranger").get(f"{API}/projects/{crew.project.pk}/timeline/comments/"), 404)
