"""Seed a demo project, idempotently: a director, a producer, six artists, six segments with
shots — and, the first time, some footage: takes made by the built-in ``local-animatic``
backend (two approved in "Cold open", one waiting for review in "The keeper"), a music bed on
the timeline and a marker, so the timeline, the review queue and exports have something to show
(``--no-footage`` skips it; it needs no network or account)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.production import services as production
from apps.projects import services as project_services
from apps.projects.access import access_for
from apps.projects.models import Membership, Project

User = get_user_model()

PASSWORD = "montage-demo"
SLUG = "the-lighthouse"
SEGMENTS = [
    ("Cold open", "A storm hits the coast; the lighthouse goes dark.", ["Waves over the rocks at night", "The lamp flickers and dies"]),
    ("The keeper", "Mara climbs the tower with a lantern.", ["Mara at the foot of the stairs", "Spiral stairs from above", "Mara reaches the lamp room"]),
    ("The ship", "A fishing boat drifts toward the reef.", ["The boat in the rain, wide", "The captain at the wheel"]),
    ("The signal", "Mara relights the lamp by hand.", ["Matches in wet hands", "The beam sweeps the sea"]),
    ("Turning", "The boat turns away from the rocks.", ["The bow swings", "Crew cheering"]),
    ("Dawn", "Morning: the storm is gone.", ["Calm sea at sunrise", "Mara asleep by the lamp", "Title card"]),
]


# (segment index, shot index, local-animatic model, approved?) — the footage made the first time.
FOOTAGE = [(0, 0, "ken-burns", True), (0, 1, "infinite-zoom", True), (1, 0, "ken-burns", False)]


class Command(BaseCommand):
    help = "Create (or leave as it is) the demo project and its people."

    def add_arguments(self, parser):
        parser.add_argument("--no-footage", action="store_true", help="Do not make demo takes and music (faster).")

    def handle(self, *args, **options):
        people = {"director": "dana", "producer": "pablo"}
        artists = ["ana", "bo", "chen", "dev", "eli", "fay"]
        with transaction.atomic():
            users = {}
            for name in [*people.values(), *artists]:
                user, created = User.objects.get_or_create(username=name, defaults={"email": f"{name}@example.com", "first_name": name.capitalize()})
                if created:
                    user.set_password(PASSWORD)
                    user.save()
                users[name] = user
            project = Project.objects.filter(slug=SLUG).first()
            if project is None:
                project = project_services.project_create(
                    actor=users["dana"], title="The Lighthouse", slug=SLUG, fps=24, width=1280, height=720,
                    budget_amount=Decimal("250.00"), budget_currency="USD", target_runtime_seconds=120,
                    style_prompt="moody 35mm film, teal and amber, storm light",
                )
                access = access_for(user=users["dana"], project=project)
                project_services.membership_add(access=access, username="pablo", role="producer")
                for name in artists:
                    project_services.membership_add(access=access, username=name, role="artist")
                project_services.reference_create(access=access, tag="mara", kind="character", name="Mara", text="the keeper: 60s, grey braid, yellow oilskin")
                project_services.reference_create(access=access, tag="lighthouse", kind="location", name="The lighthouse", text="white tower, red lamp room, black rocks")
                for index, (title, synopsis, shots) in enumerate(SEGMENTS):
                    segment = production.segment_create(access=access, title=title, synopsis=synopsis, target_frames=20 * 24)
                    for shot_title in shots:
                        production.shot_create(access=access, segment=segment, title=shot_title, prompt=shot_title, duration_frames=4 * 24)
                    if index < 2:  # two segments already claimed, so the board shows both states
                        artist = access_for(user=users[artists[index]], project=project)
                        production.segment_claim(access=artist, segment=segment)
                action = "Created"
            else:
                for name in artists:
                    Membership.objects.get_or_create(project=project, user=users[name], defaults={"role": "artist"})
                action = "Found"
        if action == "Created" and not options.get("no_footage"):
            self._footage(project, users, artists)
        self.stdout.write(self.style.SUCCESS(f"{action} demo project “{project.title}” (/projects/{project.pk})"))
        self.stdout.write(f"Sign in with password {PASSWORD!r} as:")
        self.stdout.write("  dana (director), pablo (producer), " + ", ".join(f"{a} (artist)" for a in artists))

    def _footage(self, project, users, artists) -> None:
        """Takes, a music bed and a marker, made in this process (the built-in backends and
        ingest run eagerly here: the worker may not be running yet). Best effort: the demo is
        usable without them."""
        import tempfile
        from pathlib import Path

        from celery import current_app

        from apps.generation.services import generate
        from apps.media.services import media_create_from_file
        from apps.rendering.engine import ffmpeg
        from apps.timeline.models import Timeline
        from apps.timeline.services import timeline_apply

        self.stdout.write("Making demo footage with the built-in backends (a few seconds a shot)…")
        eager = current_app.conf.task_always_eager
        current_app.conf.task_always_eager = True
        try:
            director = access_for(user=users["dana"], project=project)
            segments = list(project.segments.order_by("position"))
            for seg_index, shot_index, model, approved in FOOTAGE:
                segment = segments[seg_index]
                shot = segment.shots.order_by("position")[shot_index]
                artist = access_for(user=users[artists[seg_index]], project=project)
                with transaction.atomic():
                    _, takes = generate(access=artist, shot=shot, backend="local-animatic", model=model, prompt=shot.prompt, seed=41 + shot_index)
                take = takes[0]
                take.refresh_from_db()
                if take.status != "ready":
                    self.stderr.write(f"Demo take for “{shot.title}” did not render: {take.error or take.status}")
                    continue
                production.take_submit(access=artist, take=take)
                if approved:
                    production.take_approve(access=director, take=take)

            # A music bed under the whole film: a slow minor chord with a gentle swell.
            frames = sum(s.duration_frames for seg in segments for s in seg.shots.all())
            seconds = frames / 24
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "storm-theme.wav"
                chord = "+".join(f"0.12*sin(2*PI*{f}*t)" for f in (110, 130.81, 164.81, 220))
                expr = f"({chord})*(0.75+0.25*sin(2*PI*t/8))"
                ffmpeg.run(
                    ["-f", "lavfi", "-i", f"aevalsrc='{expr}|{expr}':s=48000:c=stereo:d={seconds:.3f}", "-c:a", "pcm_s16le", str(path)],
                    what="The demo music could not be made",
                    timeout=120,
                )
                media = media_create_from_file(owner=users["dana"], project=project, path=str(path), filename=path.name)
            swell = sum(s.duration_frames for seg in segments[:3] for s in seg.shots.all())
            revision = Timeline.objects.get_or_create(project=project)[0].revision
            timeline_apply(
                access=director,
                revision=revision,
                ops=[
                    {"op": "add_audio", "track": "music", "media": str(media.pk), "start_frame": 0, "volume": 0.6,
                     "fade_in_frames": 48, "fade_out_frames": 96},
                    {"op": "add_marker", "frame": swell, "label": "Music swells as the lamp is relit"},
                ],
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the demo works without its footage
            self.stderr.write(f"Demo footage skipped: {exc}")
        finally:
            current_app.conf.task_always_eager = eager
