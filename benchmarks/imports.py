"""Imports: applying 5,000 and 50,000 officials with their enrolments, against COPY of the same rows.

    DATABASE_URL=postgres://…/pcp_bench_imports .venv/bin/python -m benchmarks.imports

In a database of its own (it empties the officials, enrolments and their history), for each size
in BENCH_SIZES (default 5000,50000), a child process does what the import worker does with an
enrolments file of that many new officials (CSV, e-mail and phone each): queue_preview, then the
preview task's work (preview_queued: read, plan, store), queue_apply and the apply task's work
(apply_queued: one transaction, bulk inserts with their history rows). It reports the time of
each phase and its peak resident memory (`ru_maxrss`): the memory a worker needs for the file.

The baseline is PostgreSQL's `COPY … FROM STDIN` of exactly the rows the apply wrote (officials,
their history rows, enrolments, their history rows — read back with `COPY … TO`, the tables
emptied), into the same tables with the same indexes, constraints and change-log triggers, in
one transaction. The run asserts that the apply wrote one official, one enrolment and one
history row of each per line, then prints a Markdown table and the ratios for RESULTS.md.

Each size is run BENCH_REPEATS times (default 3), the apply and its COPY one after the other in
each round, so that a machine whose load swings weighs on both sides alike; the table gives the
median of each side, the median of the rounds' ratios and their range, and the median peak memory.
"""

from __future__ import annotations

import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time

from django.core.management import call_command
from django.db import connection, transaction

from benchmarks import django_setup  # noqa: F401 - sets Django up before the apps are imported
from courses.models import Course, Programme, Project
from ministries.models import Ministry
from participants.imports.apply import apply_queued, queue_apply
from participants.imports.plan import preview_queued, queue_preview
from participants.models import Enrollment, ImportBatch, Official

SIZES = [int(size) for size in os.environ.get("BENCH_SIZES", "5000,50000").split(",")]
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
TABLES = (
    "participants_official",
    "participants_historicalofficial",
    "participants_enrollment",
    "participants_historicalenrollment",
)
MARKER = "Import benchmark"


def _empty() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE participants_attendance, participants_historicalattendance, "
            "participants_reminderdelivery, "
            + ", ".join(TABLES)
            + ", participants_importprogress, participants_importrow, participants_importbatch, "
            "pcp_portal_outboxevent CASCADE"
        )


def _course() -> Course:
    course = Course.objects.filter(title=MARKER).first()
    if course is None:
        programme = Programme.objects.create(name="Bench", country="Cambodia", start_year=2018, end_year=2023)
        project = Project.objects.create(programme=programme, title="Bench project")
        course = Course.objects.create(project=project, number=1, title=MARKER)
    return course


def _ministry() -> Ministry:
    ministry, _created = Ministry.objects.get_or_create(
        code="bench-import", defaults={"name_en": "Import benchmark ministry", "acronym": "IMPB"}
    )
    return ministry


def _file(size: int) -> bytes:
    lines = ["Family name,Given name,Name in Khmer,Sex,Position,Ministry,E-mail,Phone"]
    lines += [
        f"Keo,Mony{n},កែវ មុន្នី,female,Officer,IMPB,mony{n}@bench.example.org,+855 12 {n:06d}"
        for n in range(size)
    ]
    return ("\n".join(lines) + "\n").encode()


def child(size: int) -> None:
    """The worker's work for one file, in a fresh process (its peak memory is the file's)."""
    from django.contrib.auth import get_user_model

    user, _created = get_user_model().objects.get_or_create(username="bench-importer")
    course = _course()
    data = _file(size)
    started = time.perf_counter()
    batch = queue_preview(kind="enrolments", filename="bench.csv", data=data, user=user, course=course)
    preview_queued(batch.pk)
    previewed = time.perf_counter()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED, batch.message
    assert batch.counts["create"] == size, batch.counts
    queue_apply(batch=batch, user=user)
    queued = time.perf_counter()
    apply_queued(batch.pk)
    applied = time.perf_counter()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED, batch.message
    print(
        json.dumps(
            {
                "preview": previewed - started,
                "apply": applied - queued,
                "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def _copy_baseline(size: int) -> float:
    """COPY back exactly the rows the apply wrote, into the emptied tables, in one transaction."""
    dumps = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            buffer = io.BytesIO()
            cursor.copy_expert(f"COPY {table} TO STDOUT", buffer)
            dumps[table] = buffer.getvalue()
        cursor.execute("TRUNCATE " + ", ".join(TABLES) + ", pcp_portal_outboxevent CASCADE")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table in TABLES:
            cursor.copy_expert(f"COPY {table} FROM STDIN", io.BytesIO(dumps[table]))
    elapsed = time.perf_counter() - started
    assert Official.objects.count() == size and Enrollment.objects.count() == size
    return elapsed


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(int(sys.argv[2]))
        return
    assert connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database of its own"
    call_command("migrate", verbosity=0)
    _ministry()
    _course()
    results = []
    for size in SIZES:
        rounds = []
        for round_number in range(REPEATS):
            _empty()
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.imports", "--child", str(size)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            figures = json.loads(out.strip().splitlines()[-1])
            assert Official.objects.count() == size and Enrollment.objects.count() == size
            assert Official.history.count() == size and Enrollment.history.count() == size
            figures["copy"] = _copy_baseline(size)
            figures["load"] = os.getloadavg()[0]
            rounds.append(figures)
            print(f"{size:,} rows, round {round_number + 1}: {figures}", file=sys.stderr)
        ratios = [r["apply"] / r["copy"] for r in rounds]
        results.append(
            {
                "size": size,
                **{
                    key: statistics.median(r[key] for r in rounds)
                    for key in ("preview", "apply", "copy", "maxrss_mb")
                },
                "ratio": statistics.median(ratios),
                "ratio_range": (min(ratios), max(ratios)),
                "load": (min(r["load"] for r in rounds), max(r["load"] for r in rounds)),
            }
        )
    _empty()

    print(
        f"Medians of {REPEATS} rounds.\n\n| rows | preview (worker) | apply (worker) | COPY of the same rows "
        "| apply / COPY (median of the rounds' ratios; range) | peak worker memory | load average |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['size']:,} | {r['preview']:.2f} s | {r['apply']:.2f} s | {r['copy']:.2f} s "
            f"| **{r['ratio']:.2f}** ({r['ratio_range'][0]:.2f}–{r['ratio_range'][1]:.2f}) "
            f"| {r['maxrss_mb']:.0f} MB | {r['load'][0]:.1f}–{r['load'][1]:.1f} |"
        )
    if len(results) >= 2:
        small, large = results[0], results[-1]
        print(
            f"\nPeak memory {large['size']:,} / {small['size']:,} rows: "
            f"**{large['maxrss_mb'] / small['maxrss_mb']:.2f}**"
        )


if __name__ == "__main__":
    main()
