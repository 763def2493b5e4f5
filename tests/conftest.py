"""Shared fixtures: named personas in one project, API clients, factories.

Personas (as in the roles table of API.md): director, producer, owner (an artist who owns
segment ``seg``), artist (an artist who owns nothing), viewer, stranger (not a member),
and anonymous.
"""

from __future__ import annotations

import itertools
import uuid

import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.test import APIClient

from apps.production.models import Segment, SegmentStatus, Shot
from apps.projects.models import Membership, Project, Role

_seq = itertools.count(1)


def make_user(username: str | None = None, password: str = "pw-Montage-42") -> User:
    username = username or f"user{next(_seq)}-{uuid.uuid4().hex[:6]}"
    return User.objects.create_user(username=username, password=password, email=f"{username}@example.com")


def make_project(director: User | None = None, **kwargs) -> Project:
    n = next(_seq)
    defaults = dict(title=f"Film {n}", slug=f"film-{n}-{uuid.uuid4().hex[:6]}", fps_num=24, fps_den=1, width=1280, height=720)
    defaults.update(kwargs)
    project = Project.objects.create(created_by=director, **defaults)
    if director:
        Membership.objects.create(project=project, user=director, role=Role.DIRECTOR)
    from apps.timeline.models import Timeline

    Timeline.objects.get_or_create(project=project)
    return project


def add_member(project: Project, user: User, role: str) -> Membership:
    return Membership.objects.create(project=project, user=user, role=role)


def make_segment(project: Project, *, owner: User | None = None, position: int | None = None, **kwargs) -> Segment:
    if position is None:
        position = project.segments.count()
    status = SegmentStatus.CLAIMED if owner else SegmentStatus.OPEN
    return Segment.objects.create(
        project=project, position=position, title=kwargs.pop("title", f"Segment {position + 1}"), owner=owner, status=status, **kwargs
    )


def make_shot(segment: Segment, *, position: int | None = None, duration_frames: int = 48, **kwargs) -> Shot:
    if position is None:
        position = segment.shots.count()
    return Shot.objects.create(segment=segment, position=position, duration_frames=duration_frames, **kwargs)


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


class Crew:
    """One project with every persona."""

    def __init__(self) -> None:
        self.director = make_user("director-" + uuid.uuid4().hex[:6])
        self.producer = make_user("producer-" + uuid.uuid4().hex[:6])
        self.owner = make_user("owner-" + uuid.uuid4().hex[:6])
        self.artist = make_user("artist-" + uuid.uuid4().hex[:6])
        self.viewer = make_user("viewer-" + uuid.uuid4().hex[:6])
        self.stranger = make_user("stranger-" + uuid.uuid4().hex[:6])
        self.project = make_project(self.director)
        add_member(self.project, self.producer, Role.PRODUCER)
        add_member(self.project, self.owner, Role.ARTIST)
        add_member(self.project, self.artist, Role.ARTIST)
        add_member(self.project, self.viewer, Role.VIEWER)
        self.seg = make_segment(self.project, owner=self.owner, title="Owned")
        self.open_seg = make_segment(self.project, title="Open")
        self.shot = make_shot(self.seg, prompt="a lighthouse at dusk")

    def persona(self, name: str) -> User | None:
        return None if name == "anonymous" else getattr(self, name)

    def client(self, name: str) -> APIClient:
        return client_for(self.persona(name))


PERSONAS = ["director", "producer", "owner", "artist", "viewer", "stranger", "anonymous"]


@pytest.fixture
def crew(db) -> Crew:
    return Crew()


@pytest.fixture
def api():
    return client_for


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
