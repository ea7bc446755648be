"""Benchmark: webhook batching of attendance changes, and delivery throughput to a local receiver.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcp_bench_f .venv/bin/python -m benchmarks.webhooks

PostgreSQL only, in a database of its own (it writes). Builds a small benchmarks.dataset set
(100 sessions of 100 enrolled officials: 10,000 attendance rows), subscribes a partner key to a
receiver on loopback (a threaded http.server answering 200), then:

1. Batching. WEBHOOK_CHANGES (10,000) attendance changes are committed within one attendance
   window, in one transaction per session (an UPDATE of its register, as a register PUT makes
   it), and the dispatcher runs in batches of PCP_WEBHOOK_DISPATCH_BATCH change rows. Counted:
   `attendance.changed` deliveries per session (must be ≤ 1 per session per window per
   subscription) and the SQL queries of each dispatch batch (must be the same for every batch).
2. Throughput. The batches' windows are closed and WEBHOOK_EVENTS single-object events
   (`official.updated`) are added; the sender posts everything to the receiver (each signed, its own
   connection to the checked address, the result saved). Baseline: the same bodies posted to
   the same receiver by a bare urllib3 loop with one kept-alive connection and nothing saved.
   Reported in events/s for both, with the ratio.

Prints a Markdown table for benchmarks/RESULTS.md. Not part of the test suite.
"""

from __future__ import annotations

import datetime
import os
import socket
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("PCP_WEBHOOK_ALLOW_HTTP", "1")
os.environ.setdefault("PCP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "1")
os.environ.setdefault("PCP_WEBHOOK_ATTENDANCE_WINDOW_SECONDS", "60")

import urllib3
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from benchmarks import django_setup  # noqa: F401 - sets Django up before the apps
from benchmarks.dataset import build
from courses.models import Session
from participants.models import Official
from pcp_portal.changefeed import safe_bound
from pcp_portal.models import APIAccessKey, WebhookDelivery, WebhookSubscription
from pcp_portal.webhooks import dispatch, sender, services

CHANGES = int(os.environ.get("WEBHOOK_CHANGES", "10000"))
EVENTS = int(os.environ.get("WEBHOOK_EVENTS", "2000"))


class Receiver:
    def __init__(self) -> None:
        self.count = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                # The status line, headers and body go out in separate writes: without this,
                # Nagle's algorithm and the client's delayed ACK cost every kept-alive request 40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.count += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def wait_for_bound(timeout: float = 120) -> None:
    """Until the change feed's visibility bound has passed every write so far (other databases'
    transactions on the same server hold it back; see RESULTS.md, change feed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        mine = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (safe_bound() or 0) > mine:
            return
        time.sleep(0.5)
    raise SystemExit("the visibility bound did not pass our writes in time")


def change_registers(sessions: list[int], per_session: int) -> int:
    changed = 0
    for session_id in sessions:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE participants_attendance SET status = CASE status WHEN 'present' THEN 'late' "
                "ELSE 'present' END, version = version + 1, updated_at = now() WHERE id IN "
                "(SELECT id FROM participants_attendance WHERE session_id = %s ORDER BY id LIMIT %s)",
                [session_id, per_session],
            )
            changed += cursor.rowcount
    return changed


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("benchmarks.webhooks needs PostgreSQL: set DATABASE_URL=postgres://...")
    build(officials=2_000, courses=10, sessions_per_course=10, enrolled_per_course=100, verbose=False)
    WebhookDelivery.objects.all().delete()
    WebhookSubscription.objects.all().delete()
    receiver = Receiver()
    api_key, _key = APIAccessKey.objects.create_key(name="webhook benchmark", role="partner")
    sub = services.subscription_create(api_key=api_key, url=f"http://127.0.0.1:{receiver.port}/hook")

    # 1. Batching -------------------------------------------------------------------------------
    sessions = list(Session.objects.order_by("id").values_list("id", flat=True)[:100])
    started = time.monotonic()
    changed = change_registers(sessions, CHANGES // len(sessions))
    write_seconds = time.monotonic() - started
    wait_for_bound()
    batch_queries = []
    started = time.monotonic()
    while True:
        with CaptureQueriesContext(connection) as captured:
            count, more = dispatch.dispatch_subscription(sub.pk)
        if count:
            batch_queries.append(len(captured))
        if not more:
            break
    dispatch_seconds = time.monotonic() - started
    per_session = list(
        WebhookDelivery.objects.filter(subscription=sub, event="attendance.changed")
        .values("object_id")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    assert changed == CHANGES, changed
    assert max(per_session) == 1 and len(per_session) == len(sessions), per_session
    assert len(set(batch_queries)) == 1, batch_queries

    # 2. Throughput ------------------------------------------------------------------------------
    WebhookDelivery.objects.filter(subscription=sub).update(batch_until=None, next_attempt_at=timezone.now())
    officials = list(Official.objects.order_by("id").values_list("id", flat=True)[:EVENTS])
    with transaction.atomic():
        Official.objects.filter(pk__in=officials).update(position="Director", updated_at=timezone.now())
    wait_for_bound()
    while dispatch.dispatch_subscription(sub.pk)[1]:
        pass
    bodies = [
        (sender.body_of(d.payload), d.event, str(d.event_id))
        for d in WebhookDelivery.objects.filter(subscription=sub, status="pending").order_by("id")
    ]
    events = len(bodies)
    started = time.monotonic()
    while (
        sender.send_due(sub.pk, batch=500) is not None
        or WebhookDelivery.objects.filter(
            subscription=sub, status="pending", next_attempt_at__lte=timezone.now()
        ).exists()
    ):
        pass
    portal_seconds = time.monotonic() - started
    assert not WebhookDelivery.objects.filter(subscription=sub, status="pending").exists()

    pool = urllib3.HTTPConnectionPool("127.0.0.1", receiver.port, maxsize=1)
    started = time.monotonic()
    for body, event, event_id in bodies:
        ts = str(int(time.time()))
        response = pool.urlopen(
            "POST",
            "/hook",
            body=body,
            headers={
                "Content-Type": "application/json",
                "PCP-Webhook-Id": event_id,
                "PCP-Webhook-Event": event,
                "PCP-Webhook-Timestamp": ts,
                "PCP-Webhook-Signature": sender.signature(sub.secret, ts, body),
            },
        )
        assert response.status == 200
    baseline_seconds = time.monotonic() - started

    now = datetime.datetime.now(datetime.UTC)
    batches = f"{len(batch_queries)} batches of {settings.PCP_WEBHOOK_DISPATCH_BATCH}"
    rows = [
        (
            "attendance changes committed (100 sessions, one transaction each)",
            f"{changed:,} in {write_seconds:.1f} s",
        ),
        ("`attendance.changed` requests per session per window per subscription", f"max {max(per_session)}"),
        (f"dispatch of the changes ({batches})", f"{dispatch_seconds:.2f} s"),
        ("SQL queries per dispatch batch (every batch)", str(statistics.mode(batch_queries))),
        ("deliveries sent by the portal (signed, checked address, result saved)", f"{events:,}"),
        ("portal delivery throughput", f"{events / portal_seconds:,.0f} events/s"),
        (
            "baseline: same bodies, bare urllib3 loop, one kept-alive connection",
            f"{events / baseline_seconds:,.0f} events/s",
        ),
        ("portal / baseline", f"{baseline_seconds / portal_seconds:.2f}"),
    ]
    print(f"\n### Webhooks — {now:%a %d %b %Y %H:%M} UTC, {os.cpu_count()} cores\n")
    print("| measure | value |\n| --- | ---: |")
    for measure, value in rows:
        print(f"| {measure} | {value} |")
    receiver.server.shutdown()


if __name__ == "__main__":
    main()
