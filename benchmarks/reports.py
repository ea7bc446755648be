"""Reports at scale: the report figures against hand-written SQL, the attendance CSV against COPY,
and the XLSX export's memory. Writes its figures to benchmarks/RESULTS.md (section "Reports and exports").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_bench_reports .venv/bin/python -m benchmarks.reports
"""

from __future__ import annotations

import datetime
import io
import os
import statistics
import sys
import time
import tracemalloc

# The repository's root on the path, so that `python benchmarks/reports.py` finds the apps too.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from django.db import connection

from benchmarks import django_setup  # noqa: F401 - sets Django up before the apps are imported
from benchmarks.baselines import MINISTRY_SQL, PROGRAMME_SQL, params
from benchmarks.dataset import build
from benchmarks.results_file import machine, write_section
from participants.reports import exports, tables
from participants.reports import figures as fig

COLUMNS = """c.number, c.title, s.title, s.starts_at, o.family_name, o.given_name, o.name_km, o.sex,
e.ministry_name_en, e.ministry_acronym, a.status"""
COPY_SQL = f"""COPY (SELECT {COLUMNS} FROM participants_attendance a
JOIN courses_session s ON s.id = a.session_id JOIN courses_course c ON c.id = s.course_id
JOIN participants_enrollment e ON e.id = a.enrollment_id JOIN participants_official o ON o.id = e.official_id
ORDER BY a.id {{limit}}) TO STDOUT WITH (FORMAT csv)"""


ROUNDS = 5


def interleaved_medians(portal, fastest, rounds=ROUNDS):
    """Median seconds of each, timed in alternating order in the same run (the machine is shared)."""
    times = {"portal": [], "fastest": []}
    for round_number in range(rounds):
        order = [("portal", portal), ("fastest", fastest)]
        for name, fn in order if round_number % 2 == 0 else reversed(order):
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return statistics.median(times["portal"]), statistics.median(times["fastest"])


def seconds(fn, rounds=1):
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_memory(fn):
    tracemalloc.start()
    fn()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main():
    counts = build()
    filters = fig.ReportFilters()
    load_before = os.getloadavg()[0]

    def hand(sql):
        with connection.cursor() as cursor:
            cursor.execute(sql, params())
            cursor.fetchall()

    results = {}
    # What the pages, exports and API build: the report tables (figures per course, total, reach;
    # per ministry and per name at the time), not a cut-down query.
    results["programme"] = interleaved_medians(
        lambda: tables.programme_table(filters), lambda: hand(PROGRAMME_SQL)
    )
    results["ministry"] = interleaved_medians(
        lambda: tables.ministry_table(filters), lambda: hand(MINISTRY_SQL)
    )

    def portal_csv():
        size = 0
        for chunk in exports.copy_csv_chunks(filters, contact=False):
            size += len(chunk)
        return size

    def raw_copy(limit=""):
        sink = io.BytesIO()
        with connection.cursor() as cursor:
            cursor.copy_expert(COPY_SQL.format(limit=limit), sink)
        return sink.tell()

    results["csv"] = interleaved_medians(portal_csv, raw_copy, rounds=3)
    memory_1m = peak_memory(portal_csv)

    def limited(n):
        # The same generator over the first n rows: a date range ending early enough.
        first = fig.ReportFilters(date_to=datetime.date(2019, 1, 1) + datetime.timedelta(days=n // 2000 - 10))

        def run():
            return sum(len(chunk) for chunk in exports.copy_csv_chunks(first, contact=False))

        return run

    memory_100k = peak_memory(limited(100_000))

    def xlsx_100k():
        rows = tables.attendance_rows(filters, contact=False)
        limited_rows = (row for _i, row in zip(range(100_000), rows, strict=False))
        exports.xlsx_file("Attendance", tables.attendance_columns(contact=False), limited_rows).close()

    xlsx_time = seconds(xlsx_100k, rounds=3)  # without tracemalloc, which slows Python several-fold
    xlsx_memory = peak_memory(xlsx_100k)  # a separate run, under tracemalloc

    today = datetime.datetime.now(datetime.UTC)
    load = f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    lines = [
        "## Reports and exports",
        "",
        f"Run {today:%Y-%m-%d %H:%M} UTC on {machine()}, the cores shared with other work ({load}); "
        f"PostgreSQL {connection.pg_version // 10000}; data set {counts}.",
        f"Portal and fastest way are timed in the same run, in alternating order, {ROUNDS} rounds "
        "(3 for the CSV); each time is the median. `python -m benchmarks.reports` reproduces it "
        "and rewrites this section.",
        "",
        "| what | portal | fastest way | ratio | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, label, target in (
        (
            "programme",
            "programme report (figures per course and in total, reach) vs hand-written SQL",
            "≤ 1.5×",
        ),
        ("ministry", "per-ministry report (totals + names at the time) vs hand-written SQL", "≤ 1.5×"),
        ("csv", "CSV of all attendance rows vs `COPY … TO STDOUT`", "≤ 2×"),
    ):
        ours, fastest = results[key]
        lines.append(f"| {label} | {ours:.2f} s | {fastest:.2f} s | {ours / fastest:.2f}× | {target} |")
    lines += [
        "",
        f"CSV export peak Python memory (tracemalloc): {memory_100k / 1e6:.1f} MB for ~100,000 rows, "
        f"{memory_1m / 1e6:.1f} MB for 1,000,000 rows.",
        f"XLSX export of 100,000 rows (openpyxl write-only mode): {xlsx_time:.1f} s (median of 3 runs "
        f"without tracemalloc); peak Python memory {xlsx_memory / 1e6:.1f} MB (a separate run under "
        "tracemalloc).",
        "",
        "The report times are the table builders the pages, exports and API use "
        "(`participants.reports.tables`), each one figures query (`figures.report_figures`: every grouping "
        "and the reach summed from one pass over the enrolment figures) plus one query for the course "
        "or ministry names. The hand-written SQL (`benchmarks/baselines.py`, which says how it was "
        "chosen) computes the same figures from the raw tables in one plain statement.",
    ]
    text = "\n".join(lines)
    print(text)
    write_section("## Reports and exports", text)


if __name__ == "__main__":
    main()
