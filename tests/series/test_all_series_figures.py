"""all_series_figures: every series' figures in a fixed number of statements, and the very figures
series_figures gives for each series on its own."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from courses.services import series_rule_set
from participants.series import all_series_figures, series_figures
from participants.services import enrollment_withdraw
from tests.factories import (
    AttendanceFactory,
    CourseFactory,
    EnrollmentFactory,
    MinistryFactory,
    OfficialFactory,
    ProjectFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db

MARKS = ("present", "late", "absent", "excused")


def _series(n: int, officials: list, shared) -> None:
    """Project n: three courses (the last not held yet), officials of both ministries with marks
    that vary by official and course, one withdrawal, one official also in another series, and a
    rule on every other series."""
    project = ProjectFactory()
    past = timezone.now() - datetime.timedelta(days=60)
    for number in range(3):
        course = CourseFactory(
            project=project, number=number + 1, completion_threshold="0.50" if number else None
        )
        if number == 2:
            sessions = [SessionFactory(course=course, starts_at=timezone.now() + datetime.timedelta(days=9))]
        else:
            sessions = [
                SessionFactory(course=course, starts_at=past + datetime.timedelta(days=day))
                for day in range(3)
            ]
        people = officials[number : number + 4 + n % 2] + ([shared] if number == 0 else [])
        for i, official in enumerate(people):
            enrolment = EnrollmentFactory(official=official, course=course)
            for s, session in enumerate(sessions):
                if session.starts_at < timezone.now() and (i + s + n) % 5:
                    AttendanceFactory(enrollment=enrolment, session=session, status=MARKS[(i * s + n) % 4])
            if i == 3 and number == 1:
                enrollment_withdraw(enrollment=enrolment)
    if n % 2:
        series_rule_set(project=project, min_courses=1)


def _as_plain(figures) -> tuple:
    def group(g):
        return (g.officials.as_dict(), g.completed.as_dict())

    return (
        figures.project.pk,
        [course.pk for course in figures.courses],
        (figures.rule.min_courses, figures.rule.courses, figures.rule.courses_held, figures.rule.required),
        group(figures.total),
        [(key, group(g)) for key, g in figures.by_ministry.items()],
    )


def test_the_figures_of_every_series_cost_the_same_statements_for_1_as_for_5_series():
    ministries = [MinistryFactory(), MinistryFactory()]
    officials = [
        OfficialFactory(ministry=ministries[n % 2], sex=("female", "male", "other")[n % 3]) for n in range(8)
    ]
    shared = OfficialFactory(ministry=ministries[0], sex="male")
    _series(0, officials, shared)
    with CaptureQueriesContext(connection) as one:
        [figures] = all_series_figures()
    assert figures.total.officials.total > 0

    for n in range(1, 5):
        _series(n, officials, shared)
    with CaptureQueriesContext(connection) as five:
        every = all_series_figures()
    # Three, and the look for the whole-programme snapshot that holds the counts when it is valid.
    assert len(one) == len(five) <= 4, [query["sql"] for query in five.captured_queries]

    assert [_as_plain(f) for f in every] == [_as_plain(series_figures(f.project)) for f in every]
    assert len(every) == 5
    # The data vary enough to tell series apart: some completed, some not, a rule of one course.
    assert len({repr(_as_plain(f)[3:]) for f in every}) > 1
    assert any(f.total.completed.total for f in every)
    assert any(f.total.completed.total < f.total.officials.total for f in every)
    assert {f.rule.required for f in every} == {1, 2}


def test_no_enrolment_no_series():
    CourseFactory()
    assert all_series_figures() == []


def test_the_hand_counted_series_gives_the_same_figures_with_every_rule(series):
    """The series worked out by hand (tests/series/conftest.py): a ministry renamed between two
    enrolments, a withdrawal from everything, a course not held yet; under each rule."""
    for min_courses in (None, 1, 3):
        if min_courses:
            series_rule_set(project=series["project"], min_courses=min_courses)
        [figures] = all_series_figures()
        assert _as_plain(figures) == _as_plain(series_figures(series["project"])), min_courses
    assert figures.total.officials.total == 4  # d withdrew from everything
