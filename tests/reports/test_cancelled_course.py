"""A cancelled course in the figures: its sessions cancelled before they were held never count."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from courses.services import course_cancel
from participants.models import AttendanceStatus
from participants.reports import figures as fig
from participants.selectors import courses_with_progress, programme_overview
from tests.factories import AttendanceFactory, CourseFactory, EnrollmentFactory, SessionFactory

pytestmark = pytest.mark.django_db


def test_a_cancelled_courses_future_sessions_count_neither_as_planned_nor_as_held():
    now = timezone.now()
    course = CourseFactory()
    held = SessionFactory(course=course, starts_at=now - datetime.timedelta(days=2))
    future = [SessionFactory(course=course, starts_at=now + datetime.timedelta(days=d)) for d in (3, 10)]
    enrollments = [EnrollmentFactory(course=course) for _ in range(2)]
    AttendanceFactory(enrollment=enrollments[0], session=held, status=AttendanceStatus.PRESENT)
    progress = courses_with_progress().get(pk=course.pk)
    assert (progress.sessions_planned, progress.sessions_held) == (3, 1)

    course_cancel(course=course, reason="Budget withdrawn")

    progress = courses_with_progress().get(pk=course.pk)
    assert (progress.sessions_planned, progress.sessions_held) == (1, 1)
    overview = programme_overview().get()
    assert overview.projects.get().courses.get(pk=course.pk).sessions_planned == 1
    # Even once their dates have passed, the cancelled sessions are not held ones.
    later = now + datetime.timedelta(days=30)
    assert list(fig.held_sessions(fig.ReportFilters(), now=later)) == [held]
    figures = fig.grouped_figures(fig.ReportFilters(), "course", now=later)[(course.pk,)]
    assert (figures.attended, figures.expected) == (1, 2)  # 2 enrolled x 1 held session
    assert fig.programme_reach(fig.ReportFilters(), now=later).sessions_held == 1
    assert all(s.pk not in fig.session_figures(fig.ReportFilters(), now=later) for s in future)
