"""Every page that shows figures or the record costs the same SQL statements whatever the size of
the attendance: the same bound with 10 marks as with 1,000 (the figures come from the rollups, the
lists are paged, the history is limited in SQL)."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from participants.models import Attendance
from participants.services import AttendanceRow, attendance_record_many
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    MinistryFactory,
    OfficialFactory,
    ProjectFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db

# (courses, held sessions per course, officials per course): 10 marks, or 1,000. The courses are of
# one series: the series figures cost a few statements per series (a handful in the programme).
SIZES = {10: (1, 2, 5), 1000: (2, 10, 50)}


@pytest.fixture(params=sorted(SIZES), ids=lambda n: f"{n}_marks")
def record(request, staff):
    """A programme whose every enrolled official was present at every held session, plus one session
    still to come; all written through the register, as staff do."""
    courses, sessions, officials = SIZES[request.param]
    ministry = MinistryFactory()
    people = [OfficialFactory(ministry=ministry, sex=("female", "male")[n % 2]) for n in range(officials)]
    start = timezone.now() - datetime.timedelta(days=30)
    made, project = [], ProjectFactory()
    for number in range(courses):
        course = CourseFactory(project=project, number=100 + number)
        enrolments = [EnrollmentFactory(official=person, course=course) for person in people]
        held = [
            SessionFactory(course=course, starts_at=start + datetime.timedelta(days=day))
            for day in range(sessions)
        ]
        SessionFactory(course=course, starts_at=timezone.now() + datetime.timedelta(days=7))
        for session in held:
            rows = [AttendanceRow(enrollment=e, status="present") for e in enrolments]
            attendance_record_many(session=session, rows=rows, recorded_by=staff)
        made.append((course, held, enrolments))
    assert Attendance.objects.count() == request.param
    return {"marks": request.param, "courses": made, "official": people[0]}


def _get(client, url, django_assert_max_num_queries, most: int):
    with django_assert_max_num_queries(most):
        response = client.get(url)
    assert response.status_code == 200
    return response


def test_dashboard(record, staff_client, django_assert_max_num_queries):
    response = _get(staff_client, reverse("dashboard"), django_assert_max_num_queries, 14)
    rates = {course.pk: course.attendance_rate for course in response.context["courses"]}
    assert rates == {course.pk: 1.0 for course, _held, _enrolments in record["courses"]}


def test_course_list(record, staff_client, django_assert_max_num_queries):
    response = _get(staff_client, reverse("course_list"), django_assert_max_num_queries, 12)
    assert {course.attendance_rate for course in response.context["courses"]} == {1.0}


def test_programme_report(record, officer_client, django_assert_max_num_queries):
    response = _get(officer_client, "/reports/", django_assert_max_num_queries, 14)
    figures = response.context["table"].extra["figures"]
    assert figures.attended == figures.expected == record["marks"]


def test_ministry_report(record, officer_client, django_assert_max_num_queries):
    response = _get(officer_client, "/reports/ministries/", django_assert_max_num_queries, 14)
    [(_ministry, figures, _names)] = response.context["table"].extra["groups"]
    assert figures.attended == record["marks"]


def test_sessions_report(record, officer_client, django_assert_max_num_queries):
    response = _get(officer_client, "/reports/sessions/", django_assert_max_num_queries, 14)
    sessions = response.context["table"].extra["sessions"]
    assert sum(figures.attended.total for _session, figures in sessions) == record["marks"]


def test_course_report(record, officer_client, django_assert_max_num_queries):
    course, held, enrolments = record["courses"][0]
    response = _get(officer_client, f"/reports/courses/{course.pk}/", django_assert_max_num_queries, 16)
    assert len(response.context["table"].rows) == len(enrolments)
    assert all(row[-5:-3] == [len(held), len(held)] for row in response.context["table"].rows)


def test_api_summary(record, officer_client, django_assert_max_num_queries):
    response = _get(officer_client, "/api/v1/reports/attendance-summary/", django_assert_max_num_queries, 20)
    assert response.json()["total"]["attended_sessions"] == record["marks"]


def test_session_page(record, staff_client, django_assert_max_num_queries):
    _course, held, enrolments = record["courses"][0]
    response = _get(
        staff_client, reverse("session_detail", args=[held[0].pk]), django_assert_max_num_queries, 20
    )
    page = response.content.decode().lower()
    assert enrolments[-1].official.family_name.lower() in page


def test_official_page(record, staff_client, django_assert_max_num_queries):
    official = record["official"]
    response = _get(
        staff_client, reverse("official_detail", args=[official.pk]), django_assert_max_num_queries, 20
    )
    assert official.family_name.lower() in response.content.decode().lower()


def test_audit_page(record, superuser_client, django_assert_max_num_queries):
    response = _get(superuser_client, reverse("audit_log"), django_assert_max_num_queries, 20)
    assert "sophea.staff" in response.content.decode()  # who recorded the marks
