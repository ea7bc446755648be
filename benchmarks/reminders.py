"""Reminder dispatch at scale: 2,000 sessions due at once, 50,000 enrolled officials, against a baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_h6_bench .venv/bin/python -m benchmarks.reminders

Builds (with bulk inserts, in a database of its own: it writes) 2,000 courses, each with 25
enrolled officials and one session 40 hours away, so the 48-hour reminder of every session is
due. Then, BENCH_ROUNDS times (default 5), the order of the two sides alternating from round
to round, each side starts from an empty ledger (TRUNCATE) and runs twice at the same `now`:

* portal: `participants.reminders.dispatch()`;
* baseline: one hand-written SQL statement doing the same work (`BASELINE_SQL`): the due
  sessions and their nearest reminder, INSERT … SELECT of one ledger row per enrolled official
  (skipped with the reason when there is no e-mail or the official opted out) ON CONFLICT DO
  NOTHING RETURNING id, the closing of pending rows of started sessions, and the re-queueing
  of lost tasks and expired claims (`queued_at`), in one round trip.

The first run writes 50,000 ledger rows (1,499 skipped: no e-mail or opted out, see `_vary`)
and queues 48,501 send tasks (counted, not published: the broker is not what is measured); the
second run — a second beat — must write and queue nothing. Both sides' queued ids go through
the same `enqueue` callable after the commit. The benchmark asserts that both sides leave the
same set of ledger rows (every column but the id and the two timestamps) and queue the same
number of tasks, then prints a Markdown table of medians (time and SQL queries) and the ratio
portal / baseline, for benchmarks/RESULTS.md.
The baseline needs PostgreSQL.
"""

from __future__ import annotations

import datetime
import os
import statistics
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from benchmarks import django_setup  # noqa: F401 - sets Django up before the apps are imported
from courses.models import Course, Programme, Project, Session
from ministries.models import Ministry
from participants import reminders
from participants.models import Enrollment, Official, ReminderDelivery

SESSIONS = int(os.environ.get("BENCH_SESSIONS", 2000))
PER_SESSION = int(os.environ.get("BENCH_OFFICIALS_PER_SESSION", 25))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 5))
LEDGER = "participants_reminderdelivery"


def _setup() -> None:
    call_command("migrate", verbosity=0)


def _build() -> None:
    marker = "Reminder benchmark"
    if Course.objects.filter(title__startswith=marker).count() == SESSIONS:
        ReminderDelivery.objects.all().delete()
        starts = timezone.now() + datetime.timedelta(hours=40)
        Session.objects.filter(course__title__startswith=marker).update(
            starts_at=starts, ends_at=starts + datetime.timedelta(hours=3)
        )
        return
    with transaction.atomic():
        ministry, _ = Ministry.objects.get_or_create(
            code="bench-rem", defaults={"name_en": "Benchmark ministry", "acronym": "BEN"}
        )
        programme = Programme.objects.create(name="Bench", country="Cambodia", start_year=2018, end_year=2023)
        project = Project.objects.create(programme=programme, title="Bench project")
        courses = Course.objects.bulk_create(
            [Course(project=project, number=i + 1, title=f"{marker} {i}") for i in range(SESSIONS)],
            batch_size=1000,
        )
        starts = timezone.now() + datetime.timedelta(hours=40)
        Session.objects.bulk_create(
            [
                Session(
                    course=c,
                    title=f"Session of {c.title}",
                    starts_at=starts,
                    ends_at=starts + datetime.timedelta(hours=3),
                )
                for c in courses
            ],
            batch_size=1000,
        )
        officials = Official.objects.bulk_create(
            [
                Official(
                    family_name=f"Bench{i}",
                    given_name="Dara",
                    ministry=ministry,
                    email=f"bench{i}@example.gov.kh",
                    preferred_language="km" if i % 3 else "en",
                )
                for i in range(SESSIONS * PER_SESSION)
            ],
            batch_size=5000,
        )
        today = timezone.localdate()
        Enrollment.objects.bulk_create(
            [
                Enrollment(
                    official=official,
                    course=courses[i // PER_SESSION],
                    enrolled_on=today,
                    ministry=ministry,
                    ministry_name_en=ministry.name_en,
                )
                for i, official in enumerate(officials)
            ],
            batch_size=5000,
        )


# The baseline: dispatch()'s work as one statement. Data-modifying CTEs all see the table as it
# was before the statement, so each one is written to touch rows the others do not: new rows are
# inserted already queued (pending) or closed (skipped), `expired` closes pending rows of
# sessions that started, `requeued` marks the other pending rows never queued or queued long
# ago or whose back-off after a transient failure has passed, and claims that expired.
BASELINE_SQL = f"""
WITH due AS (
    SELECT s.id AS session_id, s.course_id, s.starts_at,
           (SELECT min(h.value::int)
              FROM jsonb_array_elements_text(c.reminder_offsets_hours) AS h(value)
             WHERE s.starts_at - make_interval(hours => h.value::int) <= %(now)s) AS hours
      FROM courses_session s JOIN courses_course c ON c.id = s.course_id
     WHERE s.status = 'scheduled' AND s.starts_at > %(now)s AND s.starts_at <= %(horizon)s
),
expired AS (
    UPDATE {LEDGER} r SET status = 'skipped', reason = %(started)s, next_attempt_at = NULL
      FROM courses_session s
     WHERE s.id = r.session_id AND r.status = 'pending' AND s.starts_at <= %(now)s
    RETURNING r.id
),
requeued AS (
    UPDATE {LEDGER} r SET queued_at = %(now)s
     WHERE (r.status = 'pending'
            AND ((r.queued_at IS NULL AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= %(now)s))
                 OR r.queued_at < %(stale)s)
            AND NOT EXISTS (SELECT 1 FROM courses_session s
                             WHERE s.id = r.session_id AND s.starts_at <= %(now)s))
        OR (r.status = 'sending' AND r.claimed_at < %(stale)s)
    RETURNING r.id
),
inserted AS (
    INSERT INTO {LEDGER} (official_id, session_id, kind, key, status, reason, attempts, email,
                          language, queued_at, claimed_at, claim_token, sent_at, created_at, updated_at)
    SELECT e.official_id, d.session_id, 'reminder',
           d.hours || 'h@' || to_char(d.starts_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MI'),
           CASE WHEN o.email = '' OR o.reminders_opt_out_at IS NOT NULL THEN 'skipped' ELSE 'pending' END,
           CASE WHEN o.email = '' THEN %(no_email)s
                WHEN o.reminders_opt_out_at IS NOT NULL THEN %(opted_out)s ELSE '' END,
           0, '', '',
           CASE WHEN o.email = '' OR o.reminders_opt_out_at IS NOT NULL THEN NULL ELSE %(now)s END,
           NULL, '', NULL, statement_timestamp(), statement_timestamp()
      FROM due d
      JOIN participants_enrollment e ON e.course_id = d.course_id AND e.status = 'enrolled'
      JOIN participants_official o ON o.id = e.official_id
     WHERE d.hours IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING id, status
)
SELECT 'due', count(*) FROM due WHERE hours IS NOT NULL
UNION ALL SELECT 'created', count(*) FROM inserted
UNION ALL SELECT 'queue', id FROM inserted WHERE status = 'pending'
UNION ALL SELECT 'queue', id FROM requeued
"""

# What "the same ledger" means: every column but the id and the two timestamps.
LEDGER_COLUMNS = (
    "official_id, session_id, kind, key, status, reason, attempts, email, language, queued_at, "
    "claimed_at, claim_token, sent_at, next_attempt_at"
)


def _portal(now, enqueue):
    # The portal hands rows over in batches of REMINDER_SEND_BATCH_SIZE; count rows, as the baseline does.
    result = reminders.dispatch(now=now, enqueue=lambda batch: [enqueue(i) for i in batch])
    return result.sessions, result.created


def _baseline(now, enqueue):
    params = {
        "now": now,
        "horizon": now + datetime.timedelta(hours=reminders.max_offset_hours()),
        "stale": now - datetime.timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT_SECONDS),
        "started": reminders.REASON_STARTED,
        "no_email": reminders.REASON_NO_EMAIL,
        "opted_out": reminders.REASON_OPTED_OUT,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(BASELINE_SQL, params)
        rows = cursor.fetchall()
    counts = {label: value for label, value in rows if label != "queue"}
    for delivery_id in sorted(value for label, value in rows if label == "queue"):
        enqueue(delivery_id)
    return counts["due"], counts["created"]


SIDES = {"portal": _portal, "baseline": _baseline}


def _reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {LEDGER}")


def _ledger() -> set[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {LEDGER_COLUMNS} FROM {LEDGER}")
        return set(cursor.fetchall())


def _vary() -> None:
    """Some officials cannot be reminded, so both sides' "skipped, and why" paths are compared too.

    1 in 100 has no e-mail (Bench…99: 500), about 1 in 50 opted out (Bench…00, Bench…50: 999):
    1,499 of the 50,000 rows are written as skipped and 48,501 are queued. Idempotent, so it also brings an
    older benchmark database up to date.
    """

    Official.objects.filter(family_name__regex=r"^Bench[0-9]*99$").exclude(email="").update(email="")
    Official.objects.filter(
        family_name__regex=r"^Bench[0-9]*[05]0$", reminders_opt_out_at__isnull=True
    ).update(reminders_opt_out_at=timezone.now())


def _run(side: str, now) -> dict:
    queued: list[int] = []
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        sessions, created = SIDES[side](now, queued.append)
        elapsed = time.perf_counter() - started
    queries = len(ctx.captured_queries)  # BEGIN and COMMIT included, as in the earlier figures
    return {
        "sessions": sessions,
        "created": created,
        "queued": len(queued),
        "time": elapsed,
        "queries": queries,
    }


def main() -> None:
    _setup()

    if connection.vendor != "postgresql":
        sys.exit("The baseline is PostgreSQL SQL: run this with DATABASE_URL=postgres://…")
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '120s'")
    started = time.perf_counter()
    _build()
    _vary()
    print(f"data set ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    now = timezone.now()
    runs = {(side, n): [] for side in SIDES for n in ("first", "second")}
    ledgers: dict[str, set[tuple]] = {}
    for round_no in range(ROUNDS):
        order = ["portal", "baseline"] if round_no % 2 == 0 else ["baseline", "portal"]
        for side in order:
            _reset()
            first = _run(side, now)
            ledger = _ledger()
            second = _run(side, now)
            assert second["created"] == 0 and second["queued"] == 0, (side, second)
            assert _ledger() == ledger, f"{side}: the second dispatch changed the ledger"
            ledgers.setdefault(side, ledger)
            assert ledger == ledgers[side], f"{side}: round {round_no + 1} left another ledger"
            runs[(side, "first")].append(first)
            runs[(side, "second")].append(second)
            print(
                f"round {round_no + 1} {side}: first {first['time']:.2f} s, second {second['time']:.2f} s",
                file=sys.stderr,
            )
    _reset()
    portal_rows, baseline_rows = ledgers["portal"], ledgers["baseline"]
    assert portal_rows == baseline_rows, (
        f"ledgers differ: {len(portal_rows - baseline_rows)} rows only from the portal, "
        f"{len(baseline_rows - portal_rows)} only from the baseline"
    )
    for n in ("first", "second"):
        p, b = runs[("portal", n)][0], runs[("baseline", n)][0]
        assert (p["sessions"], p["created"], p["queued"]) == (b["sessions"], b["created"], b["queued"]), (
            n,
            p,
            b,
        )

    def median(side, n, field):
        return statistics.median(r[field] for r in runs[(side, n)])

    print(
        f"{ROUNDS} rounds, order alternating; medians. "
        f"Both sides left the same {len(portal_rows):,} ledger rows."
    )
    print()
    print("| run | side | sessions due | ledger rows written | tasks queued | time (median) | SQL queries |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    labels = {"first": "first dispatch", "second": "second dispatch (another beat)"}
    for n in ("first", "second"):
        for side in SIDES:
            r = runs[(side, n)][0]
            print(
                f"| {labels[n]} | {side} | {r['sessions']:,} | {r['created']:,} | {r['queued']:,} "
                f"| {median(side, n, 'time'):.2f} s | {median(side, n, 'queries'):.0f} |"
            )
    print()
    for n in ("first", "second"):
        ratios = [
            p["time"] / b["time"] for p, b in zip(runs[("portal", n)], runs[("baseline", n)], strict=True)
        ]
        print(
            f"portal / baseline, {labels[n]}: "
            f"{median('portal', n, 'time') / median('baseline', n, 'time'):.2f} "
            f"(round by round {', '.join(f'{x:.2f}' for x in ratios)})"
        )


if __name__ == "__main__":
    main()
