"""The read endpoints cost a fixed number of queries, however big the film gets.

The same project shape is built small (3 segments × 2 shots × 2 takes) and large
(12 × 6 × 4), every shot with a pick and every take with media and comments. The number of
queries measured at the small size must hold at the large size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.media.models import MediaFile, MediaKind, MediaStatus
from apps.production.models import (
    Comment,
    ReviewState,
    Segment,
    Shot,
    Take,
    TakeSource,
    TakeStatus,
)
from apps.projects.models import Reference, Role
from apps.timeline.models import AudioClip, Marker, Timeline
from tests.conftest import add_member, client_for, make_project, make_user

from .helpers import API

# A ceiling for any of these reads even at the small size: catches an N+1 that is already
# there at three segments.
CEILING = 15


@dataclass
class Film:
    project: object
    director: object
    segment: Segment  # the first segment
    shot: Shot  # the first shot of the first segment


def build_film(segments: int, shots: int, takes: int) -> Film:
    director = make_user()
    project = make_project(director)
    artists = [make_user() for _ in range(3)]
    for a in artists:
        add_member(project, a, Role.ARTIST)
    refs = [Reference.objects.create(project=project, tag=f"ref{i}", created_by=director) for i in range(2)]

    seg_rows = Segment.objects.bulk_create(
        [Segment(project=project, position=i, title=f"S{i}", owner=artists[i % 3], status="claimed") for i in range(segments)]
    )
    shot_rows = Shot.objects.bulk_create(
        [Shot(segment=s, position=j, duration_frames=48, title=f"shot {j}") for s in seg_rows for j in range(shots)]
    )
    for shot in shot_rows:
        shot.references.set(refs)
    media_rows = MediaFile.objects.bulk_create(
        [
            MediaFile(project=project, owner=director, storage_key=f"k/{n}", kind=MediaKind.VIDEO, status=MediaStatus.READY,
                      duration_seconds=2.0, fps=24, width=320, height=240, thumbnail_key=f"t/{n}", proxy_key=f"p/{n}")
            for n in range(len(shot_rows) * takes)
        ]
    )
    media = iter(media_rows)
    take_rows = Take.objects.bulk_create(
        [
            Take(shot=shot, number=n + 1, media=next(media), source=TakeSource.UPLOAD, author=artists[n % 3],
                 status=TakeStatus.READY, reviewed_by=director if n == 0 else None,
                 review_state=ReviewState.APPROVED if n == 0 else ReviewState.SUBMITTED)
            for shot in shot_rows
            for n in range(takes)
        ]
    )
    Comment.objects.bulk_create([Comment(take=t, author=director, body="note", frame=3) for t in take_rows])
    timeline = Timeline.objects.get(project=project)
    AudioClip.objects.bulk_create(
        [AudioClip(timeline=timeline, track="music", media=media_rows[i], start_frame=i * 48) for i in range(segments)]
    )
    Marker.objects.bulk_create([Marker(timeline=timeline, frame=i * 10, label=f"m{i}", author=director) for i in range(segments)])
    return Film(project=project, director=director, segment=seg_rows[0], shot=shot_rows[0])


ENDPOINTS: dict[str, Callable[[Film], str]] = {
    "segment list": lambda f: f"{API}/projects/{f.project.pk}/segments/",
    "shot list": lambda f: f"{API}/segments/{f.segment.pk}/shots/",
    "take list": lambda f: f"{API}/shots/{f.shot.pk}/takes/",
    "timeline": lambda f: f"{API}/projects/{f.project.pk}/timeline/",
    "review queue": lambda f: f"{API}/projects/{f.project.pk}/review/",
    "project list": lambda f: f"{API}/projects/",
    "members": lambda f: f"{API}/projects/{f.project.pk}/members/",
    "activity": lambda f: f"{API}/projects/{f.project.pk}/activity/",
}


def _get(film: Film, name: str):
    response = client_for(film.director).get(ENDPOINTS[name](film))
    assert response.status_code == 200, response.content
    return response


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_queries_do_not_grow_with_the_film(name, django_assert_max_num_queries):
    small = build_film(3, 2, 2)
    large = build_film(12, 6, 4)

    _get(small, name)  # warm caches (content types, sessions) so both runs are alike
    with CaptureQueriesContext(connection) as captured:
        _get(small, name)
    n = len(captured.captured_queries)
    assert n <= CEILING, f"{name}: {n} queries at the small size"

    with django_assert_max_num_queries(n):
        big = _get(large, name).json()
    # The large response really is larger (the measurement is not of an empty read).
    if name == "segment list":
        assert len(big) == 12
    elif name == "shot list":
        assert len(big) == 6 and all(s["pick"] is not None for s in big)
    elif name == "take list":
        assert len(big) == 4
    elif name == "timeline":
        assert sum(len(s["shots"]) for s in big["segments"]) == 72
        assert all(shot["take"] is not None for s in big["segments"] for shot in s["shots"])
