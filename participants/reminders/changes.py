"""Changes to a session after reminders went out: one update or cancellation per official, and the
reminders of the new time that the notice stands in for."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from courses.models import Session
from participants.reminders.ledger import (
    REASON_COVERED_BY_NOTICE,
    REASON_MOVED,
    Delivery,
    Kind,
    Status,
    queue_after_commit,
    reminder_key,
    schedule_fingerprint,
    start_stamp,
)
from participants.reminders.planning import write_missing_rows
from pcp_portal import outbox


def on_session_changed(sender, *, session: Session, previous: dict | None, **kwargs) -> None:
    """Receiver of courses.signals.session_changed (connected in ParticipantsConfig.ready)."""
    session_saved(session=session, previous=previous)


def session_saved(*, session: Session, previous: dict | None) -> None:
    """Runs after courses.services saves or cancels a session (inside its transaction).

    Queues `notify_session_change` after commit when the schedule or the status changed and a
    message about the session already went out; the task reads the session as it then is.
    """
    if previous is None:
        return
    changed = any(previous.get(f) != getattr(session, f) for f in ("starts_at", "ends_at", "venue", "status"))
    if not changed:
        return
    if not Delivery.objects.filter(session_id=session.pk, status=Status.SENT).exists():
        return
    # In the outbox, with the change: if the broker is down after the commit, the relay hands it
    # over later, and a rolled-back change queues nothing.
    outbox.enqueue("participants.tasks.notify_session_change", session.pk)


def notify_change(*, session_id: int, enqueue: Callable[[list[int]], object] | None = None) -> int:
    """One update or cancellation per enrolled official per change; returns rows queued. Idempotent."""
    now = timezone.now()
    with transaction.atomic():
        session = Session.objects.select_related("course").filter(pk=session_id).first()
        if session is None or session.starts_at is None or session.starts_at <= now:
            return 0
        if not Delivery.objects.filter(session_id=session_id, status=Status.SENT).exists():
            return 0
        if session.is_cancelled:
            kind, key = Kind.CANCELLATION, "cancel"
        else:
            kind, key = Kind.UPDATE, schedule_fingerprint(session)
        write_missing_rows([(session.pk, session.course_id, kind, key)])
        # Reminders computed for the old start time will never be sent now.
        Delivery.objects.filter(session_id=session_id, kind=Kind.REMINDER, status=Status.PENDING).exclude(
            key__endswith="@" + start_stamp(session.starts_at)
        ).update(status=Status.SKIPPED, reason=REASON_MOVED, next_attempt_at=None)
        if kind == Kind.UPDATE:
            _cover_with_notice(session, now)
        ids = list(
            Delivery.objects.filter(
                session_id=session_id, kind=kind, key=key, status=Status.PENDING, queued_at__isnull=True
            ).values_list("id", flat=True)
        )
        Delivery.objects.filter(id__in=ids).update(queued_at=now)
    queue_after_commit(ids, enqueue)
    return len(ids)


def _cover_with_notice(session: Session, now: datetime.datetime) -> None:
    """The change notice carries the new time, place and calendar entry: reminders of the new time
    falling due within REMINDER_NOTICE_SUPERSEDES_HOURS of it would only repeat it (a "48 hours
    before" seconds after "moved to tomorrow"). Record them as skipped — new rows, and pending
    ones the dispatcher made meanwhile — so the dispatcher's anti-join finds nothing to send.
    Officials enrolled after the notice have no notice row and still get their reminder.
    """
    window_end = now + datetime.timedelta(hours=settings.REMINDER_NOTICE_SUPERSEDES_HOURS)
    keys = [
        reminder_key(h, session.starts_at)
        for h in session.course.reminder_offsets_hours or []
        if session.starts_at - datetime.timedelta(hours=h) <= window_end
    ]
    if not keys:
        return
    Delivery.objects.filter(
        session_id=session.pk, kind=Kind.REMINDER, key__in=keys, status=Status.PENDING
    ).update(status=Status.SKIPPED, reason=REASON_COVERED_BY_NOTICE, next_attempt_at=None)
    write_missing_rows(
        [(session.pk, session.course_id, Kind.REMINDER, key) for key in keys],
        skip_reason=REASON_COVERED_BY_NOTICE,
    )
