"""Courses and sessions in the browser's HTML: who may see and change what, and bad input refused."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses.models import Course, Session
from tests.factories import AttendanceFactory, CourseFactory, EnrollmentFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    return CourseFactory(number=7, title="Quality infrastructure")


@pytest.fixture
def session(course):
    return SessionFactory(course=course, title="Opening day")


def _local(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("name", ["dashboard", "course_list", "course_create"])
def test_anonymous_visitors_are_sent_to_log_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_partner_sees_no_portal_page(partner_client, course, session):
    for url in [
        reverse("dashboard"),
        reverse("course_list"),
        reverse("course_detail", args=[course.pk]),
        reverse("session_detail", args=[session.pk]),
    ]:
        assert partner_client.get(url).status_code == 403


def test_officer_reads_pages_without_edit_controls(officer_client, course, session):
    html = officer_client.get(reverse("course_detail", args=[course.pk])).content.decode()
    assert "Quality infrastructure" in html
    assert reverse("session_create", args=[course.pk]) not in html
    assert reverse("course_edit", args=[course.pk]) not in html
    assert "walk-in" not in html.lower()
    html = officer_client.get(reverse("session_detail", args=[session.pk])).content.decode()
    assert "Opening day" in html
    assert 'id="register-form"' not in html
    assert reverse("session_cancel", args=[session.pk]) not in html


def test_officer_cannot_post_changes(officer_client, course, session):
    assert officer_client.get(reverse("course_create")).status_code == 403
    response = officer_client.post(reverse("session_cancel", args=[session.pk]), {"reason": "forged"})
    assert response.status_code == 403
    session.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED


def test_dashboard_shows_progress_today_and_next_sessions(staff_client, course):
    now = timezone.now()
    held = SessionFactory(course=course, title="Held yesterday", starts_at=now - datetime.timedelta(days=1))
    SessionFactory(course=course, title="Planned next week", starts_at=now + datetime.timedelta(days=7))
    SessionFactory(
        course=course,
        title="Called off",
        starts_at=now + datetime.timedelta(days=3),
        status=Session.Status.CANCELLED,
        cancelled_at=now,
    )
    present = EnrollmentFactory(course=course)
    absent = EnrollmentFactory(course=course)
    EnrollmentFactory(course=course)  # nobody marked this one: it counts as not attended
    AttendanceFactory(enrollment=present, session=held, status="present")
    AttendanceFactory(enrollment=absent, session=held, status="absent")
    html = staff_client.get(reverse("dashboard")).content.decode()
    assert "Course 7" in html
    assert "1 of 2" in html  # one held of two planned (the cancelled one does not count)
    assert "33.3 %" in html  # 1 attended of 3 expected: the reports' definition
    report = staff_client.get(reverse("reports:programme"), {"course": course.pk}).content.decode()
    assert "33.3 %" in report  # the same figure as the programme report
    assert "Planned next week" in html


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_course_pages_and_dashboard_cost_a_fixed_number_of_queries(staff_client, course):
    EnrollmentFactory(course=course)
    SessionFactory(course=course)
    detail = reverse("course_detail", args=[course.pk])
    search = detail + "?q=Dara"
    few = {url: _queries(staff_client, url) for url in (detail, search, reverse("dashboard"))}
    for _ in range(10):
        EnrollmentFactory(course=course)
        SessionFactory(course=course)
    CourseFactory()
    many = {url: _queries(staff_client, url) for url in (detail, search, reverse("dashboard"))}
    assert many == few


def test_staff_creates_a_session(staff_client, staff, course):
    starts = timezone.now().replace(second=0, microsecond=0) + datetime.timedelta(days=2)
    response = staff_client.post(
        reverse("session_create", args=[course.pk]),
        {
            "title": "Standards and metrology",
            "starts_at": _local(starts),
            "ends_at": _local(starts + datetime.timedelta(hours=3)),
            "venue": "MISTI",
        },
    )
    session = Session.objects.get(title="Standards and metrology")
    assert response.status_code == 302
    assert response["Location"] == reverse("session_detail", args=[session.pk])
    assert session.starts_at == starts
    assert session.history.first().history_user == staff


def test_a_session_that_ends_before_it_starts_is_refused_next_to_the_field(staff_client, course):
    starts = timezone.now() + datetime.timedelta(days=2)
    response = staff_client.post(
        reverse("session_create", args=[course.pk]),
        {
            "title": "Backwards",
            "starts_at": _local(starts),
            "ends_at": _local(starts - datetime.timedelta(hours=1)),
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["ends_at"] == ["A session must end after it starts."]
    assert "A session must end after it starts." in response.content.decode()
    assert not Session.objects.filter(title="Backwards").exists()


def test_staff_edits_and_cancels_a_session(staff_client, session):
    starts = timezone.now().replace(second=0, microsecond=0) + datetime.timedelta(days=1)
    response = staff_client.post(
        reverse("session_edit", args=[session.pk]),
        {"title": "Opening day (moved)", "starts_at": _local(starts), "ends_at": ""},
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.title == "Opening day (moved)"
    assert staff_client.post(reverse("session_cancel", args=[session.pk]), {"reason": ""}).status_code == 200
    session.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED  # a reason is required
    staff_client.post(reverse("session_cancel", args=[session.pk]), {"reason": "Typhoon warning"})
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED
    assert session.cancellation_reason == "Typhoon warning"


def test_staff_creates_and_edits_a_course_and_bad_dates_are_refused(staff_client, course):
    data = {
        "project": course.project_id,
        "number": 9,
        "title": "Digital industry",
        "start_date": "2021-03-02",
        "end_date": "2021-03-01",
    }
    response = staff_client.post(reverse("course_create"), data)
    assert response.context["form"].errors["end_date"] == ["A course must end on or after its first day."]
    assert not Course.objects.filter(number=9).exists()
    data["end_date"] = "2021-03-04"
    response = staff_client.post(reverse("course_create"), data)
    created = Course.objects.get(number=9)
    assert response["Location"] == reverse("course_detail", args=[created.pk])
    data["title"] = "Digital industry 4.0"
    staff_client.post(reverse("course_edit", args=[created.pk]), data)
    created.refresh_from_db()
    assert created.title == "Digital industry 4.0"
