"""Enrolling officials from a nominee list, and recording a paper sign-in sheet."""

from __future__ import annotations

import pytest

from participants.imports.apply import ImportRefused, apply_import
from participants.models import Attendance, Enrollment, Official
from participants.services import enrollment_create, official_create
from tests.factories import CourseFactory, SessionFactory


@pytest.fixture
def course(public_record):
    return CourseFactory(title="Industrial policy")


def test_an_xlsx_nominee_list_with_merged_headings_enrols_new_and_known_officials(
    ministries, preview, staff, course
):
    known = official_create(
        family_name="Sok", given_name="Dara", ministry=ministries["misti"], email="dara.sok@misti.gov.kh"
    )
    batch = preview("enrolments_merged_header.xlsx", kind="enrolments", course=course)
    assert [row["action"] for row in batch.rows] == ["create"] * 4
    assert batch.rows[0]["official"] == known.pk
    apply_import(batch=batch, user=staff)
    enrolments = Enrollment.objects.filter(course=course)
    assert enrolments.count() == 4
    assert enrolments.get(official=known).enrolled_on.isoformat() == "2020-02-20"
    assert enrolments.get(official__family_name="Phan").enrolled_on.isoformat() == "2020-02-21"
    assert Official.objects.get(family_name="Tep").phone == "977001002"
    assert set(Enrollment.history.values_list("history_user", flat=True)) == {staff.pk}


def test_enrolling_the_same_list_twice_changes_nothing(ministries, preview, staff, course):
    apply_import(batch=preview("enrolments_merged_header.xlsx", kind="enrolments", course=course), user=staff)
    again = preview("enrolments_merged_header.xlsx", kind="enrolments", course=course)
    assert [row["reason"] for row in again.rows] == ["Already enrolled in this course."] * 4
    # The same file into the same course again: refused (the earlier import is named), nothing written.
    with pytest.raises(ImportRefused, match="the same file was already imported"):
        apply_import(batch=again, user=staff)
    assert Enrollment.objects.filter(course=course).count() == 4
    # The same list into another course is another import.
    other = CourseFactory()
    apply_import(batch=preview("enrolments_merged_header.xlsx", kind="enrolments", course=other), user=staff)
    assert Enrollment.objects.filter(course=other).count() == 4


def test_a_date_not_understood_is_a_row_error(ministries, preview, staff, course):
    data = b"Family name,Given name,Ministry,Enrolled on\nSok,Dara,MISTI,next Tuesday\n"
    batch = preview("dates.csv", kind="enrolments", data=data, course=course)
    assert batch.rows[0]["reason"] == (
        "Row 2, column “Enrolled on”, “next Tuesday”: date not understood. Write it as 2020-02-25 or "
        "25/02/2020."
    )
    with pytest.raises(ImportRefused):
        apply_import(batch=batch, user=staff)
    assert not Official.objects.exists()


@pytest.fixture
def signed_session(ministries, course):
    session = SessionFactory(course=course)
    people = [
        official_create(
            family_name="Sok", given_name="Dara", name_km="សុខ ដារ៉ា", ministry=ministries["misti"]
        ),
        official_create(
            family_name="Chan", given_name="Vuthy", ministry=ministries["mef"], email="vuthy.chan@mef.gov.kh"
        ),
        official_create(
            family_name="Keo", given_name="Sreymom", name_km="កែវ ស្រីមុំ", ministry=ministries["moc"]
        ),
    ]
    for person in people:
        enrollment_create(official=person, course=course)
    return session


def test_a_sign_in_sheet_records_attendance_by_name_or_email_with_khmer_statuses(
    preview, staff, signed_session
):
    batch = preview("attendance_signin.csv", kind="attendance", session=signed_session)
    assert [row["action"] for row in batch.rows] == ["create"] * 3
    apply_import(batch=batch, user=staff)
    recorded = {a.enrollment.official.family_name: (a.status, a.note) for a in Attendance.objects.all()}
    assert recorded == {
        "Sok": ("present", ""),
        "Chan": ("late", "arrived 9:40"),
        "Keo": ("excused", "mission"),
    }
    assert set(Attendance.history.values_list("history_user", flat=True)) == {staff.pk}
    again = preview("attendance_signin.csv", kind="attendance", session=signed_session)
    assert [row["action"] for row in again.rows] == ["skip"] * 3


def test_a_sign_in_sheet_names_someone_not_enrolled_and_an_unknown_status(
    ministries, preview, signed_session
):
    official_create(family_name="Outside", given_name="Person", ministry=ministries["mef"])
    data = b"Name,Status\nOUTSIDE Person,present\nSOK Dara,maybe\n"
    batch = preview("sheet.csv", kind="attendance", data=data, session=signed_session)
    assert batch.rows[0]["reason"] == (
        "Row 2, column “Name”, “OUTSIDE Person”: this is OUTSIDE Person (MEF), who is not enrolled in "
        "this course. Enrol them on the course page first, or correct the row."
    )
    assert batch.rows[1]["reason"] == (
        "Row 3, column “Status”, “maybe”: not understood. Write present, late, excused or absent."
    )
