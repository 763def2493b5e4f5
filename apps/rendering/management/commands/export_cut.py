"""Export a project's cut from the command line, in this process (no Celery worker needed).

    python manage.py export_cut <project-slug> --out DIR [--include-unapproved] [--segment N] [--credits-roll]
                                                [--public-url https://studio.example]

Runs the same pipeline as the render queue (the export is recorded in the project like one
started from the browser), shows a progress bar, and copies every artifact (MP4, OTIO, the
.otioz bundle, EDL, SRT, credits, manifest) into DIR. Media URLs in the .otio/EDL start with
MONTAGE_PUBLIC_URL, else with --public-url, else they are paths on the studio's host. Exits with status 1 and the readable reason on failure.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import DomainError


class Command(BaseCommand):
    help = "Render a project's final cut (or one segment) with all deliverables into a folder."

    def add_arguments(self, parser):
        parser.add_argument("project", help="the project's slug (or id)")
        parser.add_argument("--out", required=True, help="folder to write the files into (created if missing)")
        parser.add_argument("--include-unapproved", action="store_true", help="use the latest ready take where a shot has no pick")
        parser.add_argument("--segment", type=int, help="export only segment N (1 = the first segment of the film)")
        parser.add_argument("--credits-roll", action="store_true", help="append a rolling credits sequence to the film")
        parser.add_argument("--public-url", default="", help="the studio's address, for media URLs in the .otio/EDL")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        from apps.production.models import Segment
        from apps.projects.models import Project
        from apps.rendering import services
        from apps.rendering.models import ExportKind, ExportState

        ident = options["project"]
        project = Project.objects.filter(slug=ident).first()
        if project is None:
            try:
                project = Project.objects.filter(pk=ident).first()
            except Exception:  # not a UUID
                project = None
        if project is None:
            raise CommandError(f"There is no project with the slug {ident!r}.")

        segment = None
        if options["segment"] is not None:
            n = options["segment"]
            segments = list(Segment.objects.filter(project=project).order_by("position"))
            if not 1 <= n <= len(segments):
                raise CommandError(f"{project.title} has {len(segments)} segment(s); --segment must be 1 to {len(segments)}.")
            segment = segments[n - 1]

        try:
            export = services.export_create_for(
                project=project,
                kind=ExportKind.SEGMENT if segment else ExportKind.FINAL,
                segment=segment,
                include_unapproved=options["include_unapproved"],
                credits_roll=options["credits_roll"],
                public_url=options["public_url"],
                enqueue=False,
            )
        except DomainError as exc:
            raise CommandError(exc.detail)

        what = f"segment {options['segment']} of {project.title}" if segment else project.title
        self.stderr.write(f"Exporting {what}: {export.frames} frames, {export.shots_total} shots (export {export.pk})")
        bar = None
        if not options["no_progress"]:
            from tqdm import tqdm

            bar = tqdm(total=100, unit="%", file=self.stderr._out, leave=True, desc="export")

        def on_progress(value: int) -> None:
            if bar is not None and value > bar.n:
                bar.update(value - bar.n)

        try:
            export = services.export_run(export_id=export.pk, listener=on_progress)
        finally:
            if bar is not None:
                bar.close()

        if export.state != ExportState.SUCCEEDED:
            raise CommandError(export.error or f"The export ended {export.state}.")
        out = Path(options["out"]).expanduser()
        written = [services.artifact_local_copy(a, out) for a in export.artifacts.order_by("created_at")]
        stats = export.stats or {}
        self.stderr.write(
            f"Encoded {stats.get('encoded_pieces', 0)} shot(s) and {stats.get('encoded_masters', 0)} segment master(s); "
            f"{stats.get('cached_pieces', 0)} shot(s) came from the render cache."
        )
        for path in written:
            self.stdout.write(str(path))
