"""A programme that grows from 10 attendance rows to 1,000, for the constant-query tests.

At 10 rows: one series, one course, one ministry, five officials, two held sessions. `grow()` adds
three series of two courses each, three more ministries and thirty more officials, to 1,000 rows
in all: a page or an export that loops over series, courses, ministries, sessions or rows costs
more statements after it. Every official enrolled was present at every held session, and each
course has one session still to come; every mark is written through the register, as staff do,
with its history.
"""

from __future__ import annotations

import datetime

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

# (series, courses per series, held sessions per course, officials per course) added by grow():
# 3 × 2 × 11 × 15 = 990 rows, with the first 10.
GROWTH = (3, 2, 11, 15)


class GrowingRecord:
    def __init__(self, recorded_by):
        self.recorded_by = recorded_by
        self.start = timezone.now() - datetime.timedelta(days=40)
        self.courses = []  # (course, held sessions, enrolments), in the order they were made
        ministry = MinistryFactory()
        self.officials = [OfficialFactory(ministry=ministry, sex=("female", "male")[n % 2]) for n in range(5)]
        self.official = self.officials[0]  # enrolled in every course: their page grows too
        self._course(ProjectFactory(), number=1, sessions=2, people=self.officials)
        self.ministries = [ministry]
        assert Attendance.objects.count() == self.marks == 10

    @property
    def marks(self) -> int:
        return sum(len(held) * len(enrolments) for _course, held, enrolments in self.courses)

    @property
    def largest(self):
        """The course with the most rows: its report, session page and exports have the most to show."""
        return max(self.courses, key=lambda made: len(made[1]) * len(made[2]))

    def _course(self, project, *, number: int, sessions: int, people) -> None:
        course = CourseFactory(project=project, number=number)
        enrolments = [EnrollmentFactory(official=person, course=course) for person in people]
        held = [
            SessionFactory(course=course, starts_at=self.start + datetime.timedelta(days=day, hours=number))
            for day in range(sessions)
        ]
        SessionFactory(course=course, starts_at=timezone.now() + datetime.timedelta(days=7))
        for session in held:
            rows = [AttendanceRow(enrollment=e, status="present") for e in enrolments]
            attendance_record_many(session=session, rows=rows, recorded_by=self.recorded_by)
        self.courses.append((course, held, enrolments))

    def grow(self) -> None:
        series, per_series, sessions, per_course = GROWTH
        ministries = [MinistryFactory() for _ in range(3)]
        newcomers = [
            OfficialFactory(ministry=ministries[n % 3], sex=("female", "male", "other")[n % 3])
            for n in range(30)
        ]
        self.ministries += ministries
        for s in range(series):
            project = ProjectFactory()
            for c in range(per_series):
                k = s * per_series + c
                people = [self.official] + [newcomers[(k * 5 + i) % 30] for i in range(per_course - 1)]
                self._course(project, number=c + 1, sessions=sessions, people=people)
        assert Attendance.objects.count() == self.marks == 1000
