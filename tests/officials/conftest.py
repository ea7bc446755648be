"""The officials tests' cast: two ministries, two courses with sessions, and officials enrolled in them."""

import datetime

import pytest
from django.utils import timezone

from tests.factories import (
    AttendanceFactory,
    CourseFactory,
    EnrollmentFactory,
    MinistryFactory,
    OfficialFactory,
    SessionFactory,
)


@pytest.fixture
def misti():
    return MinistryFactory(name_en="Ministry of Industry", name_km="ក្រសួងឧស្សាហកម្ម", acronym="MISTI")


@pytest.fixture
def mef():
    return MinistryFactory(name_en="Ministry of Economy", name_km="ក្រសួងសេដ្ឋកិច្ច", acronym="MEF")


def _sessions(course, count):
    start = timezone.now() - datetime.timedelta(days=30)
    return [SessionFactory(course=course, starts_at=start + datetime.timedelta(days=i)) for i in range(count)]


@pytest.fixture
def course_one():
    course = CourseFactory(number=1, title="Industrial policy")
    course.test_sessions = _sessions(course, 3)
    return course


@pytest.fixture
def course_two():
    course = CourseFactory(number=2, title="Quality infrastructure")
    course.test_sessions = _sessions(course, 2)
    return course


@pytest.fixture
def chan(misti, course_one):
    """Chan Sophea: enrolled in course 1, present at two of its three sessions."""
    official = OfficialFactory(
        family_name="Chan",
        given_name="Sophea",
        name_km="ចាន់ សុភា",
        ministry=misti,
        sex="female",
        email="sophea@misti.gov.kh",
        phone="012 345 678",
    )
    enrollment = EnrollmentFactory(official=official, course=course_one)
    for session in course_one.test_sessions[:2]:
        AttendanceFactory(enrollment=enrollment, session=session, status="present")
    return official


@pytest.fixture
def chan_again(mef, course_two):
    """The same person entered again at the door (a typo, another ministry): enrolled in course 2."""
    official = OfficialFactory(
        family_name="Chan",
        given_name="Sopheak",
        name_km="ចាន់ សុភា",
        ministry=mef,
        sex="female",
        email="",
        phone="+855 12 345 678",
        position="Officer",
    )
    enrollment = EnrollmentFactory(official=official, course=course_two)
    for session in course_two.test_sessions:
        AttendanceFactory(enrollment=enrollment, session=session, status="late")
    return official
