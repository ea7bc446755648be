"""Remove the synthetic demo data set, and only it."""

from django.core.management.base import BaseCommand

from participants.demo import remove_demo_data


class Command(BaseCommand):
    help = "Delete every row flagged as synthetic demo data; the public record and real data stay."

    def handle(self, *args, **options):
        counts = remove_demo_data()
        summary = ", ".join(f"{n} {name}" for name, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Removed demo data: {summary}."))
