"""Every export costs the same number of queries for 10 attendance rows as for 1,000: CSV, XLSX
made in the request, XLSX written by the worker, and PDF, of the attendance rows and of the report
tables, for one course and for the whole programme (several series, courses and ministries at 1,000
rows). (The audit export: tests/security/test_audit_queries.py.)"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from participants.models import Enrollment, ExportJob, Official
from participants.reports import jobs
from participants.reports.tasks import run_export
from participants.services import (
    AttendanceRow,
    attendance_record_many,
    enrollments_create_many,
    officials_create_many,
)
from tests.factories import CourseFactory, MinistryFactory, SessionFactory
from tests.reports.growing_record import GrowingRecord

pytestmark = pytest.mark.django_db


def make_course(sessions: int, enrolled: int):
    """A course of `sessions` held sessions × `enrolled` officials, every one marked at each."""
    ministry = MinistryFactory()
    course = CourseFactory()
    held = [
        SessionFactory(
            course=course, title=f"S{n}", starts_at=timezone.now() - datetime.timedelta(days=n + 1)
        )
        for n in range(sessions)
    ]
    officials = officials_create_many(
        officials=[
            Official(family_name=f"Keo{n}", given_name="=1+1", ministry=ministry, sex="female")
            for n in range(enrolled)
        ]
    )
    enrollments_create_many(course=course, entries=[(official, None) for official in officials])
    enrollments = list(Enrollment.objects.filter(course=course))
    for session in held:
        attendance_record_many(
            session=session, rows=[AttendanceRow(status="present", enrollment=e) for e in enrollments]
        )
    return course


URLS = [
    "/reports/export/attendance.csv?course={course}",
    "/reports/export/attendance.xlsx?course={course}",
    "/reports/export/sessions.csv?course={course}",
    "/reports/export/sessions.xlsx?course={course}",
    "/reports/export/sessions.pdf?course={course}",
    "/reports/export/course.csv?course={course}",
    "/reports/export/course.xlsx?course={course}",
    "/reports/export/course.pdf?course={course}",
    "/reports/export/programme.csv?course={course}",
    "/reports/export/ministries.xlsx?course={course}",
]


def _queries(client, url: str) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200, (url, body[:300])
    return len(captured), body


def _job_queries(staff, course, fmt: str) -> tuple[int, ExportJob]:
    job = jobs.export_start(
        user=staff,
        report="attendance",
        fmt=fmt,
        query={"course": str(course.pk)},
        contact=False,
        file_name="x",
    )
    with CaptureQueriesContext(connection) as captured:
        run_export(job.pk)
    job.refresh_from_db()
    assert job.state == "done", job.reason
    return len(captured), job


def test_every_export_costs_the_same_queries_for_10_rows_as_for_1000(
    staff, staff_client, settings, tmp_path, monkeypatch
):
    settings.PCP_EXPORT_DIR = tmp_path
    # Progress is reported every REPORT_EVERY_ROWS rows (5,000: none here) or every few seconds;
    # a slow shared machine must not add a report to one run and not the other.
    monkeypatch.setattr(jobs, "REPORT_EVERY_SECONDS", 3600)
    small = make_course(sessions=1, enrolled=10)
    large = make_course(sessions=10, enrolled=100)

    few = {url: _queries(staff_client, url.format(course=small.pk))[0] for url in URLS}
    many = {url: _queries(staff_client, url.format(course=large.pk)) for url in URLS}
    assert few == {url: queries for url, (queries, _body) in many.items()}
    assert max(few.values()) <= 16, few
    assert many[URLS[0]][1].decode("utf-8-sig").count("\n") == 1 + 1000

    for fmt in ("xlsx", "csv"):
        few_job, _small_job = _job_queries(staff, small, fmt)
        many_job, large_job = _job_queries(staff, large, fmt)
        assert few_job == many_job <= 12
        assert large_job.rows_done == 1000


# Every report of the whole programme, in every format it has (the attendance rows have no PDF:
# it is refused with links to CSV and XLSX, at any size).
PROGRAMME_URLS = [
    *(
        f"/reports/export/{report}.{fmt}"
        for report in ("programme", "ministries", "sessions", "series")
        for fmt in ("csv", "xlsx", "pdf")
    ),
    "/reports/export/attendance.csv",
    "/reports/export/attendance.xlsx",
]


def test_every_whole_programme_export_costs_the_same_queries_for_10_rows_as_for_1000(
    staff, staff_client, settings, tmp_path, monkeypatch
):
    settings.PCP_EXPORT_DIR = tmp_path
    monkeypatch.setattr(jobs, "REPORT_EVERY_SECONDS", 3600)
    record = GrowingRecord(recorded_by=staff)
    few = {url: _queries(staff_client, url)[0] for url in PROGRAMME_URLS}
    few_jobs = {fmt: _programme_job(staff, fmt)[0] for fmt in ("xlsx", "csv")}
    record.grow()
    many = {url: _queries(staff_client, url) for url in PROGRAMME_URLS}
    many_jobs = {fmt: _programme_job(staff, fmt) for fmt in ("xlsx", "csv")}

    assert few == {url: queries for url, (queries, _body) in many.items()}
    assert max(few.values()) <= 16, few
    assert few_jobs == {fmt: queries for fmt, (queries, _job) in many_jobs.items()}
    assert max(few_jobs.values()) <= 12, few_jobs
    # The files hold the grown record: every attendance row, every series.
    attendance = many["/reports/export/attendance.csv"][1].decode("utf-8-sig")
    assert attendance.count("\n") == 1 + record.marks
    series = many["/reports/export/series.csv"][1].decode("utf-8-sig")
    assert all(str(course.project) in series for course, _held, _enrolments in record.courses)
    assert all(job.rows_done == record.marks for _queries, job in many_jobs.values())


def _programme_job(staff, fmt: str) -> tuple[int, ExportJob]:
    job = jobs.export_start(user=staff, report="attendance", fmt=fmt, query={}, contact=False, file_name="x")
    with CaptureQueriesContext(connection) as captured:
        run_export(job.pk)
    job.refresh_from_db()
    assert job.state == "done", job.reason
    return len(captured), job
