"""The attendance register: per-row saves, stale rows refused with the newer value, the no-script fallback."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from participants.models import Attendance
from tests.factories import AttendanceFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db


def _row_url(session, enrollment):
    return reverse("register_row", args=[session.pk, enrollment.pk])


def test_a_row_is_saved_with_who_and_a_new_version(staff_client, staff, session, enrollments):
    response = staff_client.post(
        _row_url(session, enrollments[0]), {"status": "late", "note": "traffic", "version": 0}
    )
    assert response.status_code == 200
    assert response.json()["row"]["version"] == 1
    assert response.json()["row"]["recorded_by"] == "Sophea Chan"
    attendance = Attendance.objects.get(enrollment=enrollments[0], session=session)
    assert (attendance.status, attendance.note, attendance.recorded_by) == ("late", "traffic", staff)


def test_a_stale_row_is_refused_with_the_newer_value(session, enrollments, staff, staff2):
    first, second = Client(), Client()
    first.force_login(staff)
    second.force_login(staff2)
    url = _row_url(session, enrollments[0])
    assert first.post(url, {"status": "present", "version": 0}).status_code == 200
    response = second.post(url, {"status": "absent", "version": 0})
    assert response.status_code == 409
    body = response.json()
    assert body["stale"] is True
    assert body["row"]["status"] == "present"
    assert "Sophea Chan" in body["message"] and "Present" in body["message"]
    assert Attendance.objects.get(enrollment=enrollments[0]).status == "present"


def test_an_unknown_status_is_refused_and_saves_nothing(staff_client, session, enrollments):
    response = staff_client.post(_row_url(session, enrollments[0]), {"status": "asleep", "version": 0})
    assert response.status_code == 400
    assert "“asleep” is not an attendance status." in response.json()["errors"]["status"]
    assert not Attendance.objects.exists()


def test_a_row_of_another_course_is_refused(staff_client, session):
    stranger = EnrollmentFactory()
    response = staff_client.post(_row_url(session, stranger), {"status": "present", "version": 0})
    assert response.status_code == 400
    assert "not enrolled in this session's course" in response.json()["message"]
    assert not Attendance.objects.exists()


def test_officer_sees_the_register_without_controls_and_a_forged_post_is_refused(
    officer_client, session, enrollments
):
    AttendanceFactory(enrollment=enrollments[0], session=session, status="excused")
    html = officer_client.get(reverse("session_detail", args=[session.pk])).content.decode()
    assert "Excused" in html
    assert 'type="radio"' not in html and "Mark all present" not in html
    assert (
        officer_client.post(
            _row_url(session, enrollments[1]), {"status": "present", "version": 0}
        ).status_code
        == 403
    )
    assert officer_client.post(reverse("register_submit", args=[session.pk]), {}).status_code == 403
    assert Attendance.objects.count() == 1


def _form(session, rows: dict, **extra):
    data = {"row": [str(pk) for pk in rows], **extra}
    for pk, (status, note, version) in rows.items():
        data[f"status-{pk}"] = status
        data[f"note-{pk}"] = note
        data[f"version-{pk}"] = version
        data[f"orig-status-{pk}"] = ""
        data[f"orig-note-{pk}"] = ""
    return data


def test_the_full_form_fallback_saves_every_changed_row(staff_client, session, enrollments):
    a, b, c = enrollments
    response = staff_client.post(
        reverse("register_submit", args=[session.pk]),
        _form(session, {a.pk: ("present", "", 0), b.pk: ("excused", "sick leave", 0), c.pk: ("", "", 0)}),
    )
    assert response.status_code == 302
    saved = {att.enrollment_id: (att.status, att.note) for att in Attendance.objects.all()}
    assert saved == {a.pk: ("present", ""), b.pk: ("excused", "sick leave")}


def test_mark_all_present_without_script_marks_only_unmarked_rows(staff_client, session, enrollments):
    a, b, c = enrollments
    data = _form(session, {a.pk: ("late", "", 0), b.pk: ("", "", 0), c.pk: ("", "", 0)}, mark_all_present="1")
    staff_client.post(reverse("register_submit", args=[session.pk]), data)
    assert dict(Attendance.objects.values_list("enrollment_id", "status")) == {
        a.pk: "late",
        b.pk: "present",
        c.pk: "present",
    }


def test_the_full_form_with_an_unknown_status_saves_nothing(staff_client, session, enrollments):
    a, b, _c = enrollments
    response = staff_client.post(
        reverse("register_submit", args=[session.pk]),
        _form(session, {a.pk: ("present", "", 0), b.pk: ("asleep", "", 0)}),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "“asleep” is not an attendance status." in html
    assert "nothing was saved" in html
    assert not Attendance.objects.exists()


def test_a_register_post_naming_an_official_of_another_course_saves_nothing(
    staff_client, session, enrollments
):
    stranger = EnrollmentFactory()
    response = staff_client.post(
        reverse("register_submit", args=[session.pk]),
        _form(session, {enrollments[0].pk: ("present", "", 0), stranger.pk: ("present", "", 0)}),
    )
    assert response.status_code == 400
    assert "not enrolled in this session&#x27;s course" in response.content.decode()
    assert not Attendance.objects.exists()


def test_the_full_form_refuses_a_stale_row_and_says_which_value_won(
    staff_client, session, enrollments, staff2
):
    AttendanceFactory(enrollment=enrollments[0], session=session, status="absent", recorded_by=staff2)
    response = staff_client.post(
        reverse("register_submit", args=[session.pk]),
        _form(session, {enrollments[0].pk: ("present", "", 0), enrollments[1].pk: ("late", "", 0)}),
        follow=True,
    )
    html = response.content.decode()
    assert "Not saved: " in html and "Dara Keo" in html
    assert dict(Attendance.objects.values_list("enrollment_id", "status")) == {
        enrollments[0].pk: "absent",
        enrollments[1].pk: "late",
    }


def test_the_session_page_shows_the_history_of_attendance_and_enrolments(staff_client, session, enrollments):
    url = _row_url(session, enrollments[0])
    staff_client.post(url, {"status": "present", "version": 0})
    staff_client.post(url, {"status": "late", "note": "bus", "version": 1})
    response = staff_client.get(reverse("session_detail", args=[session.pk]))
    history = response.context["attendance_history"]
    assert [(entry.old, entry.new) for entry in history] == [("Present", "Late — bus"), ("", "Present")]
    assert history[0].who.username == "sophea.staff"
    assert history[0].ip_address == "127.0.0.1"
    assert len(response.context["enrollment_history"]) == 3


def test_the_session_page_costs_the_same_queries_for_3_or_23_officials(staff_client, session, enrollments):
    for enrollment in enrollments:
        AttendanceFactory(enrollment=enrollment, session=session)

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(reverse("session_detail", args=[session.pk])).status_code == 200
        return len(captured)

    few = count()
    for _ in range(20):
        AttendanceFactory(enrollment=EnrollmentFactory(course=session.course), session=session, status="late")
    assert count() == few
    assert few <= 12


def test_a_row_resent_with_its_idempotency_key_is_answered_as_the_first_time(
    staff_client, session, enrollments
):
    AttendanceFactory(enrollment=enrollments[0], session=session, status="present")
    url = _row_url(session, enrollments[0])
    change = {"status": "late", "note": "", "version": 1}

    first = staff_client.post(url, change, HTTP_IDEMPOTENCY_KEY="0b7c3b9e-6f1e-4a53-9a53-3f0f4c1b2a10")
    resent = staff_client.post(url, change, HTTP_IDEMPOTENCY_KEY="0b7c3b9e-6f1e-4a53-9a53-3f0f4c1b2a10")

    assert first.status_code == resent.status_code == 200
    assert resent.json() == first.json() and resent["Idempotent-Replayed"] == "true"
    attendance = Attendance.objects.get(enrollment=enrollments[0], session=session)
    assert (attendance.status, attendance.version) == ("late", 2)


def test_a_row_key_reused_for_another_change_is_refused_with_a_message(staff_client, session, enrollments):
    url = _row_url(session, enrollments[0])
    staff_client.post(url, {"status": "late", "version": 0}, HTTP_IDEMPOTENCY_KEY="k-1")

    response = staff_client.post(url, {"status": "absent", "version": 1}, HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 422
    assert "already used for a different request" in response.json()["message"]
    assert Attendance.objects.get(enrollment=enrollments[0]).status == "late"
