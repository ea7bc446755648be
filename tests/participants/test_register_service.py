"""attendance_record_many, the one register write, and every door that records a register through it:
the per-row save, the full-form post without script, the API's PUT, the import and the admin.

Each door test spies on the service (it is called, once, with the door's rows) and checks the
outward behaviour: a bad row refuses the whole write with a message naming it and changes nothing.
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses.services import session_cancel
from participants import services
from participants.imports.apply import ImportRefused, apply_import
from participants.imports.plan import preview_import
from participants.models import Attendance, ImportBatch
from participants.services import (
    AttendanceResult,
    AttendanceRow,
    AttendanceRowsInvalid,
    StaleAttendanceError,
    attendance_record,
    attendance_record_many,
    enrollment_withdraw,
)
from tests.api.conftest import API, key_client, make_key
from tests.factories import AttendanceFactory, EnrollmentFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def spy():
    """The one service, still doing its work, with a record of every call."""
    with mock.patch.object(services, "attendance_record_many", wraps=services.attendance_record_many) as spy:
        yield spy


def _state(session) -> tuple:
    """Everything a register write could change: the rows and their history."""
    rows = sorted(
        Attendance.objects.filter(session=session).values_list(
            "enrollment_id", "status", "note", "version", "recorded_by_id", "updated_at"
        )
    )
    return rows, Attendance.history.filter(session_id=session.pk).count()


def _rows_of(call) -> list[AttendanceRow]:
    return list(call.kwargs["rows"])


# The service ------------------------------------------------------------------------------------


def test_a_register_is_written_in_one_call_with_an_outcome_per_row(session, enrollments, staff, staff2):
    a, b, c = enrollments
    AttendanceFactory(enrollment=b, session=session, status="present", recorded_by=staff2)
    AttendanceFactory(enrollment=c, session=session, status="late", recorded_by=staff)

    outcomes = attendance_record_many(
        session=session,
        rows=[
            AttendanceRow(enrollment=a, status="present"),
            AttendanceRow(enrollment=b.pk, status="excused", note="sick", expected_version=1),
            AttendanceRow(official=c.official_id, status="late", expected_version=1),
        ],
        recorded_by=staff,
    )

    assert [o.result for o in outcomes] == [
        AttendanceResult.CREATED,
        AttendanceResult.CHANGED,
        AttendanceResult.UNCHANGED,
    ]
    assert [o.changed for o in outcomes] == [True, True, False]
    assert [(o.attendance.status, o.attendance.version) for o in outcomes] == [
        ("present", 1),
        ("excused", 2),
        ("late", 1),
    ]
    assert outcomes[0].attendance.enrollment.official == a.official  # loaded for the doors' messages
    stored = {row.enrollment_id: row for row in Attendance.objects.filter(session=session)}
    assert (stored[b.pk].status, stored[b.pk].note, stored[b.pk].recorded_by) == ("excused", "sick", staff)
    assert stored[b.pk].updated_at > stored[c.pk].updated_at  # the API's sync sees the change


def test_every_written_row_gets_its_history_row_with_the_user(session, enrollments, staff, staff2):
    a, b, _c = enrollments
    AttendanceFactory(enrollment=b, session=session, status="present", recorded_by=staff2)

    attendance_record_many(
        session=session,
        rows=[AttendanceRow(enrollment=a, status="late"), AttendanceRow(enrollment=b, status="absent")],
        recorded_by=staff,
    )

    history = Attendance.history.filter(session_id=session.pk).order_by("history_date", "history_id")
    assert [(h.enrollment_id, h.status, h.history_type, h.history_user) for h in history] == [
        (b.pk, "present", "+", staff2),
        (a.pk, "late", "+", staff),
        (b.pk, "absent", "~", staff),
    ]


def test_one_bad_row_refuses_the_whole_register_naming_each_bad_row(session, enrollments, staff):
    a, b, c = enrollments
    enrollment_withdraw(enrollment=c, reason="Transferred")
    stranger = EnrollmentFactory()
    before = _state(session)

    with pytest.raises(AttendanceRowsInvalid) as refused:
        attendance_record_many(
            session=session,
            rows=[
                AttendanceRow(enrollment=a, status="present"),
                AttendanceRow(enrollment=b, status="asleep"),
                AttendanceRow(enrollment=c, status="present"),
                AttendanceRow(enrollment=stranger, status="present"),
                AttendanceRow(enrollment=a, status="late"),
                AttendanceRow(official=b.official_id, status="late", note="x" * 501),
            ],
            recorded_by=staff,
        )

    error = refused.value
    assert set(error.row_errors) == {1, 2, 3, 4, 5}
    assert [error.codes(index) for index in (1, 2, 3, 4, 5)] == [
        {"invalid_status"},
        {"withdrawn"},
        {"not_enrolled"},
        {"listed_twice"},
        {"note_too_long"},
    ]
    assert error.row_errors[3].message_dict == {
        "enrollment": ["This official is not enrolled in this session's course."]
    }
    assert error.row_errors[5].message_dict == {"note": ["A note can have at most 500 characters."]}
    assert f"{c.official}: This official has withdrawn from the course." in error.messages
    assert any(
        message.startswith(f"{b.official}: “asleep” is not an attendance status")
        for message in error.messages
    )
    assert _state(session) == before


def test_a_conflict_refuses_the_whole_register_and_names_every_newer_row(session, enrollments, staff, staff2):
    a, b, c = enrollments
    AttendanceFactory(enrollment=a, session=session, status="present", recorded_by=staff2)
    AttendanceFactory(enrollment=b, session=session, status="absent", recorded_by=staff2)
    before = _state(session)

    with pytest.raises(StaleAttendanceError) as stale:
        attendance_record_many(
            session=session,
            rows=[
                AttendanceRow(enrollment=c, status="late", expected_version=0),
                AttendanceRow(enrollment=a, status="late", expected_version=0),
                AttendanceRow(enrollment=b, status="late", expected_version=0),
            ],
            recorded_by=staff,
        )

    assert stale.value.current.enrollment_id == a.pk
    assert [row.status for row in stale.value.conflicts] == ["present", "absent"]
    assert _state(session) == before


def test_with_skip_conflicts_the_other_rows_are_written_and_the_conflicts_reported(
    session, enrollments, staff, staff2
):
    a, b, _c = enrollments
    AttendanceFactory(enrollment=a, session=session, status="present", recorded_by=staff2)

    outcomes = attendance_record_many(
        session=session,
        rows=[
            AttendanceRow(enrollment=a, status="late", expected_version=0),
            AttendanceRow(enrollment=b, status="late", expected_version=0),
        ],
        recorded_by=staff,
        skip_conflicts=True,
    )

    assert [o.result for o in outcomes] == [AttendanceResult.CONFLICT, AttendanceResult.CREATED]
    assert (outcomes[0].attendance.status, outcomes[0].attendance.recorded_by) == ("present", staff2)
    assert dict(Attendance.objects.values_list("enrollment_id", "status")) == {a.pk: "present", b.pk: "late"}


def _first_read_misses_the_rows():
    """The rows' read as if another request inserted them just after it (the insert then clashes)."""
    reads = iter([lambda session, ids: {}, services._lock_stored])
    return mock.patch.object(services, "_lock_stored", side_effect=lambda *args: next(reads)(*args))


def test_a_row_inserted_by_someone_else_meanwhile_is_read_again_and_is_a_conflict(
    session, enrollments, staff, staff2
):
    a, b, _c = enrollments
    AttendanceFactory(enrollment=a, session=session, status="present", recorded_by=staff2)
    before = _state(session)

    with _first_read_misses_the_rows(), pytest.raises(StaleAttendanceError) as stale:
        attendance_record_many(
            session=session,
            rows=[
                AttendanceRow(enrollment=a, status="late", expected_version=0),
                AttendanceRow(enrollment=b, status="late", expected_version=0),
            ],
            recorded_by=staff,
        )

    assert (stale.value.current.status, stale.value.current.recorded_by) == ("present", staff2)
    assert _state(session) == before


def test_ones_own_save_inserted_meanwhile_is_read_again_and_is_no_conflict(session, enrollments, staff):
    a, b, _c = enrollments
    AttendanceFactory(enrollment=a, session=session, status="late", recorded_by=staff)

    with _first_read_misses_the_rows():
        outcomes = attendance_record_many(
            session=session,
            rows=[
                AttendanceRow(enrollment=a, status="late", expected_version=0),
                AttendanceRow(enrollment=b, status="late", expected_version=0),
            ],
            recorded_by=staff,
        )

    assert [o.result for o in outcomes] == [AttendanceResult.UNCHANGED, AttendanceResult.CREATED]
    assert Attendance.objects.filter(session=session, status="late").count() == 2


def test_a_version_naming_a_row_that_is_gone_is_refused(session, enrollments, staff):
    with pytest.raises(AttendanceRowsInvalid) as refused:
        attendance_record_many(
            session=session,
            rows=[AttendanceRow(enrollment=enrollments[0], status="present", expected_version=3)],
            recorded_by=staff,
        )

    assert refused.value.codes(0) == {"row_gone"}
    assert not Attendance.objects.exists()


def test_a_cancelled_session_refuses_every_row(session, enrollments, staff):
    session_cancel(session=session, reason="Flood", changed_by=staff)
    session.refresh_from_db()

    with pytest.raises(ValidationError) as refused:
        attendance_record_many(
            session=session,
            rows=[AttendanceRow(enrollment=enrollments[0], status="present")],
            recorded_by=staff,
        )

    assert refused.value.message_dict == {
        "session": ["This session was cancelled; attendance cannot be recorded."]
    }
    assert not Attendance.objects.exists()


def test_attendance_record_is_one_row_through_the_register_write(session, enrollments, staff, spy):
    attendance, changed = attendance_record(
        enrollment=enrollments[0], session=session, status="late", recorded_by=staff
    )

    assert changed and attendance.status == "late"
    assert spy.call_count == 1 and _rows_of(spy.call_args) == [
        AttendanceRow(status="late", enrollment=enrollments[0])
    ]
    with pytest.raises(ValidationError) as refused:
        attendance_record(enrollment=EnrollmentFactory(), session=session, status="late")
    assert refused.value.message_dict == {
        "enrollment": ["This official is not enrolled in this session's course."]
    }


def _register_queries(session, enrollments, user) -> int:
    rows = [AttendanceRow(enrollment=e.pk, status="present") for e in enrollments]
    with CaptureQueriesContext(connection) as first:
        attendance_record_many(session=session, rows=rows, recorded_by=user)
    rows = [AttendanceRow(enrollment=e.pk, status="late", expected_version=1) for e in enrollments]
    with CaptureQueriesContext(connection) as second:
        attendance_record_many(session=session, rows=rows, recorded_by=user)
    return len(first) + len(second)


def test_the_register_write_costs_the_same_queries_for_3_or_30_rows(staff):
    few, many = SessionFactory(), SessionFactory()
    cost_of_few = _register_queries(few, [EnrollmentFactory(course=few.course) for _ in range(3)], staff)
    cost_of_many = _register_queries(many, [EnrollmentFactory(course=many.course) for _ in range(30)], staff)

    assert cost_of_few == cost_of_many


# The per-row save (the page's script) --------------------------------------------------------


def _row_url(session, enrollment):
    return reverse("register_row", args=[session.pk, enrollment.pk])


def test_the_row_save_goes_through_the_register_write(staff_client, staff, session, enrollments, spy):
    response = staff_client.post(
        _row_url(session, enrollments[0]), {"status": "late", "note": "", "version": 0}
    )

    assert response.status_code == 200 and response.json()["changed"] is True
    assert spy.call_count == 1
    assert spy.call_args.kwargs["session"] == session and spy.call_args.kwargs["recorded_by"] == staff
    assert _rows_of(spy.call_args) == [
        AttendanceRow(status="late", enrollment=enrollments[0].pk, note="", expected_version=0)
    ]


def test_the_row_save_of_a_withdrawn_official_is_refused_with_the_message(
    staff_client, session, enrollments, spy
):
    enrollment_withdraw(enrollment=enrollments[0], reason="Transferred")

    response = staff_client.post(_row_url(session, enrollments[0]), {"status": "late", "version": 0})

    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "code": "withdrawn",  # the page's queue drops this mark for good and says why on the row
        "message": "This official has withdrawn from the course.",
    }
    assert spy.call_count == 1
    assert not Attendance.objects.exists()


# The full-form post without script -----------------------------------------------------------


def _form(rows: dict, **extra) -> dict:
    data = {"row": [str(pk) for pk in rows], **extra}
    for pk, (status, version) in rows.items():
        data.update(
            {f"status-{pk}": status, f"note-{pk}": "", f"version-{pk}": version, f"orig-status-{pk}": ""}
        )
        data[f"orig-note-{pk}"] = ""
    return data


def test_the_full_form_post_goes_through_the_register_write_once(
    staff_client, staff, session, enrollments, spy
):
    a, b, c = enrollments

    response = staff_client.post(
        reverse("register_submit", args=[session.pk]),
        _form({a.pk: ("present", 0), b.pk: ("late", 0), c.pk: ("", 0)}),
    )

    assert response.status_code == 302
    assert spy.call_count == 1 and spy.call_args.kwargs["skip_conflicts"] is True
    assert _rows_of(spy.call_args) == [
        AttendanceRow(status="present", enrollment=a.pk, note="", expected_version=0),
        AttendanceRow(status="late", enrollment=b.pk, note="", expected_version=0),
    ]
    assert dict(Attendance.objects.values_list("enrollment_id", "status")) == {a.pk: "present", b.pk: "late"}


def test_a_full_form_post_with_a_row_withdrawn_meanwhile_saves_nothing_and_names_it(
    staff_client, session, enrollments, spy
):
    a, b, c = enrollments
    enrollment_withdraw(enrollment=c, reason="Transferred")  # after the page was read
    before = _state(session)

    response = staff_client.post(
        reverse("register_submit", args=[session.pk]),
        _form({a.pk: ("present", 0), b.pk: ("late", 0), c.pk: ("present", 0)}),
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Some rows have errors; nothing was saved." in html
    assert f"{c.official}: This official has withdrawn from the course." in html
    assert spy.call_count == 1
    assert _state(session) == before


@pytest.mark.parametrize("row", ["²", "9" * 30])
def test_a_full_form_post_naming_a_row_no_enrolment_can_have_is_refused(
    staff_client, session, enrollments, row
):
    data = {**_form({enrollments[0].pk: ("present", 0)}), "row": [str(enrollments[0].pk), row]}
    data[f"status-{row}"] = "present"

    response = staff_client.post(reverse("register_submit", args=[session.pk]), data)

    assert response.status_code == 400
    assert "not enrolled in this session&#x27;s course; nothing was saved" in response.content.decode()
    assert not Attendance.objects.exists()


def test_a_full_form_post_on_a_cancelled_session_saves_nothing_and_says_why(
    staff_client, staff, session, enrollments
):
    session_cancel(session=session, reason="Flood", changed_by=staff)

    response = staff_client.post(
        reverse("register_submit", args=[session.pk]), _form({enrollments[0].pk: ("present", 0)}), follow=True
    )

    assert "This session was cancelled; attendance cannot be recorded." in response.content.decode()
    assert not Attendance.objects.exists()


def test_a_30_row_register_post_costs_a_bounded_number_of_queries(
    staff_client, session, django_assert_max_num_queries
):
    rows = {EnrollmentFactory(course=session.course).pk: ("present", 0) for _ in range(30)}
    url = reverse("register_submit", args=[session.pk])
    staff_client.get(reverse("session_detail", args=[session.pk]))  # the log-in's session is warm

    # Today 15: the log-in (3), the session, the enrolments, the rows read and locked, one insert of
    # the rows and one of their history, the savepoints, and the figures' rollups kept in the same
    # transaction (the lock on PostgreSQL, one upsert per rollup table); row by row it was over 200.
    with django_assert_max_num_queries(15):
        response = staff_client.post(url, _form(rows))

    assert response.status_code == 302
    assert Attendance.objects.filter(session=session, status="present").count() == 30
    assert Attendance.history.filter(session_id=session.pk).count() == 30

    changed = dict.fromkeys(rows, ("late", 1))
    with django_assert_max_num_queries(15):  # today 13: one bulk update instead of the insert
        assert staff_client.post(url, _form(changed)).status_code == 302
    assert Attendance.objects.filter(session=session, status="late", version=2).count() == 30
    assert Attendance.history.filter(session_id=session.pk).count() == 60


def test_a_200_row_register_post_costs_at_most_15_statements(
    staff_client, session, django_assert_max_num_queries
):
    rows = {EnrollmentFactory(course=session.course).pk: ("present", 0) for _ in range(200)}
    url = reverse("register_submit", args=[session.pk])
    staff_client.get(reverse("session_detail", args=[session.pk]))  # the log-in's session is warm

    with django_assert_max_num_queries(15):
        assert staff_client.post(url, _form(rows)).status_code == 302
    with django_assert_max_num_queries(15):
        assert staff_client.post(url, _form(dict.fromkeys(rows, ("late", 1)))).status_code == 302
    assert Attendance.objects.filter(session=session, status="late", version=2).count() == 200
    assert Attendance.history.filter(session_id=session.pk).count() == 400


# The API's PUT -------------------------------------------------------------------------------


@pytest.fixture
def staff_api(db):
    cache.clear()  # the API's budgets are counted in the shared cache
    yield key_client(make_key("mih_staff"))
    cache.clear()


def _register_url(session) -> str:
    return f"{API}sessions/{session.pk}/register/"


def test_the_api_put_goes_through_the_register_write_once(staff_api, session, enrollments, spy):
    a, b, c = enrollments
    body = {
        "attendance": [
            {"official": a.official_id, "status": "present"},
            {"official": b.official_id, "status": None},
            {"official": c.official_id, "status": "excused", "note": "sick", "version": 0},
        ]
    }

    response = staff_api.put(_register_url(session), body, format="json")

    assert response.status_code == 200 and response.json()["changed"] == 2
    assert spy.call_count == 1 and spy.call_args.kwargs["recorded_by"] is None  # an API key is no user
    assert _rows_of(spy.call_args) == [
        AttendanceRow(status="present", official=a.official_id),
        AttendanceRow(status="excused", official=c.official_id, note="sick", expected_version=0),
    ]


def test_an_api_put_with_a_withdrawn_official_changes_nothing_and_names_the_entry(
    staff_api, session, enrollments, spy
):
    a, b, c = enrollments
    enrollment_withdraw(enrollment=c, reason="Transferred")
    before = _state(session)
    body = {
        "attendance": [
            {"official": a.official_id, "status": "present"},
            {"official": b.official_id, "status": None},
            {"official": c.official_id, "status": "present"},
        ]
    }

    response = staff_api.put(_register_url(session), body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "attendance": {"2": {"official": ["This official has withdrawn from the course."]}}
    }
    assert spy.call_count == 1
    assert _state(session) == before


def test_an_api_put_on_a_cancelled_session_is_refused_naming_the_session(
    staff_api, staff, session, enrollments
):
    session_cancel(session=session, reason="Flood", changed_by=staff)

    response = staff_api.put(
        _register_url(session),
        {"attendance": [{"official": enrollments[0].official_id, "status": "present"}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"session": ["This session was cancelled; attendance cannot be recorded."]}
    assert not Attendance.objects.exists()


# The import ----------------------------------------------------------------------------------


def _sheet(enrollments, statuses) -> bytes:
    lines = ["Email,Status"] + [f"{e.official.email},{s}" for e, s in zip(enrollments, statuses, strict=True)]
    return "\n".join(lines).encode()


def _preview(staff, session, enrollments, statuses) -> ImportBatch:
    return preview_import(
        kind="attendance",
        filename="sheet.csv",
        data=_sheet(enrollments, statuses),
        user=staff,
        session=session,
    )


def test_the_import_writes_the_sheet_through_the_register_write_once(staff, session, enrollments, spy):
    batch = _preview(staff, session, enrollments, ["present", "late", "absent"])

    apply_import(batch=batch, user=staff)

    assert spy.call_count == 1 and spy.call_args.kwargs["recorded_by"] == staff
    assert [row.status for row in _rows_of(spy.call_args)] == ["present", "late", "absent"]
    assert dict(Attendance.objects.values_list("enrollment_id", "status")) == {
        e.pk: s for e, s in zip(enrollments, ["present", "late", "absent"], strict=True)
    }


def test_an_import_with_an_official_withdrawn_since_the_preview_imports_nothing(
    staff, session, enrollments, spy
):
    batch = _preview(staff, session, enrollments, ["present", "late", "absent"])
    enrollment_withdraw(enrollment=enrollments[1], reason="Transferred")
    before = _state(session)

    with pytest.raises(ImportRefused) as refused:
        apply_import(batch=batch, user=staff)

    assert refused.value.message == (
        "Nothing was imported: Line 3: This official has withdrawn from the course. "
        "Upload the file again to see a new preview."
    )
    assert spy.call_count == 1
    assert _state(session) == before
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED


# The admin -----------------------------------------------------------------------------------


def test_the_admin_records_attendance_through_the_register_write(superuser_client, superuser, spy):
    attendance = AttendanceFactory(status="present")
    spy.reset_mock()

    response = superuser_client.post(
        reverse("admin:participants_attendance_change", args=[attendance.pk]),
        {"status": "excused", "note": "Sick note", "version": 1},
    )

    assert response.status_code == 302
    assert spy.call_count == 1 and spy.call_args.kwargs["recorded_by"] == superuser
    attendance.refresh_from_db()
    assert (attendance.status, attendance.version) == ("excused", 2)


def test_a_200_row_api_put_costs_at_most_15_statements(
    staff_api, session, settings, django_assert_max_num_queries
):
    if connection.vendor == "sqlite":
        # The embedded default counts the API's budgets in a database cache table: 6 statements
        # per request that are the throttle's, not the register's (none with Redis, as on
        # PostgreSQL in CI). Counted apart, in memory, so the figure is the register's own.
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    officials = [EnrollmentFactory(course=session.course).official_id for _ in range(200)]
    url = _register_url(session)
    staff_api.get(url)  # the key's first use is recorded once; the budgets' cache entries exist

    body = {"attendance": [{"official": official, "status": "present"} for official in officials]}
    with django_assert_max_num_queries(15):
        response = staff_api.put(url, body, format="json")
    assert response.status_code == 200 and response.json()["changed"] == 200

    # Every row changed, each with the version it was read at: one bulk update and its history.
    body = {"attendance": [{"official": o, "status": "late", "version": 1} for o in officials]}
    with django_assert_max_num_queries(15):
        response = staff_api.put(url, body, format="json")
    assert response.status_code == 200 and response.json()["changed"] == 200
    assert Attendance.objects.filter(session=session, status="late", version=2).count() == 200
    assert Attendance.history.filter(session_id=session.pk).count() == 400

    # A stale version among them: refused as a whole, each row's answer still its own.
    body["attendance"][7] = {"official": officials[7], "status": "absent", "version": 1}
    with django_assert_max_num_queries(15):
        response = staff_api.put(url, body, format="json")
    assert response.status_code == 409
    assert response.json()["current"] == {"status": "late", "note": "", "version": 2}
    assert Attendance.history.filter(session_id=session.pk).count() == 400
