"""A known data set for the reports, with every figure worked out by hand in `EXPECTED` below.

Two ministries (MISTI, formerly MIH until 26 March 2020; and MOC), two courses:
course A (default threshold 75 %) has 4 held sessions, one cancelled and one still to come;
course B (threshold 50 %) has 2 held sessions.

    official  sex     ministry (at enrolment)  A: s1 s2 s3 s4          B: s1 s2
    o1        female  MIH (enrolled 2019)      P  P  L  A  → 3/4 done
    o2        male    MISTI (enrolled 2021)    P  E  A  A  → 1/4
    o3        female  MOC                      P  P  P  P  → 4/4 done   P  A  → 1/2 done
    o4        other   MOC                      P, then withdrew: left out of every figure
    o5        male    MOC                                               –  –  → 0/2
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from courses.models import Session
from ministries.models import MinistryName
from participants.services import enrollment_withdraw
from tests.factories import (
    AttendanceFactory,
    CourseFactory,
    EnrollmentFactory,
    MinistryFactory,
    OfficialFactory,
    SessionFactory,
)


def _at(day: datetime.date, hour: int = 9) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def world(db):
    misti = MinistryFactory(
        code="misti-test",
        name_en="Ministry of Industry, Science, Technology and Innovation",
        name_km="ក្រសួងឧស្សាហកម្ម វិទ្យាសាស្ត្រ បច្ចេកវិទ្យា និងនវានុវត្តន៍",
        acronym="MISTI",
    )
    MinistryName.objects.create(
        ministry=misti,
        name_en="Ministry of Industry and Handicraft",
        name_km="ក្រសួងឧស្សាហកម្ម និងសិប្បកម្ម",
        acronym="MIH",
        valid_to=datetime.date(2020, 3, 26),
    )
    moc = MinistryFactory(code="moc-test", name_en="Ministry of Commerce", name_km="", acronym="MOC")
    course_a = CourseFactory(number=1, title="Industrial policy")
    course_b = CourseFactory(project=course_a.project, number=2, title="Quality infrastructure")
    course_b.completion_threshold = "0.50"
    course_b.save()
    a_days = [datetime.date(2021, 3, d) for d in (1, 2, 3, 4)]
    a_sessions = [
        SessionFactory(course=course_a, title=f"A{i + 1}", starts_at=_at(d)) for i, d in enumerate(a_days)
    ]
    cancelled = SessionFactory(
        course=course_a,
        title="A cancelled",
        starts_at=_at(datetime.date(2021, 3, 5)),
        status=Session.Status.CANCELLED,
        cancelled_at=_at(datetime.date(2021, 3, 1)),
    )
    future = SessionFactory(
        course=course_a, title="A future", starts_at=timezone.now() + datetime.timedelta(days=30)
    )
    b_sessions = [
        SessionFactory(course=course_b, title=f"B{i + 1}", starts_at=_at(datetime.date(2022, 5, d)))
        for i, d in enumerate((10, 11))
    ]
    o1 = OfficialFactory(
        family_name="Chan", given_name="Sreymom", name_km="ចាន់ ស្រីមុំ", sex="female", ministry=misti
    )
    o2 = OfficialFactory(family_name="Keo", given_name="Dara", name_km="កែវ ដារា", sex="male", ministry=misti)
    o3 = OfficialFactory(
        family_name="Sok", given_name="Chenda", name_km="សុខ ចិន្តា", sex="female", ministry=moc
    )
    o4 = OfficialFactory(family_name="Touch", given_name="Vanna", sex="other", ministry=moc)
    o5 = OfficialFactory(
        family_name="=HYPERLINK(1)", given_name="<script>x</script>", sex="male", ministry=moc
    )
    e1 = EnrollmentFactory(official=o1, course=course_a, enrolled_on=datetime.date(2019, 6, 1))
    e2 = EnrollmentFactory(official=o2, course=course_a, enrolled_on=datetime.date(2021, 1, 1))
    e3a = EnrollmentFactory(official=o3, course=course_a, enrolled_on=datetime.date(2021, 1, 1))
    e4 = EnrollmentFactory(official=o4, course=course_a, enrolled_on=datetime.date(2021, 1, 1))
    e3b = EnrollmentFactory(official=o3, course=course_b, enrolled_on=datetime.date(2022, 1, 1))
    EnrollmentFactory(official=o5, course=course_b, enrolled_on=datetime.date(2022, 1, 1))
    marks = {e1: "PPLA", e2: "PEAA", e3a: "PPPP", e4: "P"}
    codes = {"P": "present", "L": "late", "E": "excused", "A": "absent"}
    for enrollment, statuses in marks.items():
        for session, code in zip(a_sessions, statuses, strict=False):
            AttendanceFactory(enrollment=enrollment, session=session, status=codes[code])
    AttendanceFactory(enrollment=e1, session=future, status="present")  # not held: never counted
    AttendanceFactory(enrollment=e3b, session=b_sessions[0], status="present")
    AttendanceFactory(enrollment=e3b, session=b_sessions[1], status="absent")
    enrollment_withdraw(enrollment=e4, reason="moved post")
    return {
        "misti": misti,
        "moc": moc,
        "a": course_a,
        "b": course_b,
        "a_sessions": a_sessions,
        "b_sessions": b_sessions,
        "cancelled": cancelled,
        "future": future,
        "officials": [o1, o2, o3, o4, o5],
        "e1": e1,
        "e3b": e3b,
    }


# Worked out by hand from the table in the module docstring.
EXPECTED = {
    "programme": {
        "officials": (2, 2, 0),  # women, men, other: o1, o3 / o2, o5
        "enrolments": (3, 2, 0),
        "trained": (2, 1, 0),  # o5 attended nothing
        "completed": (3, 0, 0),  # o1 in A, o3 in A and in B
        "attended": 9,  # 3 + 1 + 4 + 1
        "expected": 16,  # 3 enrolments × 4 + 2 × 2
        "excused": 1,
        "absent": 4,
        "attendance_rate": 9 / 16,
        "completion_rate": 3 / 5,
        "courses": 2,
        "sessions_held": 6,
        "ministries_reached": 2,
    },
    "course_a": {
        "officials": (2, 1, 0),
        "trained": (2, 1, 0),
        "completed": (2, 0, 0),
        "attended": 8,
        "expected": 12,
        "excused": 1,
        "absent": 3,
    },
    "course_b": {
        "officials": (1, 1, 0),
        "trained": (1, 0, 0),
        "completed": (1, 0, 0),
        "attended": 1,
        "expected": 4,
        "excused": 0,
        "absent": 1,
    },
    "misti": {
        "officials": (1, 1, 0),
        "trained": (1, 1, 0),
        "completed": (1, 0, 0),
        "attended": 4,
        "expected": 8,
        "excused": 1,
        "absent": 3,
    },
    "moc": {
        "officials": (1, 1, 0),
        "trained": (1, 0, 0),
        "completed": (2, 0, 0),
        "attended": 5,
        "expected": 8,
        "excused": 0,
        "absent": 1,
    },
    # attended, excused, absent, unmarked, enrolled per held session
    "sessions": {
        "A1": (3, 0, 0, 0, 3),
        "A2": (2, 1, 0, 0, 3),
        "A3": (2, 0, 1, 0, 3),
        "A4": (1, 0, 2, 0, 3),
        "B1": (1, 0, 0, 1, 2),
        "B2": (0, 0, 1, 1, 2),
    },
}
