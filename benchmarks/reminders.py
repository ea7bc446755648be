"""Reminder dispatch at scale: 2,000 sessions due at once, 50,000 enrolled officials.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_h6_bench .venv/bin/python -m benchmarks.reminders

Builds (with bulk inserts, in a database of its own: it writes) 2,000 courses, each with 25
enrolled officials and one session 40 hours away, so the 48-hour reminder of every session is
due. Then it times `participants.reminders.dispatch()` and counts its SQL queries, twice: the
first run writes 50,000 ledger rows and queues 50,000 send tasks (counted, not published: the
broker is not what is measured), the second run — a second beat — must write and queue nothing.
Prints one Markdown table row per run for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import datetime
import os
import sys
import time

SESSIONS = int(os.environ.get("BENCH_SESSIONS", 2000))
PER_SESSION = int(os.environ.get("BENCH_OFFICIALS_PER_SESSION", 25))


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pcp_portal.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _build() -> None:
    from django.db import transaction
    from django.utils import timezone

    from courses.models import Course, Programme, Project, Session
    from ministries.models import Ministry
    from participants.models import Enrollment, Official, ReminderDelivery

    marker = "Reminder benchmark"
    if Course.objects.filter(title__startswith=marker).count() == SESSIONS:
        ReminderDelivery.objects.all().delete()
        starts = timezone.now() + datetime.timedelta(hours=40)
        Session.objects.filter(course__title__startswith=marker).update(
            starts_at=starts, ends_at=starts + datetime.timedelta(hours=3)
        )
        return
    with transaction.atomic():
        ministry, _ = Ministry.objects.get_or_create(
            code="bench-rem", defaults={"name_en": "Benchmark ministry", "acronym": "BEN"}
        )
        programme = Programme.objects.create(name="Bench", country="Cambodia", start_year=2018, end_year=2023)
        project = Project.objects.create(programme=programme, title="Bench project")
        courses = Course.objects.bulk_create(
            [Course(project=project, number=i + 1, title=f"{marker} {i}") for i in range(SESSIONS)],
            batch_size=1000,
        )
        starts = timezone.now() + datetime.timedelta(hours=40)
        Session.objects.bulk_create(
            [
                Session(
                    course=c,
                    title=f"Session of {c.title}",
                    starts_at=starts,
                    ends_at=starts + datetime.timedelta(hours=3),
                )
                for c in courses
            ],
            batch_size=1000,
        )
        officials = Official.objects.bulk_create(
            [
                Official(
                    family_name=f"Bench{i}",
                    given_name="Dara",
                    ministry=ministry,
                    email=f"bench{i}@example.gov.kh",
                    preferred_language="km" if i % 3 else "en",
                )
                for i in range(SESSIONS * PER_SESSION)
            ],
            batch_size=5000,
        )
        today = timezone.localdate()
        Enrollment.objects.bulk_create(
            [
                Enrollment(
                    official=official,
                    course=courses[i // PER_SESSION],
                    enrolled_on=today,
                    ministry=ministry,
                    ministry_name_en=ministry.name_en,
                )
                for i, official in enumerate(officials)
            ],
            batch_size=5000,
        )


def _measure(label: str) -> str:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from participants import reminders

    queued: list[int] = []
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        result = reminders.dispatch(enqueue=queued.append)
        elapsed = time.perf_counter() - started
    return (
        f"| {label} | {connection.vendor} | {result.sessions:,} | {result.created:,} | {len(queued):,} "
        f"| {elapsed:.2f} s | {len(ctx.captured_queries)} |"
    )


def main() -> None:
    _setup()
    started = time.perf_counter()
    _build()
    print(f"data set ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print("| run | database | sessions due | ledger rows written | tasks queued | time | SQL queries |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(_measure("first dispatch"))
    print(_measure("second dispatch (another beat)"))


if __name__ == "__main__":
    main()
