"""Load the public record of PCP Cambodia, its project, four courses and the ministries."""

from django.core.management.base import BaseCommand

from courses.public_record import load_public_record


class Command(BaseCommand):
    help = (
        "Load the public record (programme, project, courses, ministries with dated names). "
        "Idempotent; never overwrites a record staff have edited since it was loaded."
    )

    def handle(self, *args, **options):
        report = load_public_record()
        for key in report.kept_edits:
            self.stdout.write(self.style.WARNING(f"kept staff edits to {key}"))
        self.stdout.write(self.style.SUCCESS(f"Public record: {report.summary()}."))
