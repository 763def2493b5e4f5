"""Seed a demo project, idempotently: a director, a producer, six artists, six segments with shots."""

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


class Command(BaseCommand):
    help = "Create (or leave as it is) the demo project and its people."

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
        self.stdout.write(self.style.SUCCESS(f"{action} demo project “{project.title}” (/projects/{project.pk})"))
        self.stdout.write(f"Sign in with password {PASSWORD!r} as:")
        self.stdout.write("  dana (director), pablo (producer), " + ", ".join(f"{a} (artist)" for a in artists))
