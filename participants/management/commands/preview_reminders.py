"""Show the reminders the dispatcher will send in the next hours, without sending anything."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from participants import reminders


class Command(BaseCommand):
    help = "Preview the next e-mail reminders (nothing is sent or recorded)."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=72, help="How far ahead to look (default 72).")

    def handle(self, *args, hours: int, **options):
        if hours < 1:
            self.stderr.write("--hours must be at least 1.")
            return
        plan, without_start = reminders.preview(hours=hours)
        if not plan:
            self.stdout.write(f"No reminders due in the next {hours} hours.")
        for item in plan:
            when = timezone.localtime(item.send_at).strftime("%Y-%m-%d %H:%M")
            starts = timezone.localtime(item.session.starts_at).strftime("%Y-%m-%d %H:%M")
            state = " (already recorded)" if item.already_recorded else ""
            self.stdout.write(
                f"{when}  {item.offset_hours:>3} h before  session #{item.session.pk} {item.session.title} "
                f"(starts {starts}): {item.recipients} to send, {item.skipped} skipped{state}"
            )
        for session in without_start:
            self.stdout.write(
                self.style.WARNING(
                    f"Warning: session #{session.pk} {session.title} ({session.course}) has no start time; "
                    "no reminders will be sent for it."
                )
            )
