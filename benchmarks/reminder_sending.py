"""Reminder sending: messages per second with a connection per message against one per batch.

    DATABASE_URL=postgres://…/pcp_bench_sending .venv/bin/python -m benchmarks.reminder_sending

Builds (in a database of its own: it writes) one course with BENCH_MESSAGES (default 5,000)
enrolled officials and a session 30 hours away, and dispatches its 48-hour reminder: that many
pending ledger rows. An SMTP server (aiosmtpd, in a process of its own, on loopback) accepts and
counts every message. Then, BENCH_ROUNDS times (default 3), the order alternating from round to
round, each side sends every row from pending, in this process (the broker is not measured):

* per message: `reminders.deliver(id)` for each row — a batch of one on a connection of its own,
  which is what the one-row-per-task `send_delivery` did before batches (connect, EHLO, MAIL,
  RCPT, DATA, QUIT for every message);
* batched: `reminders.deliver_batch(ids)` for each REMINDER_SEND_BATCH_SIZE (default 50) rows —
  what one `send_deliveries` task does: one connection for the batch, the claim, the checks and
  the outcome still per row.

* before: the code as it was before batches (BENCH_BEFORE_REF, default e219ee5, checked out
  by `git worktree` into var/ and run in a child process on the same database and server):
  `reminders.deliver(id)` for each row, as its one-row `send_delivery` task did. Left out when
  BENCH_BEFORE_REF is empty.

"per message" and "batched" run the same claim, checks, rendering and recording; "before" is
the old code entire. The run asserts that every row ends sent and that the server accepted
exactly one message per row on each side, then prints a Markdown table of medians
(messages/s, connections) and the ratios, for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from benchmarks import django_setup  # noqa: F401 - sets Django up before the apps are imported
from courses.models import Course, Programme, Project, Session
from ministries.models import Ministry
from participants import reminders
from participants.models import Enrollment, Official, ReminderDelivery

MESSAGES = int(os.environ.get("BENCH_MESSAGES", 5000))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
BEFORE_REF = os.environ.get("BENCH_BEFORE_REF", "e219ee5")
REPO = Path(__file__).resolve().parents[1]
BEFORE_TREE = REPO / "var" / "bench-before-tree"

# The "before" side, run inside the old tree: the old deliver(), one row at a time.
BEFORE = r"""
import os, sys, time
import django
django.setup()
from participants import reminders
ids = [int(i) for i in open(sys.argv[1]).read().split()]
started = time.perf_counter()
for delivery_id in ids:
    assert reminders.deliver(delivery_id).outcome == reminders.Outcome.SENT
print(time.perf_counter() - started)
"""

# The SMTP server: aiosmtpd in its own process, so it does not share this one's interpreter lock.
# It counts messages and connections and prints both when it is told to stop (SIGTERM).
SERVER = r"""
import asyncio, signal, sys
from aiosmtpd.controller import Controller

class Counting:
    messages = 0
    connections = 0
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1  # smtplib says EHLO once per connection
        session.host_name = hostname
        return responses
    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        return "250 2.0.0 Accepted"

signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})  # for sigwait below
handler = Counting()
controller = Controller(handler, hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
controller.stop()
print(handler.messages, handler.connections, flush=True)
"""


class Server:
    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(self.port)], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def stop(self) -> tuple[int, int]:
        """(messages accepted, connections opened) since start()."""
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        messages, connections = out.split()
        return int(messages), int(connections)


def _setup(port: int) -> None:
    """Point the mailer at the benchmark's SMTP server (its port is known only now) and migrate."""
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    if not os.environ.get("PORTAL_BASE_URL"):
        settings.PORTAL_BASE_URL = "https://pcp.example.org"
    call_command("migrate", verbosity=0)


def _build() -> list[int]:
    """The ledger rows to send, made by the dispatcher itself: the course's 48-hour reminder."""
    import datetime

    marker = f"Sending benchmark {MESSAGES}"
    course = Course.objects.filter(title=marker).first()
    if course is None:
        with transaction.atomic():
            ministry, _ = Ministry.objects.get_or_create(
                code="bench-send", defaults={"name_en": "Benchmark ministry", "acronym": "BEN"}
            )
            programme = Programme.objects.create(
                name="Bench", country="Cambodia", start_year=2018, end_year=2023
            )
            project = Project.objects.create(programme=programme, title="Bench project")
            course = Course.objects.create(project=project, number=1, title=marker)
            officials = Official.objects.bulk_create(
                [
                    Official(
                        family_name=f"Send{MESSAGES}-{i}",
                        given_name="Dara",
                        name_km="ដារា",
                        ministry=ministry,
                        email=f"send{MESSAGES}-{i}@example.gov.kh",
                        preferred_language="km" if i % 3 else "en",
                    )
                    for i in range(MESSAGES)
                ],
                batch_size=5000,
            )
            Enrollment.objects.bulk_create(
                [
                    Enrollment(
                        official=official,
                        course=course,
                        enrolled_on=timezone.localdate(),
                        ministry=ministry,
                        ministry_name_en=ministry.name_en,
                    )
                    for official in officials
                ],
                batch_size=5000,
            )
    starts = timezone.now() + datetime.timedelta(hours=30)
    Session.objects.filter(course=course).delete()
    session = Session.objects.create(
        course=course,
        title="Benchmark session",
        venue="Phnom Penh",
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=3),
    )
    ReminderDelivery.objects.filter(session__course=course).delete()
    result = reminders.dispatch(enqueue=lambda _ids: None)
    assert result.created == MESSAGES, result
    return list(ReminderDelivery.objects.filter(session=session).order_by("id").values_list("id", flat=True))


def _reset(ids: list[int]) -> None:
    ReminderDelivery.objects.filter(id__in=ids).update(
        status="pending", attempts=0, sent_at=None, claim_token="", claimed_at=None, reason=""
    )


def _per_message(ids: list[int]) -> None:
    for delivery_id in ids:
        assert reminders.deliver(delivery_id).outcome == reminders.Outcome.SENT


def _batched(ids: list[int]) -> None:
    size = settings.REMINDER_SEND_BATCH_SIZE
    for start in range(0, len(ids), size):
        results = reminders.deliver_batch(ids[start : start + size])
        assert {r.outcome for r in results.values()} == {reminders.Outcome.SENT}


def _before_tree() -> Path:
    """A checkout of BEFORE_REF beside this one (made once), sharing this virtualenv."""
    if not (BEFORE_TREE / "manage.py").exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(BEFORE_TREE), BEFORE_REF], cwd=REPO, check=True
        )
    venv = BEFORE_TREE / ".venv"
    if not venv.exists():
        venv.symlink_to(REPO / ".venv")
    return BEFORE_TREE


def _before(ids: list[int]) -> float:
    """The old code in a child process; returns its own timing of the sending loop (no start-up)."""
    ids_file = REPO / "var" / "bench-before-ids.txt"
    ids_file.write_text(" ".join(map(str, ids)))
    done = subprocess.run(
        [sys.executable, "-c", BEFORE, str(ids_file)],
        cwd=_before_tree(),
        env={
            **os.environ,
            "PYTHONPATH": str(BEFORE_TREE),
            "EMAIL_HOST": settings.EMAIL_HOST,
            "EMAIL_PORT": str(settings.EMAIL_PORT),
            "PORTAL_BASE_URL": settings.PORTAL_BASE_URL,
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.split()[-1])


SIDES = {"per message": _per_message, "batched": _batched}
if BEFORE_REF:
    SIDES = {f"before ({BEFORE_REF})": _before, **SIDES}


def main() -> None:
    server = Server()
    _setup(server.port)

    if connection.vendor != "postgresql":
        print("note: not PostgreSQL; figures are not comparable with RESULTS.md", file=sys.stderr)
    ids = _build()
    runs: dict[str, list[dict]] = {side: [] for side in SIDES}
    for round_no in range(ROUNDS):
        order = list(SIDES) if round_no % 2 == 0 else list(reversed(SIDES))
        for side in order:
            _reset(ids)
            server.start()
            started = time.perf_counter()
            own_timing = SIDES[side](ids)
            elapsed = own_timing if own_timing is not None else time.perf_counter() - started
            accepted, connections = server.stop()
            assert accepted == len(ids), (side, accepted)
            assert set(ReminderDelivery.objects.filter(id__in=ids).values_list("status", flat=True)) == {
                "sent"
            }
            runs[side].append({"time": elapsed, "rate": len(ids) / elapsed, "connections": connections})
            print(
                f"round {round_no + 1} {side}: {elapsed:.1f} s, {len(ids) / elapsed:.1f} msg/s",
                file=sys.stderr,
            )
    _reset(ids)

    def median(side, field):
        return statistics.median(r[field] for r in runs[side])

    print(
        f"{len(ids):,} messages a side, {ROUNDS} rounds, order alternating; medians. "
        f"REMINDER_SEND_BATCH_SIZE={settings.REMINDER_SEND_BATCH_SIZE}."
    )
    print()
    print("| side | messages | time (median) | messages/s (median) | SMTP connections |")
    print("| --- | --- | --- | --- | --- |")
    for side in SIDES:
        print(
            f"| {side} | {len(ids):,} | {median(side, 'time'):.1f} s | {median(side, 'rate'):.1f} "
            f"| {median(side, 'connections'):,.0f} |"
        )
    print()
    for other in [side for side in SIDES if side != "batched"]:
        ratios = [b["rate"] / o["rate"] for b, o in zip(runs["batched"], runs[other], strict=True)]
        print(
            f"batched / {other}, messages/s: {median('batched', 'rate') / median(other, 'rate'):.2f} "
            f"(round by round {', '.join(f'{x:.2f}' for x in ratios)})"
        )


if __name__ == "__main__":
    main()
