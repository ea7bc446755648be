"""A large synthetic data set for benchmarks, written with PostgreSQL COPY (no save() per row).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_bench .venv/bin/python -m benchmarks.dataset \
        [--size 100k]

or, from a benchmark script:

    from benchmarks.dataset import SIZES, build
    counts = build(**SIZES["100k"])   # or build(officials=…, courses=…, …)

Defaults give 20,000 officials, 500 courses, 5,000 sessions, 100,000 enrolments and
1,000,000 attendance rows (every enrolled official at every session of the course).
BENCH_OFFICIALS, BENCH_COURSES, BENCH_SESSIONS_PER_COURSE and BENCH_ENROLLED_PER_COURSE change
the defaults (SIZES names the 1k, 10k, 100k and 1M sets: courses of 200 officials × 10 sessions,
1 course of 100 at 1k), so that any benchmark built on this set can be tried end to end on a small one
(in a database of its own: a set of another size is refused). The
database is migrated and the public record loaded first. build() is idempotent: when the data
set is already there with the asked-for size it returns at once, so several benchmarks can
share one database. Column lists come from the models, and any column this module does not
know gets the field's default, so fields added later keep working.

History is written as the services write it: every created row has its django-simple-history row
("+", the same columns as the row), and one attendance row in ten was changed once after it was
taken (version 2: a "+" row with the first status and a "~" row with the current one), so the audit
page, the history reads and the exports meet as many history rows as real use leaves behind. Those
rows are copied from the tables just written by INSERT … SELECT inside PostgreSQL.

On the development machine the full default set is already built in the database
`pcp_bench` (postgres://postgres@127.0.0.1:5432/pcp_bench; about 3 minutes to build anew with its
history on a busy machine); read-only benchmarks may share it, a benchmark that writes should build
its own copy.
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
# The named sizes (attendance rows). From 10k up: courses of 200 enrolled × 10 sessions and 40
# officials per course, so that a course looks the same at every size and only their number grows.
SIZES = {
    "1k": {"officials": 200, "courses": 1, "sessions_per_course": 10, "enrolled_per_course": 100},
    "10k": {"officials": 200, "courses": 5, "sessions_per_course": 10, "enrolled_per_course": 200},
    "100k": {"officials": 2_000, "courses": 50, "sessions_per_course": 10, "enrolled_per_course": 200},
    "1M": {"officials": 20_000, "courses": 500, "sessions_per_course": 10, "enrolled_per_course": 200},
}
# Every CHANGED_EVERY-th attendance row was changed once after it was taken (version 2).
CHANGED_EVERY = 10


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
# When the register was first taken; the changed rows were changed at NOW.
TAKEN = NOW - datetime.timedelta(days=1)


def _next_id(cursor, table: str) -> int:
    cursor.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"')
    return cursor.fetchone()[0]


def _reset_sequence(cursor, table: str) -> None:
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
        f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
    )


def _insert_attendance(cursor, *, first_session: int, first_enrollment: int, seed: int) -> None:
    """Every enrolled official of a course at every session of it, generated inside PostgreSQL (a
    million rows in seconds, where building them in Python took minutes on a busy machine): in
    session then enrolment order, the status drawn with PostgreSQL's seeded random() in the same
    shares as before, every CHANGED_EVERY-th row at version 2."""
    fields = [f for f in Attendance._meta.concrete_fields if f.attname != "id"]
    given = {
        "enrollment_id": "e_id",
        "session_id": "s_id",
        "status": "CASE WHEN r < 0.78 THEN 'present' WHEN r < 0.87 THEN 'late' "
        "WHEN r < 0.94 THEN 'excused' ELSE 'absent' END",
        "recorded_at": "%(now)s",
        "version": f"CASE WHEN n %% {CHANGED_EVERY} = 0 THEN 2 ELSE 1 END",
        "created_at": "%(taken)s",
        "updated_at": "%(now)s",
    }
    params: dict = {
        "now": NOW,
        "taken": TAKEN,
        "first_session": first_session,
        "first_enrollment": first_enrollment,
    }
    values = []
    for f in fields:
        if f.attname in given:
            values.append(given[f.attname])
        else:  # note, recorded_by, is_demo, and whatever is added later: the field's default
            params[f.attname] = f.get_default() if f.has_default() else ("" if not f.null else None)
            values.append(f"%({f.attname})s")
    columns = ", ".join(f'"{f.column}"' for f in fields)
    cursor.execute("SELECT setseed(%s)", [seed / 1000])
    cursor.execute(
        f"""
        INSERT INTO "{Attendance._meta.db_table}" ({columns})
        SELECT {", ".join(values)} FROM (
            SELECT e.id AS e_id, s.id AS s_id, random() AS r,
                   row_number() OVER (ORDER BY s.id, e.id) AS n
            FROM "{Session._meta.db_table}" s
            JOIN "{Enrollment._meta.db_table}" e ON e.course_id = s.course_id
            WHERE s.id >= %(first_session)s AND e.id >= %(first_enrollment)s
        ) g
        ORDER BY g.n
        """,
        params,
    )


def _history_insert(model, *, where: str, history_type: str, history_date: str, overrides=None) -> str:
    """INSERT … SELECT of one history row per row of `model` matching `where`, as simple-history
    writes it: the row's own columns, then the history date, type, no user, reason nor address."""
    history = model.history.model
    base_columns = {f.column for f in model._meta.concrete_fields}
    overrides = overrides or {}
    columns, values = [], []
    for f in history._meta.concrete_fields:
        if f.column == "history_id":
            continue
        columns.append(f'"{f.column}"')
        if f.column in overrides:
            values.append(overrides[f.column])
        elif f.column == "history_date":
            values.append(history_date)
        elif f.column == "history_type":
            values.append(f"'{history_type}'")
        elif f.column in base_columns:
            values.append(f'b."{f.column}"')
        else:  # history_user_id, history_change_reason, ip_address, …
            values.append("NULL")
    return (
        f'INSERT INTO "{history._meta.db_table}" ({", ".join(columns)}) '
        f'SELECT {", ".join(values)} FROM "{model._meta.db_table}" b WHERE {where} ORDER BY b.id'
    )


def _write_history(cursor, models, *, first_ids) -> None:
    """One "+" row for every row created above, dated when it was created."""
    for model in models:
        if getattr(model, "history", None) is None:
            continue
        cursor.execute(
            _history_insert(
                model, where=f"b.id >= {int(first_ids[model])}", history_type="+", history_date="b.created_at"
            )
        )


def _write_attendance_history(cursor) -> None:
    """A "+" row per attendance row; for the rows at version 2 the first status at version 1, then
    the "~" row of the change with the current status (the shape attendance_record leaves)."""
    first = "CASE WHEN b.status = 'absent' THEN 'present' ELSE 'absent' END"
    cursor.execute(
        _history_insert(
            Attendance,
            where="b.version = 1 AND b.created_at = %s",
            history_type="+",
            history_date="b.created_at",
        ),
        [TAKEN],
    )
    cursor.execute(
        _history_insert(
            Attendance,
            where="b.version = 2 AND b.created_at = %s",
            history_type="+",
            history_date="b.created_at",
            overrides={"status": first, "version": "1", "updated_at": "b.created_at"},
        ),
        [TAKEN],
    )
    cursor.execute(
        _history_insert(
            Attendance,
            where="b.version = 2 AND b.created_at = %s",
            history_type="~",
            history_date="b.updated_at",
        ),
        [TAKEN],
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

        _insert_attendance(cursor, first_session=session_id, first_enrollment=enrollment_id, seed=seed)
        for model in (Project, Course, Official, Session, Enrollment, Attendance):
            _reset_sequence(cursor, model._meta.db_table)
        _write_history(cursor, (Project, Course, Official, Session, Enrollment), first_ids={
            Project: project_id, Course: course_id, Official: official_id, Session: session_id,
            Enrollment: enrollment_id,
        })  # fmt: skip
        _write_attendance_history(cursor)
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
    import argparse

    parser = argparse.ArgumentParser(description="Build the benchmark data set (once) in DATABASE_URL.")
    parser.add_argument("--size", choices=SIZES, help="a named size (default: the BENCH_* variables)")
    arguments = parser.parse_args()
    print(build(**SIZES[arguments.size]) if arguments.size else build())
