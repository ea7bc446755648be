"""The audit page and its export cost the same number of queries for 10 rows as for 1,000: the
previous versions (before → after) and the records' labels are read in bulk or in the same query,
never per row; the export streams, and keeps every cell safe from spreadsheet formulas."""

import csv
import io

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

from participants.services import attendance_record, official_create, official_update
from pcp_portal import audit
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


URLS = [
    "/audit/",
    "/audit/?older=2999-01-01T00:00:00%2B00:00~official~1",  # an older page: the keyset seek
    "/audit/?newer=2999-01-01T00:00:00%2B00:00~official~1",  # a newer page past the top: the newest
    "/audit/?kind=attendance",
    "/audit/export.csv",
    "/audit/export.csv?user=root",
]


def test_the_audit_costs_the_same_queries_for_10_rows_as_for_1000(superuser, superuser_client):
    make_history(10, superuser)
    few = {url: queries_for(superuser_client, url)[0] for url in URLS}
    make_history(990, superuser)
    many = {url: queries_for(superuser_client, url) for url in URLS}

    assert few == {url: queries for url, (queries, _body) in many.items()}
    assert max(few.values()) <= 20  # today 18 for the page, 11 for the export (session, user, 5 histories, …)
    for url in ("/audit/", "/audit/export.csv", "/audit/export.csv?user=root"):
        assert "KEO197 Sokha" in many[url][1].decode()  # the newest official is there, labelled
    assert "Page " not in many["/audit/"][1].decode()  # no count of the whole trail


def test_each_history_table_is_read_a_page_at_a_time_in_sql(superuser, superuser_client):
    make_history(100, superuser)
    with CaptureQueriesContext(connection) as captured:
        superuser_client.get("/audit/?older=2999-01-01T00:00:00%2B00:00~attendance~1")
    pages = [q["sql"] for q in captured if "previous_history_id" in q["sql"]]
    assert len(pages) == 5  # one per audited table, each limited to a page and one row more
    assert all(sql.rstrip().endswith(f"LIMIT {audit.PAGE_SIZE + 1}") for sql in pages)
    assert not [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]


def test_the_export_streams_every_row_in_chunks(superuser, superuser_client, monkeypatch):
    make_history(100, superuser)
    monkeypatch.setattr(audit, "EXPORT_CHUNK", 7)
    chunks = []
    real_iterator = QuerySet.iterator

    def iterator(queryset, chunk_size=None):
        chunks.append(chunk_size)
        return real_iterator(queryset, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", iterator)
    response = superuser_client.get("/audit/export.csv")
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert chunks == [7] * 7  # 5 histories and 2 log-in tables, each read by chunks
    assert len([r for r in rows if r[1] == "attendance" and r[4] == "changed" and r[7] == "status"]) == 20


def test_the_export_neutralises_formulas_in_every_cell(superuser, superuser_client):
    ministry = MinistryFactory()
    official = official_create(
        family_name="=HYPERLINK(1)",
        given_name="+1",
        ministry=ministry,
        position="Officer",
        changed_by=superuser,
    )
    official_update(official=official, position="@SUM(A1)", changed_by=superuser)

    response = superuser_client.get("/audit/export.csv?kind=official")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    changed = [r for r in rows if r[4] == "changed"]
    assert [tuple(r[7:]) for r in changed] == [("position", "Officer", "'@SUM(A1)")]
    assert changed[0][3] == "'=HYPERLINK(1) +1"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


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
    assert page.count('rel="next"') == 1  # 102 rows (with the factories' course and session): older ones
    assert 'rel="prev"' not in page  # the newest page has none newer
    assert "absent → late" in page
    assert "Officer → Director" in page


def test_a_filtered_export_still_shows_the_value_before_each_change(superuser, superuser_client, staff):
    ministry = MinistryFactory()
    official = official_create(
        family_name="Keo", given_name="Sokha", ministry=ministry, position="Officer", changed_by=staff
    )
    official_update(official=official, position="Director", changed_by=superuser)

    response = superuser_client.get("/audit/export.csv?kind=official&user=root")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))[1:]

    # The creation by another user is left out, yet the change by root still reads it as "before".
    assert [(r[4], r[5], *r[7:]) for r in rows] == [("changed", "root", "position", "Officer", "Director")]
