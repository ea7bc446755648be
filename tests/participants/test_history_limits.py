"""The history on the session page and the official's page: the newest changes only, limited in SQL,
each with the value before it, in a fixed number of queries however long the history is."""

from __future__ import annotations

import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from participants.models import Attendance, Enrollment, Official
from participants.selectors import attendance_history, enrollment_history, official_history
from participants.services import attendance_record
from tests.factories import EnrollmentFactory

STATUSES = ["present", "late", "absent", "excused"]


def _attendance_changes(enrollment, session, changes: int) -> Attendance:
    """`changes` real saves through the service, each to the next status (one history row each)."""
    for number in range(changes):
        attendance, changed = attendance_record(
            enrollment=enrollment, session=session, status=STATUSES[number % len(STATUSES)]
        )
        assert changed
    return attendance


def _bulk_history(model, instance, rows: int, field: str, values: list[str]) -> None:
    """`rows` more history rows for `instance`, as saves would write them, without the saves."""
    history = model.history.model
    start = timezone.now()
    kept = {f.attname for f in history._meta.concrete_fields}
    template = {
        f.attname: getattr(instance, f.attname) for f in model._meta.concrete_fields if f.attname in kept
    }
    history.objects.bulk_create(
        history(
            **{**template, field: values[number % len(values)]},
            history_date=start + datetime.timedelta(seconds=number + 1),
            history_type="~",
        )
        for number in range(rows)
    )


def _limited(queries) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if "LIMIT 5" in query["sql"]]


def test_the_session_history_is_the_newest_changes_limited_in_sql(db, session, enrollments):
    _attendance_changes(enrollments[0], session, 12)
    with CaptureQueriesContext(connection) as queries:
        history = attendance_history(session, limit=5)
    assert len(queries.captured_queries) == 1 and _limited(queries)
    # Saves 12 down to 8 (statuses cycle present, late, absent, excused), each with the one before.
    assert [(entry.old, entry.new) for entry in history] == [
        ("Absent", "Excused"),
        ("Late", "Absent"),
        ("Present", "Late"),
        ("Excused", "Present"),
        ("Absent", "Excused"),
    ]


def test_a_save_that_changed_nothing_shown_does_not_take_a_place_in_the_limit(db, session, enrollments):
    attendance = _attendance_changes(enrollments[0], session, 3)  # present, late, absent
    for _ in range(4):
        Attendance.objects.get(pk=attendance.pk).save()  # a new history row, the same status
    history = attendance_history(session, limit=3)
    assert [(entry.old, entry.new) for entry in history] == [
        ("Late", "Absent"),
        ("Present", "Late"),
        ("", "Present"),
    ]


def test_the_enrolment_history_is_limited_in_sql(db, session, enrollments):
    enrollment = enrollments[0]
    _bulk_history(Enrollment, enrollment, 9, "withdrawal_reason", ["ill", "moved"])
    Enrollment.history.filter(id=enrollment.pk, withdrawal_reason__in=["ill", "moved"]).update(
        status="withdrawn", withdrawn_at=timezone.now()
    )
    with CaptureQueriesContext(connection) as queries:
        history = enrollment_history(session.course, limit=5)
    assert len(queries.captured_queries) == 1 and _limited(queries)
    assert len(history) == 5
    assert all({entry.old, entry.new} == {"Withdrawn — ill", "Withdrawn — moved"} for entry in history)


def test_the_official_history_is_limited_in_sql_with_the_value_before_each_change(db, session, enrollments):
    official = enrollments[0].official
    _bulk_history(Official, official, 8, "position", ["Director", "Deputy director"])
    with CaptureQueriesContext(connection) as queries:
        history = official_history(official, limit=5)
    assert len(queries.captured_queries) == 2 and len(_limited(queries)) == 2
    own = [entry for entry in history if entry.subject == "Official"]
    assert len(history) == 5 and len(own) == 5
    # The oldest entry shown still has the value before it, although that row is not shown.
    assert own[-1].old and own[-1].old != own[-1].new


def _page_queries(client, url: str, django_assert_max_num_queries, most: int):
    with django_assert_max_num_queries(most) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response


def test_the_session_page_costs_the_same_queries_with_10_and_1000_history_rows(
    staff_client, session, enrollments, django_assert_max_num_queries
):
    attendance = _attendance_changes(enrollments[0], session, 2)
    _bulk_history(Attendance, attendance, 8, "status", STATUSES)
    url = reverse("session_detail", args=[session.pk])
    few, response = _page_queries(staff_client, url, django_assert_max_num_queries, 20)
    assert len(response.context["attendance_history"]) == 10
    _bulk_history(Attendance, attendance, 990, "status", STATUSES)
    many, response = _page_queries(staff_client, url, django_assert_max_num_queries, 20)
    assert many == few
    assert len(response.context["attendance_history"]) == 200  # the page's limit, read by LIMIT


def test_the_official_page_costs_the_same_queries_with_10_and_1000_history_rows(
    staff_client, django_assert_max_num_queries
):
    enrollment = EnrollmentFactory()  # the official's creation and the enrolment: two rows
    official = enrollment.official
    _bulk_history(Official, official, 8, "position", ["Director", "Deputy director"])
    url = reverse("official_detail", args=[official.pk])
    few, response = _page_queries(staff_client, url, django_assert_max_num_queries, 16)
    assert len(response.context["page"].history) == 10
    _bulk_history(Official, official, 990, "position", ["Director", "Deputy director"])
    many, response = _page_queries(staff_client, url, django_assert_max_num_queries, 16)
    assert many == few
    assert len(response.context["page"].history) == 100
