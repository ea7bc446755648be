"""attendance_record: the one door for attendance, and its refusal of stale or wrong changes."""

import pytest
from django.core.exceptions import ValidationError

from participants.models import Attendance
from participants.services import StaleAttendanceError, attendance_record, enrollment_withdraw
from tests.factories import EnrollmentFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrollment():
    return EnrollmentFactory()


@pytest.fixture
def session(enrollment):
    return SessionFactory(course=enrollment.course)


def test_records_then_changes_with_a_version(enrollment, session, staff, staff2):
    first, changed = attendance_record(
        enrollment=enrollment, session=session, status="present", recorded_by=staff
    )
    assert changed and first.version == 1 and first.recorded_by == staff
    second, changed = attendance_record(
        enrollment=enrollment, session=session, status="late", recorded_by=staff2, expected_version=1
    )
    assert changed and second.version == 2 and second.recorded_by == staff2
    assert [h.status for h in Attendance.history.filter(id=first.pk).order_by("history_date")] == [
        "present",
        "late",
    ]


def test_stale_change_is_refused_and_carries_the_newer_value(enrollment, session, staff, staff2):
    attendance_record(enrollment=enrollment, session=session, status="present", recorded_by=staff)
    attendance_record(
        enrollment=enrollment, session=session, status="late", recorded_by=staff2, expected_version=1
    )
    with pytest.raises(StaleAttendanceError) as error:
        attendance_record(
            enrollment=enrollment, session=session, status="absent", recorded_by=staff, expected_version=1
        )
    assert error.value.current.status == "late"
    assert error.value.current.recorded_by == staff2
    assert Attendance.objects.get().status == "late"


def test_repeat_of_the_same_status_changes_nothing(enrollment, session, staff):
    attendance_record(enrollment=enrollment, session=session, status="present", recorded_by=staff)
    again, changed = attendance_record(
        enrollment=enrollment, session=session, status="present", recorded_by=staff
    )
    assert not changed and again.version == 1


def test_a_resend_of_ones_own_save_with_the_version_seen_before_it_is_no_conflict(enrollment, session, staff):
    attendance_record(enrollment=enrollment, session=session, status="present", recorded_by=staff)
    saved, _ = attendance_record(
        enrollment=enrollment, session=session, status="late", recorded_by=staff, expected_version=1
    )
    # The reply to that save was lost; the client sends the same change with the version it had.
    again, changed = attendance_record(
        enrollment=enrollment, session=session, status="late", recorded_by=staff, expected_version=1
    )
    assert not changed and again.pk == saved.pk and again.version == 2
    assert Attendance.history.filter(id=saved.pk).count() == 2


def test_the_same_values_sent_by_someone_else_from_an_old_version_are_still_a_conflict(
    enrollment, session, staff, staff2
):
    attendance_record(enrollment=enrollment, session=session, status="present", recorded_by=staff)
    attendance_record(
        enrollment=enrollment, session=session, status="late", recorded_by=staff, expected_version=1
    )
    with pytest.raises(StaleAttendanceError) as error:
        attendance_record(
            enrollment=enrollment, session=session, status="late", recorded_by=staff2, expected_version=1
        )
    assert error.value.current.recorded_by == staff and error.value.current.version == 2


def test_a_resend_with_another_note_is_a_conflict_even_from_the_same_user(enrollment, session, staff):
    attendance_record(enrollment=enrollment, session=session, status="present", recorded_by=staff)
    attendance_record(
        enrollment=enrollment, session=session, status="late", recorded_by=staff, expected_version=1
    )
    with pytest.raises(StaleAttendanceError):
        attendance_record(
            enrollment=enrollment,
            session=session,
            status="late",
            note="bus broke down",
            recorded_by=staff,
            expected_version=1,
        )
    assert Attendance.objects.get().note == ""


def test_unknown_status_is_refused(enrollment, session):
    with pytest.raises(ValidationError) as error:
        attendance_record(enrollment=enrollment, session=session, status="asleep")
    assert "asleep" in str(error.value)
    assert not Attendance.objects.exists()


def test_session_of_another_course_is_refused(enrollment):
    other = SessionFactory()
    with pytest.raises(ValidationError):
        attendance_record(enrollment=enrollment, session=other, status="present")
    assert not Attendance.objects.exists()


def test_withdrawn_official_cannot_be_marked(enrollment, session):
    enrollment_withdraw(enrollment=enrollment, reason="Transferred")
    enrollment.refresh_from_db()
    with pytest.raises(ValidationError):
        attendance_record(enrollment=enrollment, session=session, status="present")
