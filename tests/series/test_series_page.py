"""The series page and its exports against the hand count (conftest.EXPECTED) and the per-course reports."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from courses.models import SeriesCompletionRule
from participants.reports import figures as fig
from participants.reports import tables
from tests.factories import (
    AttendanceFactory,
    EnrollmentFactory,
    OfficialFactory,
)
from tests.series.conftest import EXPECTED

pytestmark = pytest.mark.django_db


def _rows(response):
    """{official id: row} from the page's matrix: the cells' course numbers and texts."""
    return {row.official_id: cells for row, cells in response.context["rows"]}


def test_the_matrix_matches_the_hand_count_and_the_course_reports(series, officer_client):
    response = officer_client.get(f"/series/{series['project'].pk}/")
    assert response.status_code == 200
    rows = _rows(response)
    officials = series["officials"]
    assert set(rows) == {o.pk for o in officials.values()}
    statuses = {row.official_id: row.status for row, _cells in response.context["rows"]}
    for who, official in officials.items():
        expected = EXPECTED[who]
        for course, cell, _state in rows[official.pk]:
            if course.number in expected:
                enrolled, withdrawn, attended, held, completed = expected[course.number]
                assert (cell.enrolled, cell.withdrawn, cell.completed) == (enrolled, withdrawn, completed)
                assert (cell.attended, cell.held) == (attended, held)
            else:
                assert cell is None, (who, course.number)
        assert statuses[official.pk].completed is expected["series"], who
    # Each course's report (its own matrix) says the same of every active enrolment.
    for course in series["courses"]:
        matrix = tables.course_matrix(course, fig.ReportFilters(), contact=False)
        for enrollment, _marks, figures, completed in matrix.extra["matrix"]:
            cell = statuses[enrollment.official_id].cells[course.pk]
            assert cell.completed == completed
            assert (cell.attended, cell.held) == (figures.attended, figures.expected)
    summary = response.context["matrix"].summary
    assert (summary.officials.total, summary.completed.total) == (4, 1)
    text = response.content.decode()
    assert "4 officials in the series" in text and "1 official completed the series" in text
    assert "4 course completions" in text  # a: 2, b: 1, c: 1 — enrolments, not people
    assert 'id="not-held-note"' in text  # C3 is not held yet, and the page says it counts against nobody


def test_the_page_filters_by_ministry_and_sex_and_sorts(series, officer_client):
    base = f"/series/{series['project'].pk}/"
    officials = series["officials"]
    response = officer_client.get(base, {"ministry": series["moc"].pk})
    assert set(_rows(response)) == {officials[k].pk for k in "cde"}
    response = officer_client.get(base, {"sex": "female"})
    assert set(_rows(response)) == {officials["a"].pk, officials["c"].pk}
    response = officer_client.get(base, {"sort": "-series"})
    assert next(iter(_rows(response))) == officials["a"].pk
    response = officer_client.get(base, {"sort": "-name"})
    assert next(iter(_rows(response))) == officials["d"].pk  # TOUCH, the last name, first


@pytest.mark.parametrize(
    "query",
    [{"ministry": "999999"}, {"ministry": "x"}, {"sex": "robot"}, {"sort": "password"}, {"sort": "'; DROP"}],
)
def test_a_bad_filter_is_refused_with_a_message(series, officer_client, query):
    response = officer_client.get(f"/series/{series['project'].pk}/", query)
    assert response.status_code == 400
    assert response.context["errors"]
    response = officer_client.get(f"/series/{series['project'].pk}/export.csv", query)
    assert response.status_code == 400


def test_a_page_number_out_of_range_shows_the_last_page(series, officer_client):
    response = officer_client.get(f"/series/{series['project'].pk}/", {"page": "9999"})
    assert response.status_code == 200 and response.context["page"].number == 1
    assert officer_client.get(f"/series/{series['project'].pk}/", {"page": "-1'"}).status_code == 200


def test_the_csv_and_xlsx_hold_every_row_and_no_formula(series, officer_client):
    base = f"/series/{series['project'].pk}/export"
    response = officer_client.get(f"{base}.csv")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    header, data = rows[0], rows[1:]
    assert len(data) == 5
    assert "Course 1: status" in header and "Completed the series" in header
    by_name = {row[0]: row for row in data}
    assert by_name["CHAN Sreymom"][header.index("Completed the series")] == "yes"
    assert by_name["CHAN Sreymom"][header.index("Course 1: status")] == "completed"
    assert by_name["TOUCH Vanna"][header.index("Course 1: status")] == "withdrawn"
    assert by_name["SOK Chenda"][header.index("Course 3: status")] == "enrolled, course not held yet"
    assert by_name["CHAN Sreymom"][header.index("Ministry at first enrolment in the series")] == (
        "Ministry of Industry and Handicraft"
    )
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in data for cell in row)
    assert "'=HYPERLINK(1)" in body
    response = officer_client.get(f"{base}.xlsx", {"sex": "female"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = list(sheet.values)
    assert len(values) == 3  # header, CHAN and SOK
    assert officer_client.get(f"{base}.pdf").status_code == 404


def test_the_rule_is_set_on_the_page_and_refused_with_a_message(series, staff, staff_client, officer_client):
    url = f"/series/{series['project'].pk}/rule/"
    response = staff_client.post(url, {"min_courses": "4"})
    assert response.status_code == 400
    assert "no more than 3" in response.content.decode()
    assert not SeriesCompletionRule.objects.exists()
    for bad in ("0", "two", "1e3", "-1"):
        assert staff_client.post(url, {"min_courses": bad}).status_code == 400
    assert not SeriesCompletionRule.objects.exists()
    assert officer_client.post(url, {"min_courses": "1"}).status_code == 403
    response = staff_client.post(url, {"min_courses": "1"})
    assert response.status_code == 302
    page = officer_client.get(f"/series/{series['project'].pk}/")
    assert page.context["matrix"].summary.completed.total == 3  # a, b and c
    assert "1 of the 3 courses of the series" in page.content.decode()
    staff_client.post(url, {"min_courses": ""})
    assert SeriesCompletionRule.objects.get().min_courses is None
    history = officer_client.get(f"/series/{series['project'].pk}/").context["rule_history"]
    assert [text for _record, text in history] == [
        "every course of the series that has been held",
        "1 of the 3 courses of the series",
    ]
    assert {record.history_user for record, _text in history} == {staff}


def _grow(project, officials: int):
    courses = list(project.courses.order_by("number"))
    for i in range(officials):
        official = OfficialFactory(family_name=f"Grow{i}")
        for course in courses[:2]:
            enrolment = EnrollmentFactory(official=official, course=course)
            session = course.sessions.filter(starts_at__isnull=False).order_by("starts_at").first()
            AttendanceFactory(enrollment=enrolment, session=session, status="present")


def test_the_page_and_the_export_take_the_same_queries_for_few_or_many_officials(
    series, officer_client, django_assert_max_num_queries
):
    url = f"/series/{series['project'].pk}/"
    counts = []
    for extra in (0, 60):
        _grow(series["project"], extra)
        with CaptureQueriesContext(connection) as captured:
            assert officer_client.get(url, {"page": "2"}).status_code == 200
            assert officer_client.get(f"{url}export.csv").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(counts[1]):
        officer_client.get(url)
