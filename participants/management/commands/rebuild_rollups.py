"""Rebuild every rollup of the figures from the attendance, in one transaction.

The services keep the rollups as they change the record; this is for data loaded around them (a
restore, a bulk load of benchmark data) and for checking: the rebuilt rows are what the services
keep (tests/reports/test_rollups.py compares the two).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from participants import rollups
from participants.models import EnrolmentRollup, SessionRollup
from participants.reports.snapshot import figures_changed


class Command(BaseCommand):
    help = "Rebuild the per-enrolment and per-session rollups of the report figures from scratch."

    def handle(self, *args, **options):
        with transaction.atomic():
            rollups.rebuild()
            # Data loaded around the services: the whole-programme snapshot is refreshed too.
            figures_changed()
        self.stdout.write(
            f"Rebuilt {EnrolmentRollup.objects.count():,} enrolment rollups and "
            f"{SessionRollup.objects.count():,} session rollups."
        )
