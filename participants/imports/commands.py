"""The management commands' shared body: the same preview and confirmation as the upload pages.

`--dry-run` prints the preview and writes nothing but the import's record. Without it the
plan is applied when it has no error; rows that need a person to decide are refused unless
`--skip-uncertain` is given (they are then skipped, never merged, and each skipped row is
listed in the output and in the import's record).
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from courses.models import Course, Session
from participants.imports.apply import ImportRefused, apply_import
from participants.imports.plan import DECIDE, preview_import
from participants.imports.reading import ImportFileError, max_bytes
from participants.models import ImportBatch


class ImportCommand(BaseCommand):
    kind = ""

    def add_arguments(self, parser):
        parser.add_argument("path", help="The CSV (UTF-8, comma or semicolon) or .xlsx file.")
        parser.add_argument("--user", required=True, help="Username recorded as the importer (audit).")
        parser.add_argument("--dry-run", action="store_true", help="Show the preview; change nothing.")
        parser.add_argument(
            "--skip-uncertain",
            action="store_true",
            help="Skip rows whose match is not certain instead of stopping.",
        )
        if self.kind == "enrolments":
            parser.add_argument("--course", type=int, required=True, help="Id of the course to enrol into.")
        if self.kind == "attendance":
            parser.add_argument("--session", type=int, required=True, help="Id of the session of the sheet.")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {options['user']!r}.")
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        if path.stat().st_size > max_bytes():
            raise CommandError(f"{path} is larger than PCP_IMPORT_MAX_BYTES ({max_bytes()} bytes).")
        course = session = None
        if options.get("course"):
            course = Course.objects.filter(pk=options["course"]).first()
            if course is None:
                raise CommandError(f"No course with id {options['course']}.")
        if options.get("session"):
            session = Session.objects.select_related("course").filter(pk=options["session"]).first()
            if session is None:
                raise CommandError(f"No session with id {options['session']}.")
        try:
            batch = preview_import(
                kind=self.kind,
                filename=path.name,
                data=path.read_bytes(),
                user=user,
                course=course,
                session=session,
            )
        except ImportFileError as error:
            raise CommandError(error.message) from None
        rows = batch.rows
        for row in rows:
            label = row.get("label") or " ".join(v for v in row["values"].values() if v)
            self.stdout.write(f"line {row['line']:>5}  {row['action']:<7} {label}  {row['reason']}")
            for candidate in row.get("candidates", []):
                self.stdout.write(f"{'':>14}? #{candidate['id']} {candidate['label']} — {candidate['why']}")
        counts = batch.counts
        self.stdout.write(
            f"Import #{batch.pk}: {counts['create']} to create, {counts['update']} to update, "
            f"{counts['skip']} unchanged, {counts['decide']} to decide, {counts['error']} in error."
        )
        if batch.message:
            self.stdout.write(batch.message)
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was changed.")
            return
        decisions = {}
        if counts["decide"]:
            if not options["skip_uncertain"]:
                raise CommandError(
                    "Nothing was imported: some rows need a person to decide who is meant. Decide them on "
                    f"the import page (import #{batch.pk}) or run again with --skip-uncertain."
                )
            decisions = {i: "skip" for i, row in enumerate(rows) if row["action"] == DECIDE}
        skipped = []
        for index in decisions:
            row = rows[index]
            who = "; ".join(f"#{c['id']} {c['label']}" for c in row.get("candidates", []))
            skipped.append(f"line {row['line']} skipped as uncertain (possible: {who}): {row['reason']}")
        try:
            batch = apply_import(batch=batch, user=user, decisions=decisions)
        except ImportRefused as refusal:
            raise CommandError(refusal.message) from None
        if skipped:
            # Every row left out is named in the output and in the import's record, never dropped silently.
            for line in skipped:
                self.stdout.write(self.style.WARNING(line))
            batch.message = "\n".join([batch.message, *skipped]).strip()
            ImportBatch.objects.filter(pk=batch.pk).update(message=batch.message)
        applied = batch.counts["applied"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported: {applied['created']} created, {applied['updated']} updated, "
                f"{applied['skipped']} unchanged."
            )
        )
