"""Benchmark: the API's attendance list against the fastest equivalent, on 1,000,000 rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_bench_api \
        .venv/bin/python -m benchmarks.api_attendance_list

Builds the data set (benchmarks.dataset) in the given database, creates a partner API key, starts
gunicorn (2 sync workers) serving the portal plus one extra view, and
drives both with the same load (threads of keep-alive HTTP clients, fixed duration):

* api:  GET /api/v1/attendance/?page_size=100            (DRF, keyset cursor pagination)
* raw:  GET /bench/attendance-json-agg/?after=<id>       (one SQL statement: PostgreSQL's json_agg
        of the same rows and fields, links included, same Bearer-key authentication)

each at the first page and at a page 90% deep (900,000 rows on the default set), in BENCH_ROUNDS
rounds (the order of the sides alternating from one round to the next, so both meet the same
conditions on a shared machine). Prints the median of the rounds as a Markdown table for
benchmarks/RESULTS.md, and each round's ratio. Not part of the test suite.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import threading
import time
from urllib.parse import urlencode

from benchmarks import django_setup, server  # noqa: F401 - django_setup: sets Django up before the apps
from benchmarks.dataset import build
from participants.models import Attendance
from pcp_portal.api import KeysetCursorPagination
from pcp_portal.models import APIAccessKey

PORT = int(os.environ.get("BENCH_PORT", "8764"))
DURATION = float(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "4"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
PAGE = 100


# --- the fastest equivalent: served by the same gunicorn, through this module as ROOT_URLCONF -----

RAW_SQL = """
SELECT json_build_object(
    'next', CASE WHEN count(*) > %(size)s THEN %(next_base)s || max(id) FILTER (WHERE n <= %(size)s) END,
    'previous', NULL,
    'results', COALESCE(json_agg(json_build_object(
        'id', id, 'url', %(base)s || 'attendance/' || id || '/',
        'session', session_id, 'session_url', %(base)s || 'sessions/' || session_id || '/',
        'enrollment', enrollment_id, 'enrollment_url', %(base)s || 'enrollments/' || enrollment_id || '/',
        'official', official_id, 'official_url', %(base)s || 'officials/' || official_id || '/',
        'course', course_id, 'status', status, 'note', note, 'recorded_at', recorded_at,
        'version', version, 'created_at', created_at, 'updated_at', updated_at
    ) ORDER BY id) FILTER (WHERE n <= %(size)s), '[]'::json)
)::text
FROM (
    SELECT a.id, a.session_id, a.enrollment_id, e.official_id, s.course_id, a.status, a.note,
           a.recorded_at, a.version, a.created_at, a.updated_at, row_number() OVER (ORDER BY a.id) AS n
    FROM participants_attendance a
    JOIN participants_enrollment e ON e.id = a.enrollment_id
    JOIN courses_session s ON s.id = a.session_id
    WHERE a.id > %(after)s
    ORDER BY a.id
    LIMIT %(size)s + 1
) page
"""


@server.key_required
def raw_attendance(request):
    return server.sql_json_response(
        RAW_SQL,
        {
            "size": PAGE,
            "after": int(request.GET.get("after", 0)),
            "base": request.build_absolute_uri("/api/v1/"),
            "next_base": request.build_absolute_uri(request.path) + "?after=",
        },
    )


urlpatterns = server.urlpatterns_with("bench/attendance-json-agg/", raw_attendance)
application = server.wsgi_application(__name__)  # gunicorn's entry point: the portal and the view above


# --- load ----------------------------------------------------------------------------------------


def _load(path: str, key: str) -> dict:
    """CONCURRENCY keep-alive clients hitting `path` for DURATION seconds."""
    latencies: list[float] = []
    errors = [0]
    stop = time.perf_counter() + DURATION
    lock = threading.Lock()

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        mine = []
        while time.perf_counter() < stop:
            started = time.perf_counter()
            connection.request("GET", path, headers={"Authorization": f"Bearer {key}"})
            response = connection.getresponse()
            body = response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200 or len(json.loads(body)["results"]) != PAGE:
                with lock:
                    errors[0] += 1
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "rps": len(latencies) / elapsed,
        "median_ms": statistics.median(latencies) * 1000,
        "requests": len(latencies),
        "errors": errors[0],
    }


def main() -> None:
    counts = build()
    _api_key, key = APIAccessKey.objects.create_key(name="benchmark", role="partner")
    first_id = Attendance.objects.order_by("pk").values_list("pk", flat=True).first()
    deep_after = first_id + counts["attendance"] * 9 // 10 - 1  # 90% deep: the 900,001st row of 1M
    deep_cursor = KeysetCursorPagination().cursor_token(deep_after)
    # The pairs compared run back to back (api/raw first page, then api first/deep page).
    targets = {
        ("raw", "first"): "/bench/attendance-json-agg/?after=0",
        ("api", "first"): f"/api/v1/attendance/?page_size={PAGE}",
        ("api", "deep"): f"/api/v1/attendance/?{urlencode({'page_size': PAGE, 'cursor': deep_cursor})}",
        ("raw", "deep"): f"/bench/attendance-json-agg/?after={deep_after}",
    }
    try:
        with server.gunicorn("benchmarks.api_attendance_list", port=PORT, workers=WORKERS):
            # Same rows and fields from both sides (the raw side is the reference).
            for page in ("first", "deep"):
                bodies = []
                for side in ("api", "raw"):
                    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
                    connection.request(
                        "GET", targets[(side, page)], headers={"Authorization": f"Bearer {key}"}
                    )
                    bodies.append(json.loads(connection.getresponse().read())["results"])
                assert [r["id"] for r in bodies[0]] == [r["id"] for r in bodies[1]], page
                assert set(bodies[0][0]) == set(bodies[1][0]), set(bodies[0][0]) ^ set(bodies[1][0])
            for path in targets.values():  # warm up every worker
                connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
                for _ in range(20):
                    connection.request("GET", path, headers={"Authorization": f"Bearer {key}"})
                    connection.getresponse().read()
            rounds = []
            for number in range(ROUNDS):
                order = list(targets) if number % 2 == 0 else list(reversed(targets))
                rounds.append({target: _load(targets[target], key) for target in order})
    finally:
        APIAccessKey.objects.filter(name="benchmark").delete()

    results = {
        target: {
            figure: statistics.median(round_[target][figure] for round_ in rounds)
            for figure in ("rps", "median_ms", "requests", "errors")
        }
        for target in targets
    }
    ratios = [r[("api", "first")]["rps"] / r[("raw", "first")]["rps"] for r in rounds]
    api, raw = results[("api", "first")], results[("raw", "first")]
    print(f"data set: {counts}", file=sys.stderr)
    print(f"{ROUNDS} rounds of {DURATION:g} s per target; figures are the medians of the rounds.")
    print()
    print("| endpoint | page | requests/s | median ms | requests | errors |")
    print("| --- | --- | --- | --- | --- | --- |")
    for side, page in [("api", "first"), ("api", "deep"), ("raw", "first"), ("raw", "deep")]:
        figures = results[(side, page)]
        print(
            f"| {side} | {page} | {figures['rps']:.1f} | {figures['median_ms']:.1f} | "
            f"{figures['requests']:.0f} | {figures['errors']:.0f} |"
        )
    print()
    print(f"API / raw throughput, first page: {api['rps'] / raw['rps']:.2f} (target >= 0.50)")
    print(
        f"the same ratio, round by round: {', '.join(f'{ratio:.2f}' for ratio in ratios)} "
        f"(median {statistics.median(ratios):.2f})"
    )
    deep = results[("api", "deep")]
    print(
        f"API deep page / first page, median latency: {deep['median_ms'] / api['median_ms']:.2f}"
        " (target <= 1.2)"
    )


if __name__ == "__main__":
    main()
