"""The synthetic demo set is labelled, complete enough to show every page, and removable alone."""

import datetime

import pytest
from django.core.management import call_command

from courses.models import Course, Session
from participants.demo import load_demo_data, remove_demo_data
from participants.models import Attendance, Enrollment, Official
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db


def test_demo_data_gives_course_three_its_23_officials(public_record):
    load_demo_data(today=datetime.date(2026, 11, 24))
    course3 = Course.objects.get(number=3)
    assert course3.enrollments.filter(is_demo=True).count() == 23
    assert Session.objects.filter(course=course3, is_demo=True).count() == 3
    assert Attendance.objects.filter(session__course=course3).count() == 23 * 3
    assert not Official.objects.filter(is_demo=False).exists()


def test_demo_enrolments_from_2019_carry_the_ministry_name_of_2019(public_record):
    load_demo_data(today=datetime.date(2026, 11, 24))
    names = set(
        Enrollment.objects.filter(course__number=1, ministry__code="misti").values_list(
            "ministry_name_en", flat=True
        )
    )
    assert names == {"Ministry of Industry and Handicraft"}


def test_loading_demo_data_twice_changes_nothing(public_record):
    load_demo_data(today=datetime.date(2026, 11, 24))
    count = Official.objects.count()
    assert load_demo_data(today=datetime.date(2026, 11, 24)) == {}
    assert Official.objects.count() == count


def test_removing_demo_data_leaves_real_data_and_public_record(public_record):
    real = EnrollmentFactory(course=Course.objects.get(number=2))
    call_command("load_demo_data")
    call_command("remove_demo_data")
    assert not Official.objects.filter(is_demo=True).exists()
    assert not Session.objects.filter(is_demo=True).exists()
    assert Enrollment.objects.get() == real
    assert Course.objects.count() == 4


def test_remove_demo_data_is_safe_when_there_is_none(db):
    assert remove_demo_data() == {"attendance": 0, "enrollments": 0, "sessions": 0, "officials": 0}
