"""The sessions report and the course list page on the server: the same queries for a few rows as
for many, and each page's figures the same as the whole list's."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from courses.models import Course, Session
from participants import rollups
from participants.models import Attendance, Enrollment
from participants.pages import COURSES_PER_PAGE
from participants.reports import figures as fig
from participants.reports import tables
from tests.factories import MinistryFactory, OfficialFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def _courses(count: int, *, sessions: int, officials) -> list[Course]:
    """`count` courses, each with `sessions` held sessions and the officials marked at each."""
    project = ProjectFactory()
    start = timezone.now() - datetime.timedelta(days=count + 10)
    ministry = officials[0].ministry
    courses = Course.objects.bulk_create(
        Course(project=project, number=1000 + n, title=f"Course {n}", venue="Phnom Penh")
        for n in range(count)
    )
    marks = []
    for n, course in enumerate(courses):
        held = Session.objects.bulk_create(
            Session(course=course, title=f"S{n}.{i}", starts_at=start + datetime.timedelta(days=n, hours=i))
            for i in range(sessions)
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
            Attendance(
                enrollment=e, session=s, status=("present", "absent")[(e.pk + s.pk) % 2], recorded_at=start
            )
            for e in enrolments
            for s in held
        ]
    Attendance.objects.bulk_create(marks)
    # Written around the services (bulk, for speed), so the figures' rollups are rebuilt as after
    # any bulk load.
    rollups.rebuild()
    return courses


@pytest.fixture
def officials():
    ministry = MinistryFactory()
    return [OfficialFactory(ministry=ministry) for _ in range(3)]


def _queries(client, url, django_assert_max_num_queries, most: int):
    with django_assert_max_num_queries(most) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response


def test_the_sessions_report_costs_the_same_queries_for_10_or_250_sessions(
    officer_client, officials, django_assert_max_num_queries
):
    _courses(2, sessions=5, officials=officials)
    few, _response = _queries(officer_client, "/reports/sessions/", django_assert_max_num_queries, 14)
    _courses(48, sessions=5, officials=officials)
    many, first = _queries(officer_client, "/reports/sessions/", django_assert_max_num_queries, 14)
    _, last = _queries(officer_client, "/reports/sessions/?page=3", django_assert_max_num_queries, 14)

    assert few == many
    assert len(first.context["table"].rows) == tables.SESSIONS_PER_PAGE
    assert len(last.context["table"].rows) == 50
    assert "Page 1 of 3" in first.content.decode() and 'rel="next"' in first.content.decode()


def test_a_page_of_the_sessions_report_has_the_figures_of_the_whole_report(officials):
    _courses(3, sessions=50, officials=officials)
    now = timezone.now()
    whole = tables.session_table(fig.ReportFilters(), now=now)
    pages = [tables.session_page(fig.ReportFilters(), number, now=now)[0] for number in (1, 2)]

    assert [row for page in pages for row in page.rows] == whole.rows
    assert [str(session) for session, _f in pages[1].extra["sessions"]][:1] == [
        str(whole.extra["sessions"][100][0])
    ]


def test_the_sessions_report_pages_keep_the_filters(officer_client, officials):
    courses = _courses(3, sessions=60, officials=officials)
    response = officer_client.get(f"/reports/sessions/?course={courses[1].pk}")

    assert len(response.context["table"].rows) == 60
    assert not response.context["page"].has_other_pages()
    response = officer_client.get(f"/reports/sessions/?course={courses[1].pk}&date_from=2000-01-01&page=1")
    assert len(response.context["table"].rows) == 60


def test_the_course_list_costs_the_same_queries_for_10_or_120_courses(
    staff_client, officials, django_assert_max_num_queries
):
    _courses(10, sessions=2, officials=officials)
    few, _response = _queries(staff_client, reverse("course_list"), django_assert_max_num_queries, 12)
    _courses(110, sessions=2, officials=officials)
    many, first = _queries(staff_client, reverse("course_list"), django_assert_max_num_queries, 12)
    _, last = _queries(staff_client, reverse("course_list") + "?page=3", django_assert_max_num_queries, 12)

    assert few == many
    assert len(first.context["courses"]) == COURSES_PER_PAGE and len(last.context["courses"]) == 20
    assert 'rel="next"' in first.content.decode()
    # The page's rates are the reports' own, read for the page's courses only.
    by_course = fig.grouped_figures(fig.ReportFilters(), "course")
    for course in last.context["courses"]:
        assert course.attendance_rate == by_course[(course.pk,)].attendance_rate


def test_the_paged_lists_answer_when_there_is_nothing_to_list(officer_client, staff_client):
    response = officer_client.get("/reports/sessions/")
    assert response.status_code == 200 and response.context["table"].rows == []
    response = staff_client.get(reverse("course_list"))
    assert response.status_code == 200 and response.context["courses"] == []
    assert staff_client.get(reverse("dashboard")).status_code == 200
