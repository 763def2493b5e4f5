"""Benchmark: timeline GET and take list on a 90-minute film.

Seeds 50 segments, 1,350 shots and 13,500 takes (every shot with a pick) in a throwaway
test database (PostgreSQL when DATABASE_URL points at one), then times requests through
Django's full request stack and prints p50/p95. Target: timeline GET p95 under 150 ms.

    .venv/bin/python bench/api.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings.test")

import django  # noqa: E402

django.setup()

from django.test.utils import setup_databases, teardown_databases  # noqa: E402

SEGMENTS, SHOTS_PER_SEGMENT, TAKES_PER_SHOT = 50, 27, 10  # 1,350 shots, 13,500 takes


def seed():
    from django.contrib.auth.models import User

    from apps.media.models import MediaFile
    from apps.production.models import Segment, Shot, Take
    from apps.projects.models import Membership, Project
    from apps.timeline.models import Timeline

    director = User.objects.create_user("bench-director", password="x")
    artists = [User.objects.create_user(f"bench-artist-{i}", password="x") for i in range(50)]
    project = Project.objects.create(title="Bench film", slug=f"bench-{uuid.uuid4().hex[:6]}", fps_num=24, fps_den=1, width=1920, height=1080)
    Membership.objects.create(project=project, user=director, role="director")
    Membership.objects.bulk_create([Membership(project=project, user=a, role="artist") for a in artists])
    Timeline.objects.create(project=project)
    segments = Segment.objects.bulk_create(
        [Segment(project=project, position=i, title=f"Segment {i + 1}", owner=artists[i], status="claimed") for i in range(SEGMENTS)]
    )
    shots = Shot.objects.bulk_create(
        [Shot(segment=seg, position=j, title=f"Shot {j + 1}", prompt="a wide shot of the sea", duration_frames=96)
         for seg in segments for j in range(SHOTS_PER_SEGMENT)]
    )
    media, takes = [], []
    for shot in shots:
        for n in range(TAKES_PER_SHOT):
            m = MediaFile(project=project, storage_key=f"media/{uuid.uuid4()}/clip.mp4", status="ready", kind="video",
                          duration_seconds=4.0, width=1280, height=720, fps=24.0, has_audio=True,
                          thumbnail_key="t.jpg", filmstrip_key="f.jpg", proxy_key="p.mp4")
            media.append(m)
            takes.append(Take(shot=shot, number=n + 1, media=m, source="generation", status="ready",
                              review_state="approved" if n == 0 else "draft", provenance={"backend": "local-animatic", "seed": n}))
    MediaFile.objects.bulk_create(media, batch_size=2000)
    Take.objects.bulk_create(takes, batch_size=2000)
    return project, director, shots


def timed(client, url: str, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(url)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.content[:200]
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    from django.db import connection
    from rest_framework.test import APIClient

    old = setup_databases(verbosity=0, interactive=False)
    try:
        t0 = time.perf_counter()
        project, director, shots = seed()
        print(f"database: {connection.vendor}; seeded {SEGMENTS} segments, {len(shots)} shots, "
              f"{len(shots) * TAKES_PER_SHOT} takes in {time.perf_counter() - t0:.1f} s")
        from studio.runtime import tune_gc

        tune_gc()  # as studio/asgi.py does at server start
        client = APIClient()
        client.force_authenticate(director)
        timed(client, f"/api/v1/projects/{project.pk}/timeline/", 2)  # warm up
        tl = timed(client, f"/api/v1/projects/{project.pk}/timeline/", args.rounds)
        takes = timed(client, f"/api/v1/shots/{shots[len(shots) // 2].pk}/takes/", args.rounds)
        segs = timed(client, f"/api/v1/projects/{project.pk}/segments/", args.rounds)
        for name, values in (("timeline GET", tl), ("take list", takes), ("segment list", segs)):
            print(f"{name:14s} p50 {statistics.median(values):7.1f} ms   p95 {pct(values, 95):7.1f} ms   (n={len(values)})")
        verdict = "met" if pct(tl, 95) < 150 else "NOT met"
        print(f"target timeline GET p95 < 150 ms: {verdict}")
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
