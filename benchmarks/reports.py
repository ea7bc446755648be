"""Reports at scale: the report figures against hand-written SQL, the attendance CSV against COPY,
and the XLSX export's memory. Writes its figures to benchmarks/RESULTS.md (section "Reports and exports").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_bench_reports .venv/bin/python -m benchmarks.reports
"""

from __future__ import annotations

import datetime
import io
import os
import platform
import subprocess
import sys
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

HAND_PROGRAMME = """
SELECT o.sex, COUNT(DISTINCT e.official_id), COUNT(*), SUM(x.att), SUM(x.held)
FROM participants_enrollment e JOIN participants_official o ON o.id = e.official_id
JOIN (SELECT e2.id, COUNT(*) FILTER (WHERE a.status IN ('present','late')) att,
             (SELECT COUNT(*) FROM courses_session s WHERE s.course_id = e2.course_id
              AND s.status <> 'cancelled' AND s.starts_at <= now()) held
      FROM participants_enrollment e2 LEFT JOIN participants_attendance a ON a.enrollment_id = e2.id
      GROUP BY e2.id) x ON x.id = e.id
WHERE e.status = 'enrolled' GROUP BY o.sex
"""
HAND_MINISTRY = HAND_PROGRAMME.replace("SELECT o.sex,", "SELECT e.ministry_id, o.sex,").replace(
    "GROUP BY o.sex", "GROUP BY e.ministry_id, o.sex"
)
COLUMNS = """c.number, c.title, s.title, s.starts_at, o.family_name, o.given_name, o.name_km, o.sex,
e.ministry_name_en, e.ministry_acronym, a.status"""
COPY_SQL = f"""COPY (SELECT {COLUMNS} FROM participants_attendance a
JOIN courses_session s ON s.id = a.session_id JOIN courses_course c ON c.id = s.course_id
JOIN participants_enrollment e ON e.id = a.enrollment_id JOIN participants_official o ON o.id = e.official_id
ORDER BY a.id {{limit}}) TO STDOUT WITH (FORMAT csv)"""


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def peak_memory(fn):
    tracemalloc.start()
    fn()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pcp_portal.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret")
    import django

    django.setup()
    from django.db import connection

    from benchmarks.dataset import build
    from courses.reports import exports, tables
    from courses.reports import figures as fig

    counts = build()
    filters = fig.ReportFilters()

    def hand(sql):
        with connection.cursor() as cursor:
            cursor.execute(sql)
            cursor.fetchall()

    results = {}
    results["programme"] = (
        best(lambda: (fig.programme_figures(filters), fig.programme_reach(filters))),
        best(lambda: hand(HAND_PROGRAMME)),
    )
    results["ministry"] = (
        best(
            lambda: (fig.grouped_figures(filters, "ministry"), fig.grouped_figures(filters, "ministry_name"))
        ),
        best(lambda: hand(HAND_MINISTRY)),
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

    results["csv"] = (best(portal_csv, 2), best(raw_copy, 2))
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

    started = time.perf_counter()
    xlsx_memory = peak_memory(xlsx_100k)
    xlsx_time = time.perf_counter() - started

    cpu = subprocess.run(
        ["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    lines = [
        "",
        "## Reports and exports",
        "",
        f"Run {datetime.datetime.now():%Y-%m-%d %H:%M} on {platform.node()} ({cpu or platform.machine()}, "
        f"{os.cpu_count()} cores shared with other work), PostgreSQL {connection.pg_version // 10000}, "
        f"data set {counts}.",
        "Each time is the best of several runs. `python -m benchmarks.reports` reproduces it.",
        "",
        "| what | portal | fastest way | ratio | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, label, target in (
        ("programme", "programme report (figures + reach) vs hand-written SQL", "≤ 1.5×"),
        ("ministry", "per-ministry report (totals + names at the time) vs hand-written SQL", "≤ 1.5×"),
        ("csv", "CSV of all attendance rows vs `COPY … TO STDOUT`", "≤ 2×"),
    ):
        ours, fastest = results[key]
        lines.append(f"| {label} | {ours:.2f} s | {fastest:.2f} s | {ours / fastest:.2f}× | {target} |")
    lines += [
        "",
        f"CSV export peak Python memory (tracemalloc): {memory_100k / 1e6:.1f} MB for ~100,000 rows, "
        f"{memory_1m / 1e6:.1f} MB for 1,000,000 rows.",
        f"XLSX export of 100,000 rows (write-only mode): {xlsx_time:.1f} s measured under tracemalloc "
        "(which slows Python several-fold), peak Python memory "
        f"{xlsx_memory / 1e6:.1f} MB.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(ROOT, "benchmarks", "RESULTS.md"), "a", encoding="utf-8") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()
