"""A cancelled course as the API shows it: status, time and reason, read-only; no new session on it."""

from __future__ import annotations

import datetime

from courses.models import Course
from courses.services import course_cancel
from tests.api.conftest import API


def test_a_course_shows_its_status_and_cancellation_in_the_detail_and_the_list(partner_api, world):
    course_a, course_b = world["courses"]
    course_cancel(course=course_a, reason="Budget withdrawn")
    course_a.refresh_from_db()

    detail = partner_api.get(f"{API}courses/{course_a.pk}/").json()
    listed = {row["id"]: row for row in partner_api.get(f"{API}courses/").json()["results"]}

    for row in (detail, listed[course_a.pk]):
        assert row["status"] == "cancelled" and row["cancellation_reason"] == "Budget withdrawn"
        assert datetime.datetime.fromisoformat(row["cancelled_at"]) == course_a.cancelled_at
    other = listed[course_b.pk]
    assert other["status"] == "scheduled" and other["cancelled_at"] is None
    assert other["cancellation_reason"] == ""


def test_the_course_status_cannot_be_written_through_the_api(staff_api, world):
    course = world["courses"][0]

    response = staff_api.patch(
        f"{API}courses/{course.pk}/", {"status": "cancelled", "cancellation_reason": "x"}, format="json"
    )

    assert response.status_code == 405
    course.refresh_from_db()
    assert course.status == Course.Status.SCHEDULED and course.cancelled_at is None


def test_no_session_can_be_added_to_a_cancelled_course_through_the_api(staff_api, world):
    course = world["courses"][1]
    course_cancel(course=course, reason="Budget withdrawn")
    before = course.sessions.count()

    response = staff_api.post(
        f"{API}sessions/",
        {"course": course.pk, "title": "Late addition", "starts_at": "2030-03-01T02:00:00Z"},
        format="json",
    )

    assert response.status_code == 400
    assert "This course is cancelled: no session can be added to it." in str(response.json())
    assert course.sessions.count() == before
