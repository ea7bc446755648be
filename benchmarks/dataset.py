"""A large synthetic data set for benchmarks, written with PostgreSQL COPY (no save() per row).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_bench .venv/bin/python -m benchmarks.dataset

or, from a benchmark script:

    from benchmarks.dataset import build
    counts = build(officials=20_000, courses=500, sessions_per_course=10, enrolled_per_course=200)

Defaults give 20,000 officials, 500 courses, 5,000 sessions, 100,000 enrolments and
1,000,000 attendance rows (every enrolled official at every session of the course).
BENCH_OFFICIALS, BENCH_COURSES, BENCH_SESSIONS_PER_COURSE and BENCH_ENROLLED_PER_COURSE change
the defaults, so that any benchmark built on this set can be tried end to end on a small one
(in a database of its own: a set of another size is refused). The
database is migrated and the public record loaded first. build() is idempotent: when the data
set is already there with the asked-for size it returns at once, so several benchmarks can
share one database. Column lists come from the models, and any column this module does not
know gets the field's default, so fields added later keep working.

On the development machine the full default set is already built in the database
`pcp_bench` (postgres://postgres@127.0.0.1:5432/pcp_bench, about 30 s to build anew); read-only
benchmarks may share it, a benchmark that writes should build its own copy.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import random
import sys
import time

from django.core.management import call_command
from django.db import connection, transaction

from benchmarks import django_setup  # noqa: F401 - sets Django up before the apps are imported
from courses.models import Course, Project, Session
from courses.public_record import load_public_record
from ministries.models import Ministry
from participants import rollups
from participants.models import Attendance, Enrollment, Official

BENCH_MARKER = "benchmark:"
OFFICIALS = int(os.environ.get("BENCH_OFFICIALS", "20000"))
COURSES = int(os.environ.get("BENCH_COURSES", "500"))
SESSIONS_PER_COURSE = int(os.environ.get("BENCH_SESSIONS_PER_COURSE", "10"))
ENROLLED_PER_COURSE = int(os.environ.get("BENCH_ENROLLED_PER_COURSE", "200"))


def _text(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, (datetime.datetime, datetime.date)):
        value = value.isoformat()
    else:
        value = str(value)
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy(cursor, model, rows, *, chunk: int = 50_000) -> int:
    """COPY an iterable of {field.attname: value} dicts into the model's table."""
    fields = list(model._meta.concrete_fields)
    columns = ", ".join(f'"{f.column}"' for f in fields)
    defaults = {}
    for f in fields:
        if f.has_default():
            defaults[f.attname] = f.get_default()
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = NOW
        elif f.null:
            defaults[f.attname] = None
        else:
            defaults[f.attname] = (
                "" if f.get_internal_type() in ("CharField", "TextField", "EmailField") else None
            )
    sql = f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN'
    buffer = io.StringIO()
    count = 0

    def flush():
        buffer.seek(0)
        cursor.copy_expert(sql, buffer)
        buffer.seek(0)
        buffer.truncate()

    for row in rows:
        buffer.write("\t".join(_text(row.get(f.attname, defaults[f.attname])) for f in fields))
        buffer.write("\n")
        count += 1
        if count % chunk == 0:
            flush()
    if buffer.tell():
        flush()
    return count


NOW = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.UTC)


def _next_id(cursor, table: str) -> int:
    cursor.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"')
    return cursor.fetchone()[0]


def _reset_sequence(cursor, table: str) -> None:
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
        f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
    )


def build(
    *,
    officials: int = OFFICIALS,
    courses: int = COURSES,
    sessions_per_course: int = SESSIONS_PER_COURSE,
    enrolled_per_course: int = ENROLLED_PER_COURSE,
    seed: int = 42,
    verbose: bool = True,
) -> dict[str, int]:
    """Build (once) the data set in the database Django is configured with; return the counts."""
    if connection.vendor != "postgresql":
        raise SystemExit("benchmarks.dataset needs PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    load_public_record()
    expected = {
        "officials": officials,
        "courses": courses,
        "sessions": courses * sessions_per_course,
        "enrollments": courses * enrolled_per_course,
        "attendance": courses * sessions_per_course * enrolled_per_course,
    }
    existing = Course.objects.filter(reference_key__startswith=BENCH_MARKER).count()
    if existing:
        counts = {
            "officials": Official.objects.count(),
            "courses": existing,
            "sessions": Session.objects.count(),
            "enrollments": Enrollment.objects.count(),
            "attendance": Attendance.objects.count(),
        }
        if counts != expected:
            raise SystemExit(
                f"Database already holds a different benchmark data set: {counts}; use a fresh database."
            )
        return counts

    rng = random.Random(seed)
    started = time.perf_counter()
    ministry_ids = list(Ministry.objects.filter(dissolved_on__isnull=True).values_list("id", flat=True))
    programme_id = Project.objects.values_list("programme_id", flat=True).first()
    sexes = ["female"] * 45 + ["male"] * 53 + ["other"] * 2
    statuses = ["present"] * 78 + ["late"] * 9 + ["excused"] * 7 + ["absent"] * 6

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        project_id = _next_id(cursor, Project._meta.db_table)
        projects = max(1, courses // 100)
        _copy(
            cursor,
            Project,
            (
                {
                    "id": project_id + p,
                    "programme_id": programme_id,
                    "title": f"Benchmark project {p + 1}",
                    "reference_key": f"{BENCH_MARKER}project:{p + 1}",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for p in range(projects)
            ),
        )
        course_id = _next_id(cursor, Course._meta.db_table)
        _copy(
            cursor,
            Course,
            (
                {
                    "id": course_id + c,
                    "project_id": project_id + c % projects,
                    "number": c // projects + 1,
                    "title": f"Benchmark course {c + 1}",
                    "venue": "Phnom Penh",
                    "start_date": datetime.date(2019, 1, 1) + datetime.timedelta(days=c),
                    "end_date": datetime.date(2019, 1, 1) + datetime.timedelta(days=c + sessions_per_course),
                    "reference_key": f"{BENCH_MARKER}course:{c + 1}",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for c in range(courses)
            ),
        )
        official_id = _next_id(cursor, Official._meta.db_table)
        _copy(
            cursor,
            Official,
            (
                {
                    "id": official_id + o,
                    "family_name": f"Family{o}",
                    "given_name": f"Given{o}",
                    "name_km": f"មន្ត្រី {o}",
                    "sex": rng.choice(sexes),
                    "position": "Officer",
                    "ministry_id": ministry_ids[o % len(ministry_ids)],
                    "email": f"official{o}@bench.invalid",
                    "phone": f"+855{o:08d}",
                    "preferred_language": "km" if o % 3 else "en",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for o in range(officials)
            ),
        )
        session_id = _next_id(cursor, Session._meta.db_table)
        session_rows = []
        for c in range(courses):
            for s in range(sessions_per_course):
                start = datetime.datetime(2019, 1, 1, 1, 30, tzinfo=datetime.UTC) + datetime.timedelta(
                    days=c + s
                )
                session_rows.append(
                    {
                        "id": session_id + c * sessions_per_course + s,
                        "course_id": course_id + c,
                        "title": f"Session {s + 1}",
                        "starts_at": start,
                        "ends_at": start + datetime.timedelta(hours=7),
                        "venue": "Phnom Penh",
                        "status": "scheduled",
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
        _copy(cursor, Session, session_rows)
        enrollment_id = _next_id(cursor, Enrollment._meta.db_table)
        ministry_names = dict(Ministry.objects.values_list("id", "name_en"))
        members: list[list[int]] = []
        enrollment_rows = []
        for c in range(courses):
            chosen = rng.sample(range(officials), enrolled_per_course)
            members.append(chosen)
            for position, o in enumerate(chosen):
                ministry_id = ministry_ids[o % len(ministry_ids)]
                enrollment_rows.append(
                    {
                        "id": enrollment_id + c * enrolled_per_course + position,
                        "official_id": official_id + o,
                        "course_id": course_id + c,
                        "status": "enrolled",
                        "enrolled_on": datetime.date(2018, 12, 1),
                        "ministry_id": ministry_id,
                        "ministry_name_en": ministry_names[ministry_id],
                        "position": "Officer",
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
        _copy(cursor, Enrollment, enrollment_rows)

        def attendance_rows():
            next_id = _next_id(cursor, Attendance._meta.db_table)
            for c in range(courses):
                for s in range(sessions_per_course):
                    sid = session_id + c * sessions_per_course + s
                    for position in range(enrolled_per_course):
                        yield {
                            "id": next_id,
                            "enrollment_id": enrollment_id + c * enrolled_per_course + position,
                            "session_id": sid,
                            "status": rng.choice(statuses),
                            "recorded_at": NOW,
                            "version": 1,
                            "created_at": NOW,
                            "updated_at": NOW,
                        }
                        next_id += 1

        _copy(cursor, Attendance, attendance_rows())
        for model in (Project, Course, Official, Session, Enrollment, Attendance):
            _reset_sequence(cursor, model._meta.db_table)
    # Written around the services, so the report figures' rollups are built as after any bulk load.
    with transaction.atomic():
        rollups.rebuild()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    if verbose:
        print(
            f"benchmark data set built in {time.perf_counter() - started:.1f}s: {expected}", file=sys.stderr
        )
    return expected


if __name__ == "__main__":
    print(build())
