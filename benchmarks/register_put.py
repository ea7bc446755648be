"""A register of 200 rows saved at once (the API's register PUT, the full register form) against
the same 200 rows saved one by one, as the register was written before it was batched.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_h8_put .venv/bin/python -m benchmarks.register_put

Builds (in a database of its own: it writes) one course of 200 enrolled officials with a session
that started an hour ago. Then BENCH_ROUNDS times (default 9), the order of the two sides
alternating from round to round, every row's status is flipped (present ↔ absent), each side
starting from the versions it reads just before, outside the timing:

* batched: `participants.services.attendance_record_many` with the 200 rows, one transaction —
  what the register PUT and the full form call;
* row by row: `participants.services.attendance_record` for each row in turn, in one transaction
  too — the same checks, history, rollups and change log, one row at a time.

Both sides write the same rows: the run asserts that after each side every row holds its new
status and one more version, and one more history row. It prints the medians (time and SQL
statements, BEGIN and COMMIT left out) and the ratio, and writes them to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import statistics
import time

from django.core.management import call_command
from django.db import connection, reset_queries, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from benchmarks import django_setup  # noqa: F401 - sets Django up before the apps are imported
from benchmarks.results_file import machine, write_section
from courses.models import Course, Programme, Project, Session
from ministries.models import Ministry
from participants import services
from participants.models import Attendance, Enrollment, Official

ROWS = int(os.environ.get("BENCH_ROWS", 200))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 9))
HEADING = "## Register PUT: 200 rows at once against row by row"


def _build() -> Session:
    call_command("migrate", verbosity=0)
    marker = "Register PUT benchmark"
    session = Session.objects.filter(course__title=marker).first()
    if session is not None:
        return session
    with transaction.atomic():
        ministry, _ = Ministry.objects.get_or_create(
            code="bench-put", defaults={"name_en": "Benchmark ministry", "acronym": "BPT"}
        )
        programme = Programme.objects.create(name="Bench", country="Cambodia", start_year=2018, end_year=2023)
        project = Project.objects.create(programme=programme, title="Bench project")
        course = Course.objects.create(project=project, number=1, title=marker)
        starts = timezone.now() - datetime.timedelta(hours=1)
        session = Session.objects.create(
            course=course, title="Day 1", starts_at=starts, ends_at=starts + datetime.timedelta(hours=3)
        )
        officials = services.officials_create_many(
            officials=[
                Official(
                    family_name=f"Bench{i}", given_name="Put", ministry=ministry, email=f"put{i}@example.org"
                )
                for i in range(ROWS)
            ]
        )
        services.enrollments_create_many(
            course=course,
            entries=[(services.Enrollee(o.pk, o.ministry_id, o.position), None) for o in officials],
        )
        services.attendance_record_many(
            session=session,
            rows=[
                services.AttendanceRow(enrollment=pk, status="absent")
                for pk in Enrollment.objects.filter(course=course).values_list("pk", flat=True)
            ],
        )
    return session


def _current(session: Session) -> dict[int, tuple[str, int]]:
    return {
        enrollment: (status, version)
        for enrollment, status, version in Attendance.objects.filter(session=session).values_list(
            "enrollment_id", "status", "version"
        )
    }


def _flipped(current: dict[int, tuple[str, int]]) -> list[services.AttendanceRow]:
    return [
        services.AttendanceRow(
            enrollment=enrollment,
            status="present" if status == "absent" else "absent",
            expected_version=version,
        )
        for enrollment, (status, version) in sorted(current.items())
    ]


def _batched(session: Session, rows: list[services.AttendanceRow]) -> None:
    with transaction.atomic():
        services.attendance_record_many(session=session, rows=rows)


def _row_by_row(session: Session, rows: list[services.AttendanceRow]) -> None:
    enrolments = {e.pk: e for e in Enrollment.objects.filter(pk__in=[row.enrollment for row in rows])}
    with transaction.atomic():
        for row in rows:
            services.attendance_record(
                enrollment=enrolments[row.enrollment],
                session=session,
                status=row.status,
                expected_version=row.expected_version,
            )


def _timed(side, session: Session, *, count: bool = False) -> tuple[float, int]:
    """One flip of every row by `side`: its time, and its statements when `count` (the counting
    run is not timed: logging every statement would weigh on the side that makes more)."""
    before = _current(session)
    history = Attendance.history.filter(session_id=session.pk).count()
    rows = _flipped(before)
    reset_queries()
    with CaptureQueriesContext(connection) if count else contextlib.nullcontext() as queries:
        started = time.perf_counter()
        side(session, rows)
        elapsed = time.perf_counter() - started
    after = _current(session)
    for row in rows:
        assert after[row.enrollment] == (row.status, before[row.enrollment][1] + 1), row
    assert Attendance.history.filter(session_id=session.pk).count() == history + len(rows)
    if not count:
        return elapsed, 0
    return elapsed, sum(1 for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT"))


def main() -> None:
    assert connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database of its own"
    session = _build()
    sides = {"batched": _batched, "row by row": _row_by_row}
    times: dict[str, list[float]] = {name: [] for name in sides}
    ratios = []
    load_start = os.getloadavg()[0]
    # Warm-up (connections, caches, the first plans), counting each side's statements.
    statements = {name: _timed(side, session, count=True)[1] for name, side in sides.items()}
    for round_number in range(ROUNDS):
        order = list(sides) if round_number % 2 == 0 else list(reversed(sides))
        this_round = {}
        for name in order:
            elapsed, _none = _timed(sides[name], session)
            times[name].append(elapsed)
            this_round[name] = elapsed
        ratios.append(this_round["row by row"] / this_round["batched"])
    load_end = os.getloadavg()[0]
    median = {name: statistics.median(values) for name, values in times.items()}
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"""{HEADING}

`python -m benchmarks.register_put`, run {now} on {machine()} (load average {load_start:.1f} at
the start, {load_end:.1f} at the end). PostgreSQL 15 on the same host. One course of {ROWS} enrolled
officials, one started session; each round flips every row's status (present ↔ absent) with the
version last read, on each side in turn, the order alternating; {ROUNDS} rounds, medians. "batched"
is `attendance_record_many` (the register PUT's and the full form's write); "row by row" is
`attendance_record` called for each row, as the register was written before it was batched, in one
transaction too. Both are checked to leave every row with its new status, one more version and one
more history row.

| side | rows | time (median) | SQL statements (without BEGIN/COMMIT) |
| --- | ---: | ---: | ---: |
| batched | {ROWS} | {median["batched"] * 1000:,.1f} ms | {statements["batched"]} |
| row by row | {ROWS} | {median["row by row"] * 1000:,.1f} ms | {statements["row by row"]} |

Row by row / batched: **{statistics.median(ratios):.1f}×** (median of the rounds' ratios; range
{min(ratios):.1f}–{max(ratios):.1f}). Goal: ≥ 10× faster, ≤ 15 statements (also asserted in
tests/participants/test_register_service.py).
"""
    print(text)
    write_section(HEADING, text)


if __name__ == "__main__":
    main()
