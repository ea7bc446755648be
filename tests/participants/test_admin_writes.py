"""The admin writes officials, enrolments and attendance through participants.services: the same
version step and stale check as the register, the same snapshot as the course page."""

import datetime

import pytest
from django.urls import reverse

from courses.services import course_cancel
from ministries.models import Ministry
from participants.models import Attendance, Enrollment, Official
from participants.services import attendance_record, enrollment_withdraw
from tests.factories import (
    AttendanceFactory,
    CourseFactory,
    DepartmentFactory,
    EnrollmentFactory,
    MinistryFactory,
    OfficialFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db


def change_url(model: str, pk: int) -> str:
    return reverse(f"admin:participants_{model}_change", args=[pk])


def add_url(model: str) -> str:
    return reverse(f"admin:participants_{model}_add")


def register_row(client, attendance: Attendance, status: str, version: int):
    return client.post(
        f"/sessions/{attendance.session_id}/register/{attendance.enrollment_id}/",
        {"status": status, "note": "", "version": version},
    )


def test_an_admin_edit_of_attendance_steps_the_version_so_an_old_register_save_is_refused(
    superuser_client, superuser, staff_client
):
    attendance = AttendanceFactory(status="present")
    assert attendance.version == 1

    response = superuser_client.post(
        change_url("attendance", attendance.pk), {"status": "excused", "note": "Sick note", "version": 1}
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    attendance.refresh_from_db()
    assert (attendance.status, attendance.note, attendance.version) == ("excused", "Sick note", 2)
    assert attendance.recorded_by == superuser
    assert attendance.history.latest().history_user == superuser
    stale = register_row(staff_client, attendance, "absent", version=1)  # the register still shows v1
    assert stale.status_code == 409 and stale.json()["stale"] is True
    assert stale.json()["row"]["status"] == "excused"
    attendance.refresh_from_db()
    assert attendance.status == "excused"


def test_an_admin_form_read_before_a_register_change_is_refused_and_changes_nothing(superuser_client, staff):
    attendance = AttendanceFactory(status="present")
    attendance_record(
        enrollment=attendance.enrollment,
        session=attendance.session,
        status="late",
        recorded_by=staff,
        expected_version=1,
    )

    response = superuser_client.post(
        change_url("attendance", attendance.pk), {"status": "absent", "note": "", "version": 1}
    )

    assert response.status_code == 200
    assert "was changed meanwhile by Sophea Chan" in response.content.decode()
    attendance.refresh_from_db()
    assert (attendance.status, attendance.version, attendance.recorded_by) == ("late", 2, staff)


def test_attendance_added_in_the_admin_is_recorded_by_the_admin_and_obeys_the_register_rules(
    superuser_client, superuser
):
    session = SessionFactory()
    enrollment = EnrollmentFactory(course=session.course)
    withdrawn = EnrollmentFactory(course=session.course)
    enrollment_withdraw(enrollment=withdrawn, reason="Moved abroad")

    refused = superuser_client.post(
        add_url("attendance"), {"enrollment": withdrawn.pk, "session": session.pk, "status": "present"}
    )
    added = superuser_client.post(
        add_url("attendance"), {"enrollment": enrollment.pk, "session": session.pk, "status": "late"}
    )

    assert refused.status_code == 200
    assert "This official has withdrawn from the course." in refused.content.decode()
    assert added.status_code == 302
    row = Attendance.objects.get(session=session)
    assert (row.enrollment, row.status, row.version, row.recorded_by) == (enrollment, "late", 1, superuser)


def test_an_enrolment_added_in_the_admin_has_the_ministry_snapshot_of_its_date(
    superuser_client, superuser, public_record
):
    misti = Ministry.objects.get(code="misti")
    official = OfficialFactory(ministry=misti, position="Deputy Director")
    course = CourseFactory(start_date=datetime.date(2019, 7, 16), end_date=datetime.date(2019, 7, 19))

    response = superuser_client.post(
        add_url("enrollment"), {"official": official.pk, "course": course.pk, "enrolled_on": "2019-07-01"}
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    enrollment = Enrollment.objects.get(official=official, course=course)
    assert enrollment.ministry == misti
    assert enrollment.ministry_name_en == "Ministry of Industry and Handicraft"
    assert enrollment.ministry_acronym == "MIH"
    assert enrollment.ministry_name_km == "ក្រសួងឧស្សាហកម្ម និងសិប្បកម្ម"
    assert enrollment.position == "Deputy Director"
    assert enrollment.history.latest().history_user == superuser


def test_the_admin_cannot_enrol_into_a_cancelled_course_and_says_so(superuser_client, staff):
    course = CourseFactory()
    course_cancel(course=course, reason="Budget withdrawn", changed_by=staff)
    official = OfficialFactory()

    response = superuser_client.post(
        add_url("enrollment"), {"official": official.pk, "course": course.pk, "enrolled_on": "2020-02-01"}
    )

    assert response.status_code == 200
    assert "This course is cancelled: no one can be enrolled in it." in response.content.decode()
    assert not Enrollment.objects.filter(official=official).exists()


def test_changing_an_enrolment_in_the_admin_withdraws_and_reinstates_through_the_services(
    superuser_client, superuser
):
    enrollment = EnrollmentFactory()
    snapshot = (enrollment.ministry_id, enrollment.ministry_name_en, enrollment.position)
    form = {"status": "withdrawn", "withdrawal_reason": "Transferred to a province"}

    withdrawn = superuser_client.post(change_url("enrollment", enrollment.pk), form)

    assert withdrawn.status_code == 302, withdrawn.content.decode()[:3000]
    enrollment.refresh_from_db()
    assert enrollment.status == "withdrawn" and enrollment.withdrawn_at is not None
    assert enrollment.withdrawal_reason == "Transferred to a province"
    assert enrollment.history.latest().history_user == superuser

    reinstated = superuser_client.post(
        change_url("enrollment", enrollment.pk),
        {"status": "enrolled", "withdrawal_reason": form["withdrawal_reason"]},
    )

    assert reinstated.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.status == "enrolled" and enrollment.withdrawn_at is None
    assert (enrollment.ministry_id, enrollment.ministry_name_en, enrollment.position) == snapshot


def test_an_official_edited_in_the_admin_obeys_the_service_s_rules(superuser_client, superuser):
    official = OfficialFactory()
    elsewhere = DepartmentFactory(ministry=MinistryFactory())
    fields = {
        "family_name": official.family_name,
        "given_name": official.given_name,
        "name_km": official.name_km,
        "sex": official.sex,
        "position": "Director",
        "ministry": official.ministry_id,
        "department": elsewhere.pk,
        "email": official.email,
        "phone": official.phone,
        "preferred_language": "km",
    }

    refused = superuser_client.post(change_url("official", official.pk), fields)
    accepted = superuser_client.post(change_url("official", official.pk), {**fields, "department": ""})

    assert refused.status_code == 200
    assert "This department belongs to another ministry." in refused.content.decode()
    assert accepted.status_code == 302
    official.refresh_from_db()
    assert official.position == "Director" and official.department is None
    assert Official.history.filter(id=official.pk).latest().history_user == superuser


def test_the_attendance_change_page_links_to_the_register(superuser_client):
    attendance = AttendanceFactory()

    page = superuser_client.get(change_url("attendance", attendance.pk)).content.decode()

    assert f'href="/sessions/{attendance.session_id}/"' in page
    assert 'name="version" value="1"' in page


@pytest.mark.parametrize("model", ["official", "enrollment", "attendance"])
def test_the_add_and_change_pages_open(superuser_client, model):
    attendance = AttendanceFactory()
    row = {"official": attendance.enrollment.official, "enrollment": attendance.enrollment}.get(
        model, attendance
    )

    assert superuser_client.get(add_url(model)).status_code == 200
    assert superuser_client.get(change_url(model, row.pk)).status_code == 200
    assert (
        superuser_client.get(reverse(f"admin:participants_{model}_history", args=[row.pk])).status_code == 200
    )
