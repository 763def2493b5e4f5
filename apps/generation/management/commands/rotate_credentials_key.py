"""``manage.py rotate_credentials_key``: re-encrypt stored provider keys with the newest key.

Put the new key first in MONTAGE_CREDENTIALS_KEY (``new,old``), restart, run this, then
drop the old key. Safe to run again: rows that already use the newest key are not written.
"""

from django.core.management.base import BaseCommand, CommandError

from apps.generation.credentials import configured_keys, credentials_rotate


class Command(BaseCommand):
    help = "Re-encrypt every stored provider API key and config secret with the newest MONTAGE_CREDENTIALS_KEY."

    def add_arguments(self, parser):
        parser.add_argument(
            "--old-secret-key",
            action="append",
            default=[],
            metavar="SECRET_KEY",
            help="A former SECRET_KEY whose derived key encrypted old rows (repeatable).",
        )
        parser.add_argument("--strict", action="store_true", help="Exit with an error when some rows cannot be decrypted.")

    def handle(self, *args, old_secret_key, strict, **options):
        if not configured_keys():
            self.stderr.write(
                "MONTAGE_CREDENTIALS_KEY is not set: rows are re-encrypted with the key derived from SECRET_KEY. "
                "Set MONTAGE_CREDENTIALS_KEY first to stop depending on SECRET_KEY."
            )
        report = credentials_rotate(old_secret_keys=old_secret_key)
        self.stdout.write(
            f"Re-encrypted {report.rotated} credential(s) with the newest key; "
            f"{report.current} already used it; {report.unreadable} could not be decrypted."
        )
        for row in report.unreadable_rows or []:
            self.stdout.write(f"  unreadable: project {row} (enter this key again in the project's settings)")
        if report.unreadable and strict:
            raise CommandError(f"{report.unreadable} credential(s) could not be decrypted with any configured key.")
