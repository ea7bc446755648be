"""Benchmark: what the change feed costs a register save, and how fast a partner can follow it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_bench_e .venv/bin/python -m benchmarks.change_feed

PostgreSQL only. Builds (once) the benchmarks.dataset default set in the given database (a
database of its own: this benchmark writes), then measures, in one run:

1. The change log's cost per write. A register save is `participants.services.attendance_record`
   for one official at one session with a status change (the row lock, the version bump, the
   history row, its own transaction and commit, as the register page's per-row save makes it),
   timed with the change-log triggers in place and with them dropped
   (`pcp_portal.outbox.drop_trigger_sql`, reinstalled with `trigger_sql` at the end of each
   round, and checked identical to what was found at the start). Also a register PUT-sized
   batch: the same service for the 200 rows of one session in one transaction. BENCH_ROUNDS
   rounds of BENCH_SAVES single saves a side (a round's figure: the median save), then
   BENCH_BATCH_ROUNDS rounds of one batch a side, the order of the two sides alternating from
   round to round; the ratio is the median of the rounds' ratios (each round compares the two
   sides under the same load), the times are the medians of the rounds. Beside the wall-clock
   times, the CPU time of this process and of its PostgreSQL backend (/proc), which other work
   on the machine does not stretch. Then the triggers' own time in an UPDATE of 200 rows, from
   EXPLAIN ANALYZE.

2. Feed throughput. FEED_CHANGES attendance changes are committed in ordinary transactions of
   FEED_TX_ROWS rows each (an UPDATE of part of one session's register, sessions drawn at
   random), after a partner has taken its sync token. A partner then follows the feed from that
   token to the end through gunicorn on loopback (a partner key, page_size=1000, one keep-alive
   client applying every page to its copy), against a baseline served by the same gunicorn:
   one SQL statement per page that reads the same 1,000 events, joins the changed attendance rows
   and returns PostgreSQL's json_agg of the same fields. FEED_ROUNDS rounds, alternating order.
   Every follow must deliver the expected changes and pages; the first round's two copies are
   checked equal to each other and to the database. The portal's SQL query count per page is
   asserted equal for page_size 100 and 1000 (in process, before the server starts). Then the
   feed's page reads alone are timed over the same pages, as changefeed.read_events writes them
   and as a row comparison on (txid, id).

Prints Markdown tables for benchmarks/RESULTS.md. Not part of the test suite.
"""

from __future__ import annotations

import datetime
import http.client
import itertools
import json
import os
import random
import statistics
import sys
import time
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from benchmarks import django_setup, server  # noqa: F401 - django_setup: sets Django up before the apps
from benchmarks.dataset import BENCH_MARKER, build
from courses.models import Session
from participants.models import Attendance, Enrollment
from participants.services import attendance_record
from pcp_portal.changefeed import read_token, safe_bound
from pcp_portal.models import APIAccessKey
from pcp_portal.outbox import drop_trigger_sql, trigger_sql
from pcp_portal.urls import FEED_RESOURCES

PORT = int(os.environ.get("BENCH_PORT", "8775"))
# Short rounds, many of them: load from other work on a shared machine comes in bursts of seconds,
# and a burst should fall on both sides of a round rather than on one side of the comparison.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))  # rounds of single saves
SAVES = int(os.environ.get("BENCH_SAVES", "30"))  # single-row saves per side and round
BATCH_ROUNDS = int(os.environ.get("BENCH_BATCH_ROUNDS", "15"))  # rounds of one 200-row batch a side
FEED_CHANGES = int(os.environ.get("FEED_CHANGES", "100000"))
FEED_TX_ROWS = int(os.environ.get("FEED_TX_ROWS", "50"))
FEED_ROUNDS = int(os.environ.get("FEED_ROUNDS", "3"))
FEED_PAGE = 1000
WORKERS = 2
MAX_POSITION = 2**63 - 1


# --- the baseline feed: served by the same gunicorn, through this module as ROOT_URLCONF ---------

# What a PostgreSQL engineer would write: the next page of events by keyset on (txid, id) below the
# oldest running transaction, each changed row once, joined to its attendance row (none: deleted)
# and written out by json_agg with the attendance list's fields, and the next position.
RAW_FEED_SQL = """
WITH bound AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin),
page AS (
    SELECT txid, id, object_id, row_number() OVER (ORDER BY txid, id) AS n
    FROM (
        SELECT txid, id, object_id FROM pcp_portal_outboxevent, bound
        WHERE topic = 'change' AND name = 'attendance'
          AND (txid, id) > (%(txid)s, %(id)s) AND txid < bound.xmin
        ORDER BY txid, id
        LIMIT %(size)s + 1
    ) events
),
changed AS (SELECT DISTINCT object_id FROM page WHERE n <= %(size)s)
SELECT json_build_object(
    'changes', COALESCE((
        SELECT json_agg(json_build_object(
            'resource', 'attendance', 'id', c.object_id,
            'op', CASE WHEN a.id IS NULL THEN 'delete' ELSE 'upsert' END,
            'data', CASE WHEN a.id IS NOT NULL THEN json_build_object(
                'id', a.id, 'url', %(base)s || 'attendance/' || a.id || '/',
                'session', a.session_id, 'session_url', %(base)s || 'sessions/' || a.session_id || '/',
                'enrollment', a.enrollment_id,
                'enrollment_url', %(base)s || 'enrollments/' || a.enrollment_id || '/',
                'official', e.official_id, 'official_url', %(base)s || 'officials/' || e.official_id || '/',
                'course', s.course_id, 'status', a.status, 'note', a.note, 'recorded_at', a.recorded_at,
                'version', a.version, 'created_at', a.created_at, 'updated_at', a.updated_at) END))
        FROM changed c
        LEFT JOIN participants_attendance a ON a.id = c.object_id
        LEFT JOIN participants_enrollment e ON e.id = a.enrollment_id
        LEFT JOIN courses_session s ON s.id = a.session_id
    ), '[]'::json),
    'more', (SELECT count(*) > %(size)s FROM page),
    'next', CASE
        WHEN (SELECT count(*) > %(size)s FROM page)
            THEN (SELECT txid || ':' || id FROM page WHERE n = %(size)s)
        WHEN (bound.xmin - 1, %(max)s::bigint) > (%(txid)s, %(id)s)
            THEN (bound.xmin - 1) || ':' || %(max)s::bigint
        ELSE %(txid)s || ':' || %(id)s
    END
)::text
FROM bound
"""


@server.key_required
def raw_changes(request):
    txid, event_id = (int(part) for part in request.GET["after"].split(":"))
    return server.sql_json_response(
        RAW_FEED_SQL,
        {
            "txid": txid,
            "id": event_id,
            "size": int(request.GET.get("page_size", FEED_PAGE)),
            "max": MAX_POSITION,
            "base": request.build_absolute_uri("/api/v1/"),
        },
    )


urlpatterns = server.urlpatterns_with("bench/changes-json-agg/", raw_changes)
application = server.wsgi_application(__name__)  # gunicorn's entry point: the portal and the baseline


# --- the machine ---------------------------------------------------------------------------------


def machine() -> str:
    cpu = "?"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        ram = int(info.readline().split()[1]) / 1024 / 1024
    return f"nproc {os.cpu_count()}, {ram:.1f} GiB RAM, CPU {cpu}"


def load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


# --- 1. the change log's cost per write ----------------------------------------------------------


def synced_tables() -> dict[str, str]:
    """{table: resource} of every table whose changes the feed serves (as the URL conf lists them)."""
    return {viewset.queryset.model._meta.db_table: name for name, viewset in FEED_RESOURCES.items()}


def trigger_definitions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname LIKE 'pcp\\_change\\_%%' "
            "ORDER BY tgrelid::regclass::text, tgname"
        )
        return [row[0] for row in cursor.fetchall()]


def set_triggers(*, on: bool) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for table, resource in synced_tables().items():
            statements = (
                trigger_sql("postgresql", table, resource) if on else drop_trigger_sql("postgresql", table)
            )
            for statement in statements:
                cursor.execute(statement)


def _flip(status: str) -> str:
    return "late" if status == "present" else "present"


def measure_writes() -> dict:
    found = trigger_definitions()
    expected = sum(len(trigger_sql("postgresql", t, r)) for t, r in synced_tables().items())
    if len(found) != expected:
        # Only a run killed between dropping and reinstalling leaves them so: put them back.
        print(f"found {len(found)} of {expected} change-log triggers: reinstalling them", file=sys.stderr)
        set_triggers(on=True)
        found = trigger_definitions()
    registrar, _created = get_user_model().objects.get_or_create(username="benchmark-registrar")

    # The last sessions of the data set: single saves over a few of them, batches over others.
    sessions = list(
        Session.objects.filter(course__reference_key__startswith=BENCH_MARKER)
        .select_related("course")
        .order_by("-pk")[: 1 + 2 * BATCH_ROUNDS]
    )
    single_sessions, batch_sessions = sessions[:1], sessions[1:]

    def register(session):
        enrollments = {e.pk: e for e in Enrollment.objects.filter(course_id=session.course_id)}
        return [
            [enrollments[enrollment_id], session, status]
            for enrollment_id, status in Attendance.objects.filter(session=session)
            .order_by("enrollment_id")
            .values_list("enrollment_id", "status")
        ]

    singles = [row for session in single_sessions for row in register(session)][:SAVES]
    batches = [register(session) for session in batch_sessions]
    if len(singles) < SAVES or any(len(batch) != 200 for batch in batches):
        raise SystemExit("The data set has fewer rows than this benchmark needs.")

    def save(row) -> None:
        row[2] = _flip(row[2])
        _attendance, changed = attendance_record(
            enrollment=row[0], session=row[1], status=row[2], recorded_by=registrar
        )
        assert changed

    backend = _backend_cpu_reader()

    def single_round(side: str) -> float:
        """The median save: a spike of load on this shared machine moves a mean more than a median."""
        times = []
        cpu = _cpu(backend)
        for row in singles:
            started = time.perf_counter()
            save(row)  # attendance_record is atomic: one transaction and commit per save
            times.append(time.perf_counter() - started)
        cpu_used[side]["single"] += _cpu(backend) - cpu
        return statistics.median(times)

    def batch_round(side: str, rows) -> float:
        cpu = _cpu(backend)
        started = time.perf_counter()
        with transaction.atomic():
            for row in rows:
                save(row)
        elapsed = time.perf_counter() - started
        cpu_used[side]["batch"] += _cpu(backend) - cpu
        return elapsed

    for row in singles:  # warm up connections, caches and the ORM's compiled queries
        save(row)
    results = {side: {"single": [], "batch": []} for side in ("with", "without")}
    cpu_used = {side: {"single": 0.0, "batch": 0.0} for side in ("with", "without")}
    spare = iter(batches)
    try:
        for number in range(ROUNDS):
            for side in ("with", "without") if number % 2 == 0 else ("without", "with"):
                set_triggers(on=side == "with")
                results[side]["single"].append(single_round(side))
        for number in range(BATCH_ROUNDS):
            for side in ("with", "without") if number % 2 == 0 else ("without", "with"):
                set_triggers(on=side == "with")
                results[side]["batch"].append(batch_round(side, next(spare)))
    finally:
        set_triggers(on=True)
    assert trigger_definitions() == found, "the change-log triggers differ from those found at the start"
    results["trigger"] = trigger_time(batch_sessions[0])
    results["cpu"] = {
        side: {"single": used["single"] / (ROUNDS * SAVES), "batch": used["batch"] / BATCH_ROUNDS}
        for side, used in cpu_used.items()
    }
    return results


def _backend_cpu_reader():
    """A function returning the CPU seconds used so far by the PostgreSQL backend serving Django's
    connection (the server runs on this machine), or None where /proc does not show it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    ticks = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime and stime

    try:
        read()
    except OSError:
        return None
    return read


def _cpu(backend) -> float:
    """CPU seconds of this process and its PostgreSQL backend: unlike wall-clock time, not stretched
    by other work waiting for the same cores."""
    return time.process_time() + (backend() if backend else 0.0)


def trigger_time(session) -> dict[str, float]:
    """The trigger's own time, as PostgreSQL counts it, in an UPDATE of one session's 200 rows
    (EXPLAIN ANALYZE, rolled back; median of 5): {"trigger": ms, "statement": ms, "rows": n}."""
    samples = []
    for _ in range(5):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) UPDATE participants_attendance SET "
                "status = CASE status WHEN 'present' THEN 'late' ELSE 'present' END, "
                "version = version + 1, updated_at = now() WHERE session_id = %s",
                [session.pk],
            )
            plan = cursor.fetchone()[0]
            plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]
            transaction.set_rollback(True)
        triggers = [t for t in plan["Triggers"] if t["Trigger Name"].startswith("pcp_change_")]
        samples.append(
            (
                sum(t["Time"] for t in triggers),
                plan["Execution Time"],
                sum(t["Calls"] for t in triggers),
            )
        )
    return {
        "trigger": statistics.median(s[0] for s in samples),
        "statement": statistics.median(s[1] for s in samples),
        "rows": samples[0][2],
    }


# --- 2. feed throughput ----------------------------------------------------------------------------


def generate_changes(rng: random.Random) -> int:
    """Commit FEED_CHANGES attendance changes in transactions of FEED_TX_ROWS rows of one session."""
    session_ids = list(
        Session.objects.filter(course__reference_key__startswith=BENCH_MARKER).values_list("pk", flat=True)
    )
    slices = 200 // FEED_TX_ROWS
    transactions = FEED_CHANGES // FEED_TX_ROWS
    written = 0
    for _ in range(transactions):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE participants_attendance SET "
                "status = CASE status WHEN 'present' THEN 'late' ELSE 'present' END, "
                "version = version + 1, recorded_at = now(), updated_at = now() "
                "WHERE session_id = %s AND id %% %s = %s",
                [rng.choice(session_ids), slices, rng.randrange(slices)],
            )
            written += cursor.rowcount
    return written


def wait_for_bound(last_txid: int) -> None:
    """The feed shows a change once every older transaction has ended (in any database of the cluster)."""
    deadline = time.monotonic() + 120
    while safe_bound() <= last_txid:
        if time.monotonic() > deadline:
            raise SystemExit("A transaction elsewhere on the server has held the feed back for 2 minutes.")
        time.sleep(0.2)


def expected_pages(position: tuple[int, int]) -> tuple[int, int]:
    """How many changes (each object once per page) and pages a follower gets from `position`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT object_id FROM pcp_portal_outboxevent WHERE topic = 'change' AND name = 'attendance' "
            "AND (txid, id) > (%s, %s) AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint "
            "ORDER BY txid, id",
            list(position),
        )
        ids = [row[0] for row in cursor.fetchall()]
    pages = [ids[start : start + FEED_PAGE] for start in range(0, len(ids), FEED_PAGE)]
    return sum(len(set(page)) for page in pages), len(pages)


def follow(start: str, key: str, *, raw: bool) -> tuple[dict[int, dict], int, int, float]:
    """A partner following the feed from `start` to the end: (copy, changes, pages, seconds)."""
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    headers = {"Authorization": f"Bearer {key}"}
    copy: dict[int, dict] = {}
    changes = pages = 0
    position = start
    started = time.perf_counter()
    while True:
        if raw:
            path = f"/bench/changes-json-agg/?after={position}&page_size={FEED_PAGE}"
        else:
            path = f"/api/v1/changes/?resource=attendance&page_size={FEED_PAGE}&since={quote(position)}"
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, body[:500]
        page = json.loads(body)
        for change in page["changes"]:
            if change["op"] == "delete":
                copy.pop(change["id"], None)
            else:
                copy[change["id"]] = change["data"]
        changes += len(page["changes"])
        pages += 1
        position = page["next" if raw else "next_since"]
        if not page["more"]:
            break
    elapsed = time.perf_counter() - started
    connection.close()
    return copy, changes, pages, elapsed


def _comparable(row: dict) -> dict:
    """A row with its timestamps as instants (the portal writes them in Phnom Penh time, SQL in UTC)."""
    return {
        name: datetime.datetime.fromisoformat(value) if name.endswith("_at") else value
        for name, value in row.items()
    }


def count_page_queries(start: str, key: str, sizes: tuple[int, ...]) -> dict[int, int]:
    """SQL queries of one feed page at each page size, from the same token (in process, same stack)."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_HOST="127.0.0.1")
    counts = {}
    for size in sizes:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(
                "/api/v1/changes/", {"resource": "attendance", "page_size": size, "since": start}
            )
        assert response.status_code == 200, response.content[:500]
        assert len(response.json()["changes"]) >= size * 0.9, "the page is not full: too few changes"
        counts[size] = len(captured.captured_queries)
    return counts


def time_event_reads(position: tuple[int, int]) -> dict[str, float]:
    """The feed's page reads alone, summed over every page from `position` to the end: the
    statement changefeed.read_events sends (its OR form) against the same read as a row comparison.
    Each page is read both ways, the order alternating."""
    where = {
        "txid > %s OR (txid = %s AND id > %s)": lambda txid, event_id: [txid, txid, event_id],
        "(txid, id) > (%s, %s)": lambda txid, event_id: [txid, event_id],
    }
    totals = dict.fromkeys(where, 0.0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        bound = cursor.fetchone()[0]
        for number in itertools.count():
            pages = {}
            for form in list(where) if number % 2 == 0 else list(reversed(where)):
                sql = (
                    "SELECT txid, id, name, object_id, op FROM pcp_portal_outboxevent WHERE topic = "
                    f"'change' AND ({form}) AND txid < %s AND name = 'attendance' ORDER BY txid, id LIMIT %s"
                )
                started = time.perf_counter()
                cursor.execute(sql, [*where[form](*position), bound, FEED_PAGE + 1])
                pages[form] = cursor.fetchall()
                totals[form] += time.perf_counter() - started
            rows, other = pages.values()
            assert rows == other, "the two forms read different events"
            if len(rows) <= FEED_PAGE:
                break
            position = rows[FEED_PAGE - 1][:2]
    return totals


def measure_feed(key: str, key_prefix: str) -> dict:
    rng = random.Random(21)
    # The token is taken once every earlier change is final, so what follows it is this benchmark's.
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(max(txid), 0) FROM pcp_portal_outboxevent")
        wait_for_bound(cursor.fetchone()[0])
    start = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_HOST="127.0.0.1").get(
        "/api/v1/changes/", {"resource": "attendance"}
    )
    token = start.json()["next_since"]
    position = read_token(token, resource="attendance", caller=f"k:{key_prefix}")
    started = time.perf_counter()
    written = generate_changes(rng)
    generated_in = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(txid), count(*) FROM pcp_portal_outboxevent WHERE topic = 'change' "
            "AND name = 'attendance' AND (txid, id) > (%s, %s)",
            list(position),
        )
        last_txid, events = cursor.fetchone()
    assert events == written, (events, written)
    wait_for_bound(last_txid)
    changes, pages = expected_pages(position)
    queries = count_page_queries(token, key, (100, FEED_PAGE))
    assert len(set(queries.values())) == 1, f"the feed's query count grows with the page size: {queries}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pcp_portal_outboxevent")
        retained = cursor.fetchone()[0]
    reads = time_event_reads(position)

    raw_start = f"{position[0]}:{position[1]}"
    with server.gunicorn("benchmarks.change_feed", port=PORT, workers=WORKERS, timeout=120):
        # Warm up both workers on both sides (imports, URL conf, connections): first pages only.
        for path in (
            f"/api/v1/changes/?resource=attendance&page_size={FEED_PAGE}&since={quote(token)}",
            f"/bench/changes-json-agg/?after={raw_start}&page_size={FEED_PAGE}",
        ):
            for _ in range(2 * WORKERS):
                warm = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
                warm.request("GET", path, headers={"Authorization": f"Bearer {key}"})
                assert warm.getresponse().read()
                warm.close()
        rounds = []
        for number in range(FEED_ROUNDS):
            order = (False, True) if number % 2 == 0 else (True, False)
            round_, copies = {}, {}
            for raw in order:
                side = "raw" if raw else "portal"
                copies[side], delivered, served, round_[side] = follow(
                    raw_start if raw else token, key, raw=raw
                )
                assert (delivered, served) == (changes, pages), (side, delivered, served, changes, pages)
            rounds.append(round_)
            if number == 0:
                # Both partners end with the same copy, and it is the database's.
                portal_copy, raw_copy = copies["portal"], copies["raw"]
                assert portal_copy.keys() == raw_copy.keys()
                assert all(_comparable(portal_copy[pk]) == _comparable(raw_copy[pk]) for pk in portal_copy)
                database = dict(
                    Attendance.objects.filter(pk__in=list(portal_copy)).values_list("pk", "version")
                )
                assert database == {pk: row["version"] for pk, row in portal_copy.items()}
    return {
        "written": written,
        "transactions": FEED_CHANGES // FEED_TX_ROWS,
        "generated_in": generated_in,
        "changes": changes,
        "pages": pages,
        "queries": queries,
        "retained": retained,
        "reads": reads,
        "rounds": rounds,
    }


# --- main --------------------------------------------------------------------------------------------


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("benchmarks.change_feed needs PostgreSQL: set DATABASE_URL=postgres://...")
    print(f"machine: {machine()}; load average before: {load()}", file=sys.stderr)
    counts = build()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    print(f"data set: {counts}; PostgreSQL {server_version}", file=sys.stderr)

    writes = measure_writes()
    api_key, key = APIAccessKey.objects.create_key(name="benchmark change feed", role="partner")
    try:
        feed = measure_feed(key, api_key.prefix)
    finally:
        APIAccessKey.objects.filter(name="benchmark change feed").delete()
    print(f"load average after: {load()}", file=sys.stderr)

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.2f} ms"

    print()
    print(
        f"### Write cost (rounds alternating the order of the sides; {SAVES} single saves a side and "
        "round, one 200-row batch a side and round)"
    )
    print()
    print(
        "| write | rounds | with change log | without | ratio (median of the rounds' ratios; goal ≤ 1.15) "
        "| rounds' ratios: middle half, all | ratio of the medians |"
    )
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for kind, label in (
        ("single", "one register row saved (median save)"),
        ("batch", "register PUT of 200 rows, one transaction"),
    ):
        with_, without = statistics.median(writes["with"][kind]), statistics.median(writes["without"][kind])
        ratios = sorted(a / b for a, b in zip(writes["with"][kind], writes["without"][kind], strict=True))
        quartiles = statistics.quantiles(ratios, n=4)
        print(
            f"| {label} | {len(ratios)} | {ms(with_)} | {ms(without)} | "
            f"**{statistics.median(ratios):.3f}** | {quartiles[0]:.2f}–{quartiles[2]:.2f}, "
            f"{ratios[0]:.2f}–{ratios[-1]:.2f} | {with_ / without:.3f} |"
        )
    cpu = writes["cpu"]
    print()
    print(
        "CPU time (this process and its PostgreSQL backend, summed over the rounds, so not stretched by "
        "other work waiting for the cores):"
    )
    for kind, label in (("single", "per single save"), ("batch", "per 200-row batch")):
        print(
            f"  {label}: {ms(cpu['with'][kind])} with the change log, {ms(cpu['without'][kind])} without; "
            f"ratio {cpu['with'][kind] / cpu['without'][kind]:.3f}"
        )
    trigger = writes["trigger"]
    print()
    print(
        f"the trigger's own time (EXPLAIN ANALYZE of an UPDATE of {trigger['rows']} rows, median of 5): "
        f"{trigger['trigger']:.2f} ms of the statement's {trigger['statement']:.2f} ms "
        f"({trigger['trigger'] / trigger['rows'] * 1000:.0f} µs a row)"
    )
    print()
    rounds = feed["rounds"]
    portal = statistics.median(r["portal"] for r in rounds)
    raw = statistics.median(r["raw"] for r in rounds)
    print(
        f"### Feed throughput ({feed['written']:,} attendance changes in {feed['transactions']:,} "
        f"transactions, generated in {feed['generated_in']:.1f} s; {feed['retained']:,} events in the "
        f"outbox; {FEED_ROUNDS} rounds, alternating; medians)"
    )
    print()
    print("| side | changes | pages | time to follow | changes/s | SQL queries per page |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    queries = feed["queries"]
    print(
        f"| portal `/api/v1/changes/` | {feed['changes']:,} | {feed['pages']} | {portal:.2f} s | "
        f"{feed['changes'] / portal:,.0f} | {queries[FEED_PAGE]} (page_size 100: {queries[100]}) |"
    )
    print(
        f"| baseline: one SQL statement (json_agg) | {feed['changes']:,} | {feed['pages']} | {raw:.2f} s | "
        f"{feed['changes'] / raw:,.0f} | 1 (+ the key check) |"
    )
    print()
    ratios = [r["raw"] / r["portal"] for r in rounds]
    print(
        f"portal / baseline throughput, median of the rounds' ratios: **{statistics.median(ratios):.2f}**; "
        f"round by round {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"ratio of the median times {raw / portal:.2f}"
    )
    print(f"the page reads alone, summed over the {feed['pages']} pages (in process, no HTTP):")
    for form, seconds in feed["reads"].items():
        print(f"  WHERE {form}: {seconds:.2f} s")


if __name__ == "__main__":
    main()
