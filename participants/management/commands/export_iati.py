"""Write the project's IATI 2.03 activity file, validated; refuse (listing what is missing) otherwise."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from courses.models import Project
from participants.results.iati import build_iati


class Command(BaseCommand):
    help = "Write the IATI 2.03 activity file of a project (validated against the schema offline)."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, help="The project's id (default: the first project).")
        parser.add_argument("--output", required=True, help="Where to write the XML file.")

    def handle(self, *args, project=None, output=None, **options):
        queryset = Project.objects.order_by("pk")
        chosen = queryset.filter(pk=project).first() if project else queryset.first()
        if chosen is None:
            raise CommandError("No such project.")
        built = build_iati(chosen)
        if built.xml is None:
            raise CommandError("The IATI file cannot be produced; missing:\n- " + "\n- ".join(built.missing))
        Path(output).write_bytes(built.xml)
        self.stdout.write(f"Wrote {output} ({len(built.xml)} bytes), valid against IATI 2.03.")
