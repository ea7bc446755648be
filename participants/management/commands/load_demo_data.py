"""Create the synthetic, clearly labelled demo data set (is_demo) so every page has something to show."""

from django.core.management.base import BaseCommand, CommandError

from participants.demo import load_demo_data


class Command(BaseCommand):
    help = "Create synthetic demo officials, sessions, enrolments and attendance (flagged is_demo)."

    def handle(self, *args, **options):
        try:
            counts = load_demo_data()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        if not counts:
            self.stdout.write("Demo data already present; nothing changed.")
            return
        summary = ", ".join(f"{n} {name}" for name, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data created (synthetic, flagged is_demo): {summary}."))
