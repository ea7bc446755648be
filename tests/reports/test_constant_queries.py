"""Every page that shows figures or the record costs the same SQL statements whatever the size of
the record: the very same number with 10 attendance rows as with 1,000, and 1,000 rows in several
series, courses and ministries, so a page that loops over any of them shows (the figures come from
the rollups, the series are counted in SQL, the lists are paged, the history is limited in SQL).

Each page is counted once on the small record, then again after it grew (tests.reports.growing_record).
"""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from tests.api.conftest import key_client, make_key
from tests.reports.growing_record import GrowingRecord

pytestmark = pytest.mark.django_db


def _pages(record: GrowingRecord) -> dict[str, tuple[str, str, int]]:
    """{page: (who asks, address, most statements)}: the pages of the issue's table, and the pages
    that show a course's, a session's and an official's record; the course and session are those
    with the most rows."""
    course, held, _enrolments = record.largest
    since = (timezone.localdate() - datetime.timedelta(days=60)).isoformat()
    return {
        "dashboard": ("staff", reverse("dashboard"), 14),
        "course list": ("staff", reverse("course_list"), 12),
        "programme report": ("officer", "/reports/", 14),
        "programme report, a date range": ("officer", f"/reports/?date_from={since}", 14),
        "ministry report": ("officer", "/reports/ministries/", 14),
        "sessions report": ("officer", "/reports/sessions/", 14),
        "course report": ("officer", f"/reports/courses/{course.pk}/", 16),
        "API attendance list": ("api", "/api/v1/attendance/?page_size=100", 12),
        "API summary": ("officer", "/api/v1/reports/attendance-summary/", 20),
        "API summary by ministry": ("officer", "/api/v1/reports/attendance-summary/?group_by=ministry", 20),
        "session page": ("staff", reverse("session_detail", args=[held[0].pk]), 20),
        "official page": ("staff", reverse("official_detail", args=[record.official.pk]), 20),
        "audit page": ("superuser", reverse("audit_log"), 20),
    }


def _count(clients, record, django_assert_max_num_queries) -> tuple[dict, dict]:
    counts, responses = {}, {}
    for page, (who, url, most) in _pages(record).items():
        cache.clear()  # the API's throttle counts: each size starts from the same budget
        with django_assert_max_num_queries(most, info=page) as captured:
            response = clients[who].get(url)
        assert response.status_code == 200, (page, response.content[:300])
        counts[page], responses[page] = len(captured), response
    return counts, responses


@pytest.fixture
def clients(staff_client, officer_client, superuser_client):
    return {
        "staff": staff_client,
        "officer": officer_client,
        "superuser": superuser_client,
        "api": key_client(make_key("unido_officer")),
    }


def test_every_page_costs_the_same_statements_for_10_rows_as_for_1000(
    staff, clients, django_assert_max_num_queries
):
    record = GrowingRecord(recorded_by=staff)
    few, small = _count(clients, record, django_assert_max_num_queries)
    _check(small, record)
    record.grow()
    many, large = _count(clients, record, django_assert_max_num_queries)
    _check(large, record)
    assert many == few


def _check(responses: dict, record: GrowingRecord) -> None:
    """What each page shows matches the record, at either size (so each page did its work)."""
    every_course = {course.pk for course, _held, _enrolments in record.courses}
    _course, held, enrolments = record.largest

    shown = {c.pk: c.attendance_rate for c in responses["dashboard"].context["courses"]}
    assert set(shown) == every_course and set(shown.values()) == {1.0}
    assert {c.attendance_rate for c in responses["course list"].context["courses"]} == {1.0}

    for page in ("programme report", "programme report, a date range"):
        figures = responses[page].context["table"].extra["figures"]
        assert figures.attended == figures.expected == record.marks, page
    series = responses["programme report"].context["series"].extra["series"]
    assert len(series) == len({c.project_id for c, _h, _e in record.courses})
    assert all(s.total.officials.total > 0 for s in series) and series[0].total.completed.total

    groups = responses["ministry report"].context["table"].extra["groups"]
    assert len(groups) == len(record.ministries)
    assert sum(figures.attended for _ministry, figures, _names in groups) == record.marks

    sessions = responses["sessions report"].context["table"].extra["sessions"]
    marked = [figures for _session, figures in sessions if figures.attended.total]
    assert marked and all(figures.attendance_rate == 1.0 for figures in marked)

    rows = responses["course report"].context["table"].rows
    assert len(rows) == len(enrolments)
    assert all(row[-5:-3] == [len(held), len(held)] for row in rows)

    assert len(responses["API attendance list"].json()["results"]) == min(record.marks, 100)
    summary = responses["API summary"].json()
    assert summary["total"]["attended_sessions"] == record.marks
    assert len(summary["series"]) == len(series)
    by_ministry = responses["API summary by ministry"].json()["groups"]
    assert len(by_ministry) == len(record.ministries)

    page = responses["session page"].content.decode().lower()
    assert all(e.official.family_name.lower() in page for e in enrolments)
    assert record.official.family_name.lower() in responses["official page"].content.decode().lower()
    assert "sophea.staff" in responses["audit page"].content.decode()  # who recorded the marks
