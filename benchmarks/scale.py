"""Scale: the whole-programme pages at 100k and 1M attendance rows in one run, and their growth.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_h8 .venv/bin/python -m benchmarks.scale \
        [--sizes 100k,1M] [--rounds 5] [--no-record]

For each size it creates a database of its own (<name>_scale_<size>, dropped at the end), builds
the data set there (benchmarks/dataset.py, with its history rows) and, in a fresh process with
production-like settings (DEBUG off, the Redis cache of REDIS_URL when set), times each page
through Django's test client: the dashboard, the course list, the programme, per-ministry and
sessions reports (first page), the report of one course that is the same 200 × 10 course at every
size, the audit page, the API's attendance list (first page and a page 90% deep) and its summary.
Every page is requested once to warm up, then ROUNDS times, the pages in turn (so that a burst of
load on the shared machine hits all of them alike); the figure is the median. At the largest size
it also times the single hand-written SQL statement computing the programme's figures from the raw
tables (benchmarks/baselines.py).

The whole-programme pages (dashboard, course list, programme and per-ministry reports, API summary)
read a snapshot of the unfiltered figures that a Celery task refreshes within seconds of a change
(participants.reports.snapshot). The data set is written by raw SQL, which queues no refresh, so
after building it the benchmark runs the refresh once (and reports how long it took): the pages
are timed as users see them in steady state. It then removes the snapshot and times the same pages
again, computing live from the rollups (rows "…, live"), which is what a page costs when the
snapshot is stale or expired. It prints a table — page, ms per size, growth, ratio to the SQL,
goal, met — and writes it to benchmarks/RESULTS.md (section "Scale").
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

# The repository's root on the path, so that `python benchmarks/scale.py` finds the apps too.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext

# Django is set up in the parent too, but only the child (its DATABASE_URL pointing to the size's
# own database) ever connects.
from benchmarks import django_setup  # noqa: F401 - sets Django up before the apps are imported
from benchmarks.baselines import PROGRAMME_SQL, params
from benchmarks.dataset import BENCH_MARKER, SIZES, build
from benchmarks.results_file import machine, write_section
from courses.models import Course
from participants.models import Attendance, FiguresSnapshot
from participants.reports import snapshot
from pcp_portal.api import KeysetCursorPagination
from pcp_portal.models import APIAccessKey

ROOT = Path(__file__).resolve().parent.parent
HEADING = "## Scale: the whole-programme pages as the record grows"
# (key, label, goal): "programme" pages must not grow (≤ 1.3× from 100k to 1M) and must beat the
# raw SQL at 1M; the course report must not grow at all (≤ 1.1×); the others have no goal in the
# issue beyond being flat, and are held to the growth goal of the pages.
PAGES = (
    ("dashboard", "dashboard", "programme"),
    ("courses", "courses list", "programme"),
    ("programme", "programme report", "programme"),
    ("ministries", "per-ministry report", "programme"),
    ("sessions", "sessions report, first page", "programme"),
    ("course", "course report (one unchanged 200×10 course)", "course"),
    ("audit", "audit page", "flat"),
    ("api_first", "API attendance list, first page", "flat"),
    ("api_deep", "API attendance list, page 90% deep", "flat"),
    ("api_summary", "API attendance summary", "programme"),
)
# The pages that read the snapshot, timed again without it (computed live on the rollups).
LIVE_PAGES = ("dashboard", "courses", "programme", "ministries", "api_summary")
GOALS = {
    "programme": (1.3, 1.0, "≤ 1.3× growth, ≤ 1.0× SQL"),
    "course": (1.1, None, "≤ 1.1× growth"),
    "flat": (1.3, None, "≤ 1.3× growth (flat)"),
}


def _measure(size: str, rounds: int, with_sql: bool) -> dict:
    """In the child process, against the database DATABASE_URL names: build, then time every page."""
    started = time.perf_counter()
    counts = build(**SIZES[size], verbose=False)
    built = time.perf_counter() - started
    # The raw-SQL data set queued no refresh: compute the snapshot once, as the task would.
    begun = time.perf_counter()
    snapshot.refresh()
    refresh_ms = (time.perf_counter() - begun) * 1000
    history_rows = {}
    with connection.cursor() as cursor:
        for table in ("participants_historicalattendance", "participants_historicalenrollment"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            history_rows[table] = cursor.fetchone()[0]

    users = get_user_model().objects
    officer = users.create_user("scale.officer", password="unused-Passw0rd")  # noqa: S106
    officer.groups.add(apps.get_model("auth", "Group").objects.get(name="unido_officer"))
    admin = users.create_superuser("scale.admin", password="unused-Passw0rd")  # noqa: S106
    _key, partner_key = APIAccessKey.objects.create_key(name="scale partner", role="partner")
    course = Course.objects.get(reference_key=f"{BENCH_MARKER}course:1")
    first_id = Attendance.objects.order_by("pk").values_list("pk", flat=True).first()
    deep_cursor = KeysetCursorPagination().cursor_token(first_id + counts["attendance"] * 9 // 10 - 1)
    paths = {
        "dashboard": "/dashboard/",
        "courses": "/courses/",
        "programme": "/reports/",
        "ministries": "/reports/ministries/",
        "sessions": "/reports/sessions/",
        "course": f"/reports/courses/{course.pk}/",
        "audit": "/audit/",
        "api_first": "/api/v1/attendance/?page_size=100",
        "api_deep": f"/api/v1/attendance/?{urlencode({'page_size': 100, 'cursor': deep_cursor})}",
        "api_summary": "/api/v1/reports/attendance-summary/",
    }
    officer_client, admin_client, api_client = Client(), Client(), Client()
    officer_client.force_login(officer)
    admin_client.force_login(admin)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {partner_key}"}

    def get(key):
        if key.startswith("api_"):
            return api_client.get(paths[key], **bearer)
        return (admin_client if key == "audit" else officer_client).get(paths[key])

    times: dict[str, list[float]] = {key: [] for key, _label, _goal in PAGES}
    queries, statuses = {}, {}
    for key in times:  # warm-up, with the query count and the answer's status
        with CaptureQueriesContext(connection) as captured:
            response = get(key)
        queries[key], statuses[key] = len(captured), response.status_code
    for _round in range(rounds):
        for key in times:
            begun = time.perf_counter()
            response = get(key)
            times[key].append(time.perf_counter() - begun)
            statuses[key] = max(statuses[key], response.status_code)
            reset_queries()
    # The same pages computing live, as when the snapshot is stale or expired.
    FiguresSnapshot.objects.all().delete()
    live: dict[str, list[float]] = {key: [] for key in LIVE_PAGES}
    for key in live:
        get(key)
    for _round in range(rounds):
        for key in live:
            begun = time.perf_counter()
            response = get(key)
            live[key].append(time.perf_counter() - begun)
            statuses[key] = max(statuses[key], response.status_code)
            reset_queries()
    result = {
        "refresh_ms": refresh_ms,
        "live_ms": {key: statistics.median(values) * 1000 for key, values in live.items()},
        "size": size,
        "counts": counts,
        "history_rows": history_rows,
        "built_s": built,
        "ms": {key: statistics.median(values) * 1000 for key, values in times.items()},
        "queries": queries,
        "statuses": statuses,
        "paths": paths,
    }
    if with_sql:
        sql_times = []
        for _round in range(rounds + 1):
            begun = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(PROGRAMME_SQL, params())
                cursor.fetchall()
            sql_times.append(time.perf_counter() - begun)
        result["sql_ms"] = statistics.median(sql_times[1:]) * 1000  # the first one warms the cache
    return result


def _psql(admin_url: str, sql: str) -> None:
    subprocess.run(["psql", admin_url, "-qc", sql], check=True, timeout=120, capture_output=True)


def run(sizes: list[str], rounds: int) -> list[dict]:
    """Each size in a database and a process of its own; the databases are dropped at the end."""
    base = urlparse(os.environ.get("DATABASE_URL", ""))
    if base.scheme not in ("postgres", "postgresql"):
        sys.exit("Set DATABASE_URL=postgres://...: the scale benchmark runs on PostgreSQL.")
    admin_url = base._replace(path="/postgres").geturl()
    results = []
    var = tempfile.mkdtemp(prefix="pcp-scale-")
    for size in sizes:
        database = f"{base.path.lstrip('/')}_scale_{size.lower()}"
        _psql(admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        _psql(admin_url, f'CREATE DATABASE "{database}"')
        env = {
            **os.environ,
            "DATABASE_URL": base._replace(path=f"/{database}").geturl(),
            "DEBUG": "0",
            "PCP_MANIFEST_STATIC": "0",  # no collectstatic for a throw-away run; page times do not change
            "PCP_VAR_DIR": var,
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
        }
        try:
            print(f"scale: building and timing {size} in {database} …", file=sys.stderr, flush=True)
            child = subprocess.run(
                [sys.executable, "-m", "benchmarks.scale", "--measure", size, "--rounds", str(rounds)]
                + (["--sql"] if size == sizes[-1] else []),
                cwd=ROOT, env=env, check=True, timeout=1800, capture_output=True, text=True,
            )  # fmt: skip
        except subprocess.CalledProcessError as error:
            sys.stderr.write(error.stdout + error.stderr)
            raise
        finally:
            _psql(admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        results.append(json.loads(child.stdout.rsplit("RESULT", 1)[1]))
    return results


def table(results: list[dict]) -> list[str]:
    small, large = results[0], results[-1]
    sql = large.get("sql_ms")
    lines = [
        f"| page | ms at {small['size']} | ms at {large['size']} | growth | vs SQL at {large['size']} "
        "| SQL statements | goal | met? |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for key, label, kind in PAGES:
        before, after = small["ms"][key], large["ms"][key]
        growth = after / before
        max_growth, max_sql, goal = GOALS[kind]
        versus = after / sql if sql and kind == "programme" else None
        misses = []
        if growth > max_growth:
            misses.append(f"grows {growth:.2f}×, {growth / max_growth:.1f}× the allowed")
        if max_sql is not None and versus is not None and versus > max_sql:
            misses.append(f"{versus / max_sql:.1f}× slower than the SQL")
        errors = {r["statuses"][key] for r in results} - {200}
        if errors:
            misses.append(f"HTTP {sorted(errors)}")
        lines.append(
            f"| {label} | {before:,.0f} | {after:,.0f} | {growth:.2f}× | "
            f"{f'{versus:.2f}×' if versus is not None else '—'} | "
            f"{small['queries'][key]} / {large['queries'][key]} | {goal} | "
            f"{'yes' if not misses else 'no: ' + ', '.join(misses)} |"
        )
    labels = {key: label for key, label, _kind in PAGES}
    for key in LIVE_PAGES:
        before, after = small["live_ms"][key], large["live_ms"][key]
        versus = f"{after / sql:.2f}×" if sql else "—"
        lines.append(
            f"| {labels[key]}, live (no snapshot) | {before:,.0f} | {after:,.0f} | {after / before:.2f}× "
            f"| {versus} | | (the path when the snapshot is stale) | — |"
        )
    lines.append(
        f"| snapshot refresh (the background task) | {small['refresh_ms']:,.0f} | {large['refresh_ms']:,.0f} "
        f"| {large['refresh_ms'] / small['refresh_ms']:.2f}× | | | | — |"
    )
    if sql:
        lines.append(
            f"| hand-written SQL, programme figures (benchmarks/baselines.py) | | {sql:,.0f} | | 1.00× "
            "| 1 | | |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--sizes", default="100k,1M", help="comma-separated, smallest first (default 100k,1M)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="timed requests per page (median)")
    parser.add_argument("--no-record", action="store_true", help="print only, leave RESULTS.md alone")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--sql", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        print("RESULT" + json.dumps(_measure(arguments.measure, arguments.rounds, arguments.sql)))
        return 0

    sizes = arguments.sizes.split(",")
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    results = run(sizes, arguments.rounds)
    elapsed = time.perf_counter() - started
    now = datetime.datetime.now(datetime.UTC)
    lines = [
        HEADING,
        "",
        f"`python -m benchmarks.scale` ({', '.join(sizes)}, {arguments.rounds} timed rounds, median), "
        f"run {now:%Y-%m-%d %H:%M} UTC in {elapsed / 60:.0f} min on {machine()}; load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.",
        "",
        *table(results),
        "",
        "Data sets: "
        + "; ".join(
            f"{r['size']}: {r['counts']['attendance']:,} attendance rows, {r['counts']['enrollments']:,} "
            f"enrolments, {r['counts']['courses']} course(s), "
            f"{r['history_rows']['participants_historicalattendance']:,} attendance history rows "
            f"(built in {r['built_s']:.0f} s)"
            for r in results
        )
        + ".",
    ]
    text = "\n".join(lines)
    print(text)
    if not arguments.no_record:
        write_section(HEADING, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
