"""On PostgreSQL: the course report reads only its own course's marks, through an index, so its time
does not grow with the other courses' attendance."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from courses.models import Session
from participants import rollups
from participants.models import Attendance, Enrollment, EnrolmentRollup
from participants.reports import figures as fig
from participants.reports import tables
from tests.factories import CourseFactory, MinistryFactory, OfficialFactory

ATTENDANCE = Attendance._meta.db_table
COURSES, OFFICIALS, SESSIONS = 30, 40, 10


@pytest.fixture
def many_courses(postgres):
    """30 courses of 40 officials × 10 held sessions: the chosen course holds 1/30 of the marks."""
    ministry = MinistryFactory()
    start = timezone.now() - datetime.timedelta(days=100)
    officials = [OfficialFactory(ministry=ministry) for _ in range(OFFICIALS)]
    courses, marks = [], []
    for number in range(1, COURSES + 1):
        course = CourseFactory(number=number)
        courses.append(course)
        sessions = Session.objects.bulk_create(
            Session(course=course, title=f"S{i}", starts_at=start + datetime.timedelta(days=i))
            for i in range(SESSIONS)
        )
        enrolments = Enrollment.objects.bulk_create(
            Enrollment(
                official=official,
                course=course,
                enrolled_on=start.date(),
                ministry=ministry,
                ministry_name_en=ministry.name_en,
            )
            for official in officials
        )
        marks += [
            Attendance(enrollment=enrolment, session=session, status="present", recorded_at=start)
            for enrolment in enrolments
            for session in sessions
        ]
    Attendance.objects.bulk_create(marks)
    rollups.rebuild()  # written around the services, as a bulk load is
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {ATTENDANCE}, participants_enrollment, courses_session")
    return courses


def _scans_of(node: dict, relation: str):
    if node.get("Relation Name") == relation:
        yield node
    for child in node.get("Plans", []):
        yield from _scans_of(child, relation)


def _attendance_scans(sql: str) -> list[dict]:
    with connection.cursor() as cursor:
        # The question is whether the query CAN read the course's marks through an index whatever
        # statistics other tests leave behind: with sequential scans priced out, a query that needs
        # every mark still reads the whole table (a Seq Scan, or an index scan with no condition).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_seqscan = on")
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return list(_scans_of(plan[0]["Plan"], ATTENDANCE))


def test_the_course_report_reads_its_course_marks_by_index(many_courses):
    course = many_courses[3]
    with CaptureQueriesContext(connection) as queries:
        table = tables.course_matrix(course, fig.ReportFilters(), contact=False)
    assert len(table.rows) == OFFICIALS
    assert table.rows[0][-5:-3] == [SESSIONS, SESSIONS]  # attended, held
    reading = [query["sql"] for query in queries.captured_queries if ATTENDANCE in query["sql"]]
    assert len(reading) == 2  # the figures and the marks
    for sql in reading:
        scans = _attendance_scans(sql)
        assert scans, sql
        for scan in scans:
            assert scan["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan"), scan
            condition = scan.get("Index Cond") or scan.get("Recheck Cond") or ""
            assert "session_id" in condition or "enrollment_id" in condition, scan


def test_the_covering_index_exists(postgres):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname = 'attendance_session_enrol'",
            [ATTENDANCE],
        )
        (definition,) = cursor.fetchone()
    assert "(session_id, enrollment_id, status)" in definition


def test_the_course_report_reads_its_course_rollups_by_index(many_courses):
    """The figures of one course read that course's rollups (40 of 1,200), through their index."""
    course = many_courses[3]
    rollup = EnrolmentRollup._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        tables.course_matrix(course, fig.ReportFilters(), contact=False)
    [sql] = [query["sql"] for query in queries.captured_queries if rollup in query["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {rollup}")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_seqscan = on")
    plan = json.loads(plan) if isinstance(plan, str) else plan
    scans = list(_scans_of(plan[0]["Plan"], rollup))
    assert scans
    for scan in scans:
        assert scan["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan"), scan
        assert "course_id" in (scan.get("Index Cond") or scan.get("Recheck Cond") or ""), scan


def test_a_date_range_reads_only_the_marks_of_its_sessions_by_index(many_courses):
    """A report of a date range reads the attendance (the rollups cannot tell sessions apart), but
    only the marks of the range's sessions, through the index on session; the per-session figures
    of the range come from the session rollups and read no attendance at all."""
    first = Session.objects.order_by("starts_at").first().starts_at
    day = timezone.localdate(first + datetime.timedelta(days=2))
    filters = fig.ReportFilters(date_from=day, date_to=day + datetime.timedelta(days=1))  # 2 of 10 sessions
    with CaptureQueriesContext(connection) as queries:
        report = fig.report_figures(filters, ("programme", "ministry"), reach=True)
    figures = report.groups["programme"][()]
    assert figures.attended == figures.expected == COURSES * OFFICIALS * 2
    [sql] = [query["sql"] for query in queries.captured_queries if ATTENDANCE in query["sql"]]
    scans = _attendance_scans(sql)
    assert scans, sql
    for scan in scans:
        assert scan["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan"), scan
        assert "session_id" in (scan.get("Index Cond") or scan.get("Recheck Cond") or ""), scan

    with CaptureQueriesContext(connection) as queries:
        sessions = fig.session_figures(filters)
    assert len(sessions) == COURSES * 2
    assert {figures.attended.total for figures in sessions.values()} == {OFFICIALS}
    assert not any(ATTENDANCE in query["sql"] for query in queries.captured_queries)
