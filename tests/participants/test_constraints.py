"""The database itself refuses rows that break the domain's rules, whatever code path writes them."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from participants.models import Attendance, Enrollment, Official
from tests.factories import AttendanceFactory, EnrollmentFactory, MinistryFactory, OfficialFactory

pytestmark = pytest.mark.django_db


def test_second_attendance_row_for_same_session_and_enrollment_is_refused_by_the_database():
    attendance = AttendanceFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Attendance.objects.create(
            enrollment=attendance.enrollment,
            session=attendance.session,
            status="absent",
            recorded_at=timezone.now(),
        )
    assert Attendance.objects.count() == 1


def test_attendance_status_outside_the_list_is_refused_by_the_database():
    attendance = AttendanceFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Attendance.objects.filter(pk=attendance.pk).update(status="asleep")
    attendance.refresh_from_db()
    assert attendance.status == "present"


def test_same_official_enrolled_twice_in_one_course_is_refused_by_the_database():
    enrollment = EnrollmentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(
            official=enrollment.official,
            course=enrollment.course,
            enrolled_on=datetime.date(2020, 2, 2),
            ministry=enrollment.ministry,
            ministry_name_en="x",
        )


def test_withdrawn_enrollment_needs_a_withdrawal_time():
    enrollment = EnrollmentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.filter(pk=enrollment.pk).update(status="withdrawn")


def test_email_is_unique_whatever_its_case():
    OfficialFactory(email="Sok.Dara@example.gov.kh")
    with pytest.raises(IntegrityError), transaction.atomic():
        OfficialFactory(email="sok.dara@EXAMPLE.gov.kh")


def test_many_officials_may_have_no_email():
    ministry = MinistryFactory()
    OfficialFactory(email="", ministry=ministry)
    OfficialFactory(email="", ministry=ministry)
    assert Official.objects.filter(email="").count() == 2


def test_official_sex_outside_the_list_is_refused():
    official = OfficialFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Official.objects.filter(pk=official.pk).update(sex="unknown")


def test_official_without_any_name_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        Official.objects.create(family_name="", given_name="", name_km="", ministry=MinistryFactory())
