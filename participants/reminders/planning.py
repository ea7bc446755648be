"""What is due and who gets it: the dispatcher that writes the ledger rows of due reminders and
queues what is to be sent, the rows a target (session, kind, key) is missing, and the preview."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterable, Sequence

from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from courses.models import REMINDER_MAX_OFFSET_HOURS, Session
from participants.models import Enrollment, Official
from participants.reminders.ledger import (
    REASON_NO_EMAIL,
    REASON_OPTED_OUT,
    REASON_STARTED,
    Delivery,
    Kind,
    Status,
    claim_timeout,
    queue_after_commit,
    reminder_key,
)

BULK_BATCH = 2000
QUEUE_CHUNK = 5000
# Due (session, kind, key) per anti-join statement: 4 parameters each, far below SQLite's limit.
TARGET_CHUNK = 500

Target = tuple[int, int, str, str]  # (session id, course id, kind, key)


@dataclasses.dataclass
class DispatchResult:
    sessions: int = 0
    created: int = 0
    queued: int = 0
    expired: int = 0
    queued_ids: list[int] = dataclasses.field(default_factory=list)


def max_offset_hours() -> int:
    return REMINDER_MAX_OFFSET_HOURS


def due_reminders(now: datetime.datetime) -> list[tuple[int, int, str]]:
    """(session id, course id, key) for each session whose nearest reminder time has come."""
    horizon = now + datetime.timedelta(hours=max_offset_hours())
    rows = Session.objects.filter(
        status=Session.Status.SCHEDULED, starts_at__gt=now, starts_at__lte=horizon
    ).values_list("id", "course_id", "starts_at", "course__reminder_offsets_hours")
    due = []
    for session_id, course_id, starts_at, offsets in rows:
        passed = [h for h in (offsets or []) if starts_at - datetime.timedelta(hours=h) <= now]
        if passed:
            due.append((session_id, course_id, reminder_key(min(passed), starts_at)))
    return due


# Targets -----------------------------------------------------------------------------------------


def _missing_rows(targets: Sequence[Target]) -> Iterable[tuple]:
    """(official id, session id, kind, key, reachable, opted out at) for every active enrolment of each
    target's course that has no ledger row for that (session, kind, key) yet.

    An anti-join, not a comparison of counts: "3 rows, 3 enrolled" says nothing when one row is a
    withdrawn official's and one enrolled official has none. One statement per TARGET_CHUNK targets.
    """
    ledger = Delivery._meta.db_table
    enrolment = Enrollment._meta.db_table
    official = Official._meta.db_table
    for start in range(0, len(targets), TARGET_CHUNK):
        chunk = targets[start : start + TARGET_CHUNK]
        values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
        sql = f"""
            WITH target (session_id, course_id, kind, key) AS (VALUES {values})
            SELECT e.official_id, t.session_id, t.kind, t.key,
                   (o.email <> '' OR o.telegram_chat_id IS NOT NULL), o.reminders_opt_out_at
              FROM target t
              JOIN {enrolment} e ON e.course_id = t.course_id AND e.status = %s
              JOIN {official} o ON o.id = e.official_id
             WHERE NOT EXISTS (
                   SELECT 1 FROM {ledger} r
                    WHERE r.official_id = e.official_id AND r.session_id = t.session_id
                      AND r.kind = t.kind AND r.key = t.key)
        """
        params = [value for target in chunk for value in target] + [Enrollment.Status.ENROLLED]
        with db_connection.cursor() as cursor:
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(BULK_BATCH):
                yield from batch


def write_missing_rows(targets: Sequence[Target], *, skip_reason: str = "") -> int:
    """Write the missing ledger rows for these targets; returns how many. Batched.

    With `skip_reason` every row is written already skipped for that reason (a change notice
    covering a reminder); otherwise pending, or skipped when the official cannot be written to.
    """
    if not targets:
        return 0
    rows = []
    for official_id, session_id, kind, key, reachable, opted_out in _missing_rows(targets):
        if skip_reason:
            status, reason = Status.SKIPPED, skip_reason
        elif not reachable:
            status, reason = Status.SKIPPED, REASON_NO_EMAIL
        elif opted_out:
            status, reason = Status.SKIPPED, REASON_OPTED_OUT
        else:
            status, reason = Status.PENDING, ""
        rows.append(
            Delivery(
                official_id=official_id,
                session_id=session_id,
                kind=kind,
                key=key,
                status=status,
                reason=reason,
            )
        )
    # ON CONFLICT DO NOTHING: a second dispatcher that wrote the same rows meanwhile is a no-op.
    Delivery.objects.bulk_create(rows, batch_size=BULK_BATCH, ignore_conflicts=True)
    return len(rows)


# Dispatch ----------------------------------------------------------------------------------------


def dispatch(
    *, now: datetime.datetime | None = None, enqueue: Callable[[list[int]], object] | None = None
) -> DispatchResult:
    """Record every due reminder in the ledger and queue what is to be sent, in batches. Idempotent."""
    now = now or timezone.now()
    result = DispatchResult()
    with transaction.atomic():
        due = due_reminders(now)
        result.sessions = len(due)
        result.created = write_missing_rows([(s, c, Kind.REMINDER, key) for s, c, key in due])
        # Rows of sessions that started meanwhile — new, or waiting for a retry — are closed, not
        # sent late.
        result.expired = Delivery.objects.filter(status=Status.PENDING, session__starts_at__lte=now).update(
            status=Status.SKIPPED, reason=REASON_STARTED, next_attempt_at=None
        )
        ids = _take_queueable(now)
    result.queued_ids = ids
    result.queued = len(ids)
    queue_after_commit(ids, enqueue)
    return result


def _take_queueable(now: datetime.datetime) -> list[int]:
    """Rows to (re-)queue: pending and not queued (new, or their back-off has passed), queued long
    ago (the task was lost), and claims that expired (the worker died)."""
    stale = now - claim_timeout()
    ids = list(
        Delivery.objects.filter(
            Q(status=Status.PENDING, queued_at__isnull=True, next_attempt_at__isnull=True)
            | Q(status=Status.PENDING, queued_at__isnull=True, next_attempt_at__lte=now)
            | Q(status=Status.PENDING, queued_at__lt=stale)
            | Q(status=Status.SENDING, claimed_at__lt=stale)
        )
        .order_by("session_id", "id")
        .values_list("id", flat=True)
    )
    for start in range(0, len(ids), QUEUE_CHUNK):
        Delivery.objects.filter(id__in=ids[start : start + QUEUE_CHUNK]).update(queued_at=now)
    return ids


# Preview (the preview_reminders command) ---------------------------------------------------------


@dataclasses.dataclass
class PlannedReminder:
    session: Session
    offset_hours: int
    send_at: datetime.datetime
    recipients: int
    skipped: int
    already_recorded: bool


def preview(*, now: datetime.datetime | None = None, hours: int = 72) -> tuple[list[PlannedReminder], list]:
    """The reminders due in the next `hours` (sends nothing), and sessions without a start time."""
    now = now or timezone.now()
    until = now + datetime.timedelta(hours=hours)
    sessions = list(
        Session.objects.filter(
            status=Session.Status.SCHEDULED,
            starts_at__gt=now,
            starts_at__lte=until + datetime.timedelta(hours=max_offset_hours()),
        ).select_related("course")
    )
    counts = {
        row["course_id"]: row
        for row in Enrollment.objects.filter(
            course_id__in={s.course_id for s in sessions}, status=Enrollment.Status.ENROLLED
        )
        .values("course_id")
        .annotate(
            n=Count("id"),
            unreachable=Count(
                "id",
                filter=Q(official__email="", official__telegram_chat_id__isnull=True)
                | Q(official__reminders_opt_out_at__isnull=False),
            ),
        )
    }
    recorded = set(
        Delivery.objects.filter(session__in=sessions, kind=Kind.REMINDER)
        .values_list("session_id", "key")
        .distinct()
    )
    plan = []
    for session in sessions:
        offsets = sorted(session.course.reminder_offsets_hours or [], reverse=True)
        for h in offsets:
            send_at = max(session.starts_at - datetime.timedelta(hours=h), now)
            if any(session.starts_at - datetime.timedelta(hours=k) <= now for k in offsets if k < h):
                continue  # superseded: the dispatcher catches up with the nearest reminder only
            if send_at > until:
                continue
            row = counts.get(session.course_id, {"n": 0, "unreachable": 0})
            plan.append(
                PlannedReminder(
                    session=session,
                    offset_hours=h,
                    send_at=send_at,
                    recipients=row["n"] - row["unreachable"],
                    skipped=row["unreachable"],
                    already_recorded=(session.pk, reminder_key(h, session.starts_at)) in recorded,
                )
            )
    plan.sort(key=lambda p: (p.send_at, p.session.pk))
    without_start = list(
        Session.objects.filter(status=Session.Status.SCHEDULED, starts_at__isnull=True).select_related(
            "course"
        )
    )
    return plan, without_start
