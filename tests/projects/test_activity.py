"""The activity feed says who did what to whom: the entries carry the names and titles the
lines need, as they were when it happened."""

from __future__ import annotations

import pytest

from apps.production.models import Shot
from tests.api.helpers import API, make_take


def _feed(crew, who="viewer"):
    return crew.client(who).get(f"{API}/projects/{crew.project.pk}/activity/").json()


def _named(user, first: str):
    user.first_name = first
    user.save()
    return user


@pytest.mark.django_db
def test_an_approval_names_the_take_its_shot_and_its_author(crew):
    _named(crew.director, "Dana")
    _named(crew.owner, "Ana")
    Shot.objects.filter(pk=crew.shot.pk).update(title="Waves")
    make_take(crew.shot, author=crew.owner)
    take = make_take(crew.shot, author=crew.owner)
    r = crew.client("director").post(f"{API}/takes/{take.pk}/approve/", format="json")
    assert r.status_code == 200, r.json()
    entry = next(e for e in _feed(crew) if e["type"] == "take.approved")
    assert entry["actor"]["display_name"] == "Dana"
    assert entry["data"]["number"] == 2
    assert entry["data"]["shot_title"] == "Waves"
    assert entry["data"]["author"]["display_name"] == "Ana"


@pytest.mark.django_db
def test_a_claim_names_the_segment_and_the_new_owner(crew):
    _named(crew.artist, "Bo")
    r = crew.client("artist").post(f"{API}/segments/{crew.open_seg.pk}/claim/", format="json")
    assert r.status_code == 200, r.json()
    entry = next(e for e in _feed(crew) if e["type"] == "segment.claimed")
    assert entry["data"]["title"] == crew.open_seg.title
    assert entry["data"]["owner"]["display_name"] == "Bo"
    assert entry["actor"]["username"] == crew.artist.username
