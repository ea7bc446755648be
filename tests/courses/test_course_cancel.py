"""Cancelling a course: the course and its sessions not yet started are cancelled, held ones stay."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from courses.models import Course, Session
from courses.services import course_cancel, session_create
from tests.factories import CourseFactory, EnrollmentFactory, SessionFactory

pytestmark = pytest.mark.django_db


def _at(hours: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(hours=hours)


@pytest.fixture
def course():
    return CourseFactory(number=3, title="Industrial statistics")


def test_cancelling_a_course_cancels_its_sessions_not_yet_started_and_keeps_those_held(course, staff):
    held = SessionFactory(course=course, starts_at=_at(-48))
    running = SessionFactory(course=course, starts_at=_at(-1))
    tomorrow = SessionFactory(course=course, starts_at=_at(24))
    undated = SessionFactory(course=course, starts_at=None)
    already = SessionFactory(
        course=course,
        starts_at=_at(72),
        status=Session.Status.CANCELLED,
        cancelled_at=_at(-5),
        cancellation_reason="Holiday",
    )

    course_cancel(course=course, reason="Budget withdrawn", changed_by=staff)

    course.refresh_from_db()
    assert course.status == Course.Status.CANCELLED and course.is_cancelled
    assert course.cancellation_reason == "Budget withdrawn"
    assert abs(course.cancelled_at - timezone.now()) < datetime.timedelta(minutes=1)
    for session in (held, running, tomorrow, undated, already):
        session.refresh_from_db()
    assert held.status == running.status == Session.Status.SCHEDULED
    assert tomorrow.status == undated.status == Session.Status.CANCELLED
    assert tomorrow.cancellation_reason == undated.cancellation_reason == "Budget withdrawn"
    assert already.cancellation_reason == "Holiday"  # its own earlier cancellation is kept
    assert tomorrow.history.first().history_user == staff


def test_cancelling_a_course_is_recorded_in_its_history_with_who(course, staff):
    course_cancel(course=course, reason="Budget withdrawn", changed_by=staff)

    latest = course.history.first()
    assert latest.history_user == staff
    assert latest.status == Course.Status.CANCELLED and latest.cancellation_reason == "Budget withdrawn"
    assert latest.prev_record.status == Course.Status.SCHEDULED


def test_cancelling_a_cancelled_course_changes_nothing(course, staff, superuser):
    SessionFactory(course=course, starts_at=_at(24))
    course_cancel(course=course, reason="Budget withdrawn", changed_by=staff)
    first = Course.objects.get(pk=course.pk)
    versions = course.history.count()

    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        again = course_cancel(course=course, reason="Another reason", changed_by=superuser)

    assert again.cancelled_at == first.cancelled_at and again.cancellation_reason == "Budget withdrawn"
    assert course.history.count() == versions and callbacks == []


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_course_is_not_cancelled_without_a_reason(course, reason):
    session = SessionFactory(course=course, starts_at=_at(24))

    with pytest.raises(ValidationError) as error:
        course_cancel(course=course, reason=reason)

    assert "reason" in error.value.message_dict
    course.refresh_from_db()
    session.refresh_from_db()
    assert course.status == Course.Status.SCHEDULED and course.cancelled_at is None
    assert session.status == Session.Status.SCHEDULED


def test_no_session_can_be_added_to_a_cancelled_course(course):
    course_cancel(course=course, reason="Budget withdrawn")

    with pytest.raises(ValidationError, match="cancelled"):
        session_create(course=course, title="Late addition", starts_at=_at(24))

    assert not course.sessions.exists()


def test_the_database_refuses_a_cancellation_time_on_a_scheduled_course(course):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Course.objects.filter(pk=course.pk).update(cancelled_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Course.objects.filter(pk=course.pk).update(status="postponed")


# The pages ---------------------------------------------------------------------------------------


def test_staff_cancels_a_course_from_its_page_with_a_reason(staff_client, staff, course):
    held = SessionFactory(course=course, title="Opening day", starts_at=_at(-48))
    future = SessionFactory(course=course, title="Closing day", starts_at=_at(48))
    page = staff_client.get(reverse("course_detail", args=[course.pk])).content.decode()
    assert reverse("course_cancel", args=[course.pk]) in page

    confirm = staff_client.get(reverse("course_cancel", args=[course.pk])).content.decode()
    assert "Closing day" in confirm and "Opening day" not in confirm  # only what will be cancelled
    response = staff_client.post(reverse("course_cancel", args=[course.pk]), {"reason": "Budget withdrawn"})

    assert response.status_code == 302 and response["Location"] == reverse("course_detail", args=[course.pk])
    course.refresh_from_db()
    assert course.is_cancelled and course.history.first().history_user == staff
    assert Session.objects.get(pk=held.pk).status == Session.Status.SCHEDULED
    assert Session.objects.get(pk=future.pk).status == Session.Status.CANCELLED
    page = staff_client.get(reverse("course_detail", args=[course.pk])).content.decode()
    assert 'badge cancelled">Cancelled' in page and "Budget withdrawn" in page
    assert reverse("course_cancel", args=[course.pk]) not in page
    assert reverse("session_create", args=[course.pk]) not in page


def test_a_course_is_not_cancelled_without_a_reason_and_the_page_says_so(staff_client, course):
    future = SessionFactory(course=course, starts_at=_at(48))

    response = staff_client.post(reverse("course_cancel", args=[course.pk]), {"reason": "  "})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    course.refresh_from_db()
    future.refresh_from_db()
    assert not course.is_cancelled and future.status == Session.Status.SCHEDULED


def test_a_reason_too_long_is_refused(staff_client, course):
    response = staff_client.post(reverse("course_cancel", args=[course.pk]), {"reason": "x" * 1001})

    assert response.status_code == 200 and "at most 1000 characters" in response.content.decode()
    course.refresh_from_db()
    assert not course.is_cancelled


def test_posting_to_a_cancelled_course_again_changes_nothing(staff_client, course):
    course_cancel(course=course, reason="Budget withdrawn")

    response = staff_client.post(reverse("course_cancel", args=[course.pk]), {"reason": "Again"}, follow=True)

    assert "This course is already cancelled." in response.content.decode()
    course.refresh_from_db()
    assert course.cancellation_reason == "Budget withdrawn"


def test_officer_sees_no_cancel_button_and_a_forged_post_is_refused(officer_client, course):
    SessionFactory(course=course, starts_at=_at(48))
    page = officer_client.get(reverse("course_detail", args=[course.pk])).content.decode()
    assert reverse("course_cancel", args=[course.pk]) not in page

    assert officer_client.get(reverse("course_cancel", args=[course.pk])).status_code == 403
    response = officer_client.post(reverse("course_cancel", args=[course.pk]), {"reason": "forged"})

    assert response.status_code == 403
    course.refresh_from_db()
    assert not course.is_cancelled and not course.sessions.filter(status="cancelled").exists()


def test_anonymous_visitors_are_sent_to_log_in(client, course):
    response = client.post(reverse("course_cancel", args=[course.pk]), {"reason": "x"})

    assert response.status_code == 302 and reverse("login") in response["Location"]
    course.refresh_from_db()
    assert not course.is_cancelled


def test_the_session_form_of_a_cancelled_course_refuses_with_a_message(staff_client, course):
    course_cancel(course=course, reason="Budget withdrawn")
    url = reverse("session_create", args=[course.pk])
    message = "This course is cancelled: no session can be added to it."

    assert message in staff_client.get(url).content.decode()
    starts = timezone.localtime(_at(24)).strftime("%Y-%m-%dT%H:%M")
    response = staff_client.post(url, {"title": "Late addition", "starts_at": starts})

    assert response.status_code == 200 and message in response.content.decode()
    assert not course.sessions.exists()


def test_the_course_list_and_the_dashboard_show_the_course_as_cancelled(staff_client, course):
    other = CourseFactory(title="Still running")
    course_cancel(course=course, reason="Budget withdrawn")

    for name in ("course_list", "dashboard"):
        html = staff_client.get(reverse(name)).content.decode()
        row = html[html.index(reverse("course_detail", args=[course.pk])) :]
        assert row.index('badge cancelled">Cancelled') < row.index("</tr>"), name
        other_row = html[html.index(reverse("course_detail", args=[other.pk])) :]
        assert "badge cancelled" not in other_row[: other_row.index("</tr>")], name


def test_the_register_of_a_cancelled_courses_cancelled_session_is_read_only(staff_client, course):
    session = SessionFactory(course=course, starts_at=_at(48))
    enrollment = EnrollmentFactory(course=course)
    course_cancel(course=course, reason="Budget withdrawn")

    html = staff_client.get(reverse("session_detail", args=[session.pk])).content.decode()
    assert 'id="register-form"' not in html
    staff_client.post(
        reverse("register_submit", args=[session.pk]),
        {"row": enrollment.pk, f"version-{enrollment.pk}": "", f"status-{enrollment.pk}": "present"},
    )
    assert not session.attendances.exists()
