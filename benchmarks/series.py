"""The series page at scale: 5,000 officials × 4 courses × 40 sessions (800,000 attendance rows),
the page (the whole request: selector, sorting, paging, template) against the same figures from one
hand-written SQL query; and the page's query count at two sizes. Writes its figures to
benchmarks/RESULTS.md (section "Series matrix").

    createdb -h 127.0.0.1 -U postgres pcp_bench_series
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_bench_series .venv/bin/python -m benchmarks.series
"""

from __future__ import annotations

import datetime
import os
import sys

# The repository's root on the path, so that `python benchmarks/series.py` finds the apps too.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from benchmarks import django_setup  # noqa: F401 - sets Django up before the apps are imported
from benchmarks.dataset import BENCH_MARKER, build
from benchmarks.reports import interleaved_medians, machine
from benchmarks.results_file import write_section
from courses.models import Project
from pcp_portal import roles

OFFICIALS, COURSES, SESSIONS = 5000, 4, 40

# Every official's cells (enrolled, withdrawn, attended, held, completed) and series status, in
# name order: what the page needs for its summary, its sort and its page of rows.
HAND = """
WITH held AS (
    SELECT s.id, s.course_id FROM courses_session s JOIN courses_course c ON c.id = s.course_id
    WHERE c.project_id = %(project)s AND s.status <> 'cancelled' AND s.starts_at <= now()),
hc AS (SELECT course_id, COUNT(*) AS n FROM held GROUP BY course_id),
marks AS (
    SELECT a.enrollment_id, COUNT(*) AS attended FROM participants_attendance a
    JOIN held h ON h.id = a.session_id WHERE a.status IN ('present', 'late') GROUP BY a.enrollment_id),
per AS (
    SELECT e.official_id, e.course_id, e.status, COALESCE(hc.n, 0) AS held,
           COALESCE(m.attended, 0) AS attended, COALESCE(c.completion_threshold, 0.75) AS threshold
    FROM participants_enrollment e JOIN courses_course c ON c.id = e.course_id
    LEFT JOIN hc ON hc.course_id = e.course_id LEFT JOIN marks m ON m.enrollment_id = e.id
    WHERE c.project_id = %(project)s),
done AS (
    SELECT *, (status = 'enrolled' AND held > 0
               AND attended * 100 >= ROUND(threshold * 100) * held) AS completed
    FROM per)
SELECT o.id, o.family_name, o.given_name, o.name_km, o.sex,
       array_agg(ARRAY[d.course_id, d.attended, d.held, d.completed::int] ORDER BY d.course_id),
       SUM(d.completed::int) >= (SELECT COUNT(*) FROM hc)
FROM done d JOIN participants_official o ON o.id = d.official_id
GROUP BY o.id ORDER BY o.family_name, o.given_name, o.name_km, o.id
"""


def main():
    counts = build(
        officials=OFFICIALS, courses=COURSES, sessions_per_course=SESSIONS, enrolled_per_course=OFFICIALS
    )
    project = Project.objects.get(reference_key__startswith=BENCH_MARKER)
    call_command("collectstatic", "--noinput", verbosity=0)  # the pages name hashed static files
    # A reader (the UNIDO officer's role): the page as most of its readers get it.
    user, _created = get_user_model().objects.get_or_create(username="series-bench")
    user.groups.add(user.groups.model.objects.get_or_create(name=roles.UNIDO_OFFICER)[0])
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    url = f"/series/{project.pk}/"
    load_before = os.getloadavg()

    def page():
        response = client.get(url, {"page": "40", "sort": "-series"})
        assert response.status_code == 200, response.status_code

    def hand():
        with connection.cursor() as cursor:
            cursor.execute(HAND, {"project": project.pk})
            assert len(cursor.fetchall()) == OFFICIALS

    page()  # warm: the first request loads the templates and the translations
    portal, fastest = interleaved_medians(page, hand)
    with CaptureQueriesContext(connection) as captured:
        page()
    queries = len(captured)
    load_after = os.getloadavg()
    ratio = portal / fastest
    when = f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M}"
    verdict = "met" if ratio <= 1.3 else "not met"
    text = f"""## Series matrix

`benchmarks/series.py`, {when} UTC, PostgreSQL, {machine()}, load average
{load_before[0]:.2f} before and {load_after[0]:.2f} after (a machine shared with other work).
Data: {counts["officials"]:,} officials, {counts["courses"]} courses of one series,
{counts["sessions"]} sessions, {counts["enrollments"]:,} enrolments, {counts["attendance"]:,} attendance rows.
Page: GET /series/<id>/ (page 40, sorted by series status) through Django's test client: the
selector (every official's status in one statement built on the reports' per-enrolment figures),
sorting and paging in Python, the template. Baseline: one hand-written SQL query giving every
official's cells and series status in name order. 5 rounds alternating; medians; ratio = page / query.

| 5,000 officials × 4 courses × 40 sessions | hand-written SQL | page | ratio | goal |
| --- | ---: | ---: | ---: | --- |
| series page | {fastest * 1000:,.0f} ms | **{portal * 1000:,.0f} ms** | {ratio:.2f} | ≤ 1.3: {verdict} |

Queries per page: {queries}, the same at 5 officials and at 65 (asserted in
tests/series/test_series_page.py) and here at 5,000.
"""
    write_section("## Series matrix", text)
    print(text)


if __name__ == "__main__":
    main()
