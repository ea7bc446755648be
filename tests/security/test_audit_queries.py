"""The audit page and its export cost the same number of queries for 10 rows as for 100:
the previous versions (before → after) and the records' labels are read in bulk, not per row."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from participants.services import attendance_record, official_create, official_update
from tests.factories import EnrollmentFactory, MinistryFactory, SessionFactory

pytestmark = pytest.mark.django_db


def make_history(rows: int, user) -> None:
    """`rows` history rows: per official a creation, a change, an enrolment and two attendance rows."""
    assert rows % 5 == 0
    ministry = MinistryFactory()
    session = SessionFactory()
    baseline = sum(len(m.history.all()) for m in _audited_models())
    for n in range(rows // 5):
        official = official_create(
            family_name=f"Keo{n}", given_name="Sokha", ministry=ministry, position="Officer", changed_by=user
        )
        official_update(official=official, position="Director", changed_by=user)
        enrollment = EnrollmentFactory(official=official, course=session.course, changed_by=user)
        attendance_record(enrollment=enrollment, session=session, status="absent", recorded_by=user)
        attendance_record(enrollment=enrollment, session=session, status="late", recorded_by=user)
    assert sum(len(m.history.all()) for m in _audited_models()) - baseline == rows


def _audited_models():
    from courses.models import Course, Session
    from participants.models import Attendance, Enrollment, Official

    return (Official, Enrollment, Attendance, Course, Session)


def queries_for(client, url: str) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200
    return len(captured), body


@pytest.mark.parametrize("url", ["/audit/", "/audit/?kind=attendance", "/audit/export.csv"])
def test_the_audit_costs_the_same_queries_for_10_rows_as_for_100(superuser, superuser_client, url):
    make_history(10, superuser)
    few, _body = queries_for(superuser_client, url)
    make_history(90, superuser)
    many, body = queries_for(superuser_client, url)

    assert few == many
    assert many <= 20  # today 13 for the page, 15 for the export (session, user, 5 histories, …)
    assert "KEO17 Sokha" in body.decode()  # the newest official is there, labelled


def test_the_export_keeps_before_after_and_labels_for_every_row(superuser, superuser_client):
    make_history(100, superuser)

    response = superuser_client.get("/audit/export.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    positions = [r for r in rows if r[1] == "official" and r[4] == "changed"]
    assert len(positions) == 20
    assert {tuple(r[7:]) for r in positions} == {("position", "Officer", "Director")}
    statuses = [r for r in rows if r[1] == "attendance" and r[4] == "changed" and r[7] == "status"]
    assert len(statuses) == 20 and {tuple(r[8:]) for r in statuses} == {("absent", "late")}
    assert all(r[3].startswith("KEO") and " — Course " in r[3] for r in rows if r[1] == "enrollment")
    assert all(r[3].startswith("KEO") and ": Late" in r[3] for r in statuses)
    times = [r[0] for r in rows[1:] if r[1] != "login"]
    assert times == sorted(times, reverse=True)


def test_the_page_shows_the_newest_fifty_with_their_changes(superuser, superuser_client):
    make_history(100, superuser)

    page = superuser_client.get("/audit/").content.decode()

    assert page.count('<ul class="audit-changes">') == 50
    assert "Page 1 of 3" in page  # 100 rows, and the course and session the factories made
    assert "absent → late" in page
    assert "Officer → Director" in page
