"""Course reminders: find what is due, record it in the ledger, claim it, send it, complete it.

The flow, and who relies on what:

* `dispatch()` runs from Celery beat every few minutes (participants.tasks.dispatch_reminders).
  It finds sessions whose reminder time has come (Course.reminder_offsets_hours, default 48 h
  and 2 h before the start) and that have not started, and writes one ReminderDelivery row per
  enrolled, not-withdrawn official who has none yet for that reminder: an anti-join (NOT
  EXISTS) against the ledger picks exactly the missing (official, session, kind, key), so an
  official enrolled late gets the reminder whoever withdrew meanwhile, and the bulk INSERT …
  ON CONFLICT DO NOTHING with the ledger's unique constraint makes a second dispatcher, or the
  same one run twice, a no-op. It then queues the rows to send, by id, in batches. A dispatcher
  that was down catches up: for each session only the nearest due reminder is made (the 48 h
  one is not sent 1 hour before), and nothing is made for a session that already started.
* Tasks are never parked in the broker with a countdown: Redis re-delivers a message not
  acknowledged within its visibility timeout, a classic cause of duplicate e-mails. The
  dispatcher finds due work in the database instead: new rows, rows whose back-off after a
  transient failure has passed (`next_attempt_at`), rows whose task was lost (queued long ago)
  and rows whose worker died (a claim older than REMINDER_CLAIM_TIMEOUT_SECONDS).
* `deliver_batch()` (one `send_deliveries` task, REMINDER_SEND_BATCH_SIZE rows) claims its rows
  with one conditional UPDATE (each row on its own condition: pending, or sending with an
  expired claim → sending, with the batch's fresh token; a row another worker holds is simply
  not won), reads them back with what may have changed since dispatch, opens ONE SMTP
  connection, and row by row either records why it is not sent (see "Checked again at the
  claim") or sends it and records that row's outcome at once (sent, retry later, failed) where
  the token still matches. A dropped connection is reopened and the row tried once more on the
  new one; when the server cannot be reached the rest of the batch is recorded as a transient
  failure without knocking on the door again. A worker killed mid-batch leaves the rest of its
  batch claimed: the dispatcher queues it again after REMINDER_CLAIM_TIMEOUT_SECONDS.

Checked again at the claim. A row was written when its reminder fell due; by the time a worker
holds it the official may have withdrawn or opted out, the session may have been cancelled or
moved (a reminder's key names the start time it was computed for). The worker checks these on
the rows it has just won, read once for the batch right after the claim and before any message
is built, and marks a row skipped with one of the REASON_* texts below (staff read them on the
session page, in their language). A change committed while the batch is being sent (well under a
second for 50 messages on a healthy server) is not seen by that batch.

The SMTP gap — which side we chose: AT LEAST ONCE.
Between the mail server accepting the message (250 after DATA) and our UPDATE marking the row
sent there is a gap no program can close. A worker killed inside it leaves the row claimed
but not sent; after REMINDER_CLAIM_TIMEOUT_SECONDS the dispatcher re-queues it and the
message goes out again. We prefer a rare duplicate to a silently missing reminder (a missed
session costs more than a second e-mail), and we make the duplicate harmless: every attempt of
one row carries the same Message-ID (<reminder-<row id>@host>), which mail stores and clients
use to fold duplicates. The gap is a few milliseconds wide; a kill anywhere else (before the
claim, while connecting, during RCPT, …) sends exactly once. tests/reminders/test_delivery.py
test_a_worker_dying_after_the_server_accepted_sends_again_with_the_same_message_id states it.

Mail-server failures: 4xx replies and connection errors are transient. The row goes back to
pending with the error as its reason and `next_attempt_at` after an exponential back-off
(REMINDER_RETRY_BACKOFF_SECONDS, doubled each try, capped at
REMINDER_RETRY_BACKOFF_MAX_SECONDS); the dispatcher queues it again once that time has passed,
for as long as the reminder is useful: when the session starts the row is closed as skipped
(REASON_STARTED). An outage of any length therefore loses nothing that can still be read in
time. 5xx replies are permanent: the row says failed and why; staff see it on the session page
and send it again, one row or all failed rows of a session or a course at once.

Changes after reminders went out: moving or cancelling a session sends one update or
cancellation per official (`notify_change`). A change notice also stands in for every reminder
of the new time that falls due within REMINDER_NOTICE_SUPERSEDES_HOURS after it: those are
written to the ledger as skipped (REASON_COVERED_BY_NOTICE), so a moved session does not send
"the session moved" and, seconds later, "48 hours before".
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import logging
import smtplib
import socket
import uuid
from collections.abc import Callable, Iterable, Sequence

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.db.models import Count, Exists, F, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from courses.models import REMINDER_MAX_OFFSET_HOURS, Session
from participants.models import Enrollment, Official, ReminderDelivery
from pcp_portal import outbox

logger = logging.getLogger(__name__)

Delivery = ReminderDelivery
Status = ReminderDelivery.Status
Kind = ReminderDelivery.Kind

OPT_OUT_SALT = "participants.reminders.opt-out"
BULK_BATCH = 2000
QUEUE_CHUNK = 5000
# Due (session, kind, key) per anti-join statement: 4 parameters each, far below SQLite's limit.
TARGET_CHUNK = 500

# Why a ledger row was not sent. Stored in English in the row (a log a developer greps), shown to
# staff translated: gettext_noop marks them for the catalogue, reason_display() translates.
REASON_NO_EMAIL = gettext_noop("The official has no e-mail address.")
REASON_OPTED_OUT = gettext_noop("The official opted out of e-mail reminders.")
REASON_WITHDRAWN = gettext_noop("The official withdrew from the course.")
REASON_STARTED = gettext_noop("The session had already started.")
REASON_CANCELLED = gettext_noop("The session was cancelled.")
REASON_MOVED = gettext_noop("The session was moved.")
REASON_NO_START = gettext_noop("The session has no start time.")
REASON_COVERED_BY_NOTICE = gettext_noop("Covered by the change notice.")
REASONS = frozenset(
    {
        REASON_NO_EMAIL,
        REASON_OPTED_OUT,
        REASON_WITHDRAWN,
        REASON_STARTED,
        REASON_CANCELLED,
        REASON_MOVED,
        REASON_NO_START,
        REASON_COVERED_BY_NOTICE,
    }
)


def reason_display(reason: str) -> str:
    """A row's reason for staff: ours translated, a mail server's reply as the server wrote it."""
    return _(reason) if reason in REASONS else reason


def _claim_timeout() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT_SECONDS)


# Keys --------------------------------------------------------------------------------------------


def _start_stamp(starts_at: datetime.datetime) -> str:
    return f"{starts_at.astimezone(datetime.UTC):%Y%m%d%H%M}"


def reminder_key(offset_hours: int, starts_at: datetime.datetime) -> str:
    """A reminder is for one offset before one start time: a moved session gets its reminders anew."""
    return f"{offset_hours}h@{_start_stamp(starts_at)}"


def schedule_fingerprint(session: Session) -> str:
    parts = [
        session.starts_at.isoformat() if session.starts_at else "",
        session.ends_at.isoformat() if session.ends_at else "",
        session.venue,
        session.updated_at.isoformat() if session.updated_at else "",
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


# Dispatch ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class DispatchResult:
    sessions: int = 0
    created: int = 0
    queued: int = 0
    expired: int = 0
    queued_ids: list[int] = dataclasses.field(default_factory=list)


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


def max_offset_hours() -> int:
    return REMINDER_MAX_OFFSET_HOURS


Target = tuple[int, int, str, str]  # (session id, course id, kind, key)


def _missing_rows(targets: Sequence[Target]) -> Iterable[tuple]:
    """(official id, session id, kind, key, e-mail, opted out at) for every active enrolment of each
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
            SELECT e.official_id, t.session_id, t.kind, t.key, o.email, o.reminders_opt_out_at
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


def _ledger_rows(targets: Sequence[Target], *, skip_reason: str = "") -> int:
    """Write the missing ledger rows for these targets; returns how many. Batched.

    With `skip_reason` every row is written already skipped for that reason (a change notice
    covering a reminder); otherwise pending, or skipped when the official cannot be written to.
    """
    if not targets:
        return 0
    rows = []
    for official_id, session_id, kind, key, email, opted_out in _missing_rows(targets):
        if skip_reason:
            status, reason = Status.SKIPPED, skip_reason
        elif not email:
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


def dispatch(
    *, now: datetime.datetime | None = None, enqueue: Callable[[list[int]], object] | None = None
) -> DispatchResult:
    """Record every due reminder in the ledger and queue what is to be sent, in batches. Idempotent."""
    now = now or timezone.now()
    result = DispatchResult()
    with transaction.atomic():
        due = due_reminders(now)
        result.sessions = len(due)
        result.created = _ledger_rows([(s, c, Kind.REMINDER, key) for s, c, key in due])
        # Rows of sessions that started meanwhile — new, or waiting for a retry — are closed, not
        # sent late.
        result.expired = Delivery.objects.filter(status=Status.PENDING, session__starts_at__lte=now).update(
            status=Status.SKIPPED, reason=REASON_STARTED, next_attempt_at=None
        )
        ids = _take_queueable(now)
    result.queued_ids = ids
    result.queued = len(ids)
    _enqueue_after_commit(ids, enqueue)
    return result


def _take_queueable(now: datetime.datetime) -> list[int]:
    """Rows to (re-)queue: pending and not queued (new, or their back-off has passed), queued long
    ago (the task was lost), and claims that expired (the worker died)."""
    stale = now - _claim_timeout()
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


def _enqueue_after_commit(ids: list[int], enqueue: Callable[[list[int]], object] | None) -> None:
    """The one place that hands rows to the workers: REMINDER_SEND_BATCH_SIZE ids a task, after commit.

    `enqueue` takes one batch (a list of ids); tests and benchmarks pass their own.
    """
    if not ids:
        return
    size = settings.REMINDER_SEND_BATCH_SIZE
    batches = [ids[start : start + size] for start in range(0, len(ids), size)]
    if enqueue is None:
        # Through the outbox, like every task the portal queues: a broker that is down when this
        # commits delays the sending, it never loses it (nor fails the request that asked for it).
        outbox.enqueue_many("participants.tasks.send_deliveries", [[batch] for batch in batches])
        return

    def publish() -> None:
        for batch in batches:
            enqueue(batch)

    transaction.on_commit(publish)


# Changes to a session after reminders went out ---------------------------------------------------


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
        _ledger_rows([(session.pk, session.course_id, kind, key)])
        # Reminders computed for the old start time will never be sent now.
        Delivery.objects.filter(session_id=session_id, kind=Kind.REMINDER, status=Status.PENDING).exclude(
            key__endswith="@" + _start_stamp(session.starts_at)
        ).update(status=Status.SKIPPED, reason=REASON_MOVED, next_attempt_at=None)
        if kind == Kind.UPDATE:
            _cover_with_notice(session, now)
        ids = list(
            Delivery.objects.filter(
                session_id=session_id, kind=kind, key=key, status=Status.PENDING, queued_at__isnull=True
            ).values_list("id", flat=True)
        )
        Delivery.objects.filter(id__in=ids).update(queued_at=now)
    _enqueue_after_commit(ids, enqueue)
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
    _ledger_rows(
        [(session.pk, session.course_id, Kind.REMINDER, key) for key in keys],
        skip_reason=REASON_COVERED_BY_NOTICE,
    )


# Claim, check, send, complete --------------------------------------------------------------------


class Outcome:
    SENT = "sent"
    SKIPPED = "skipped"
    NOT_CLAIMED = "not claimed"
    RETRY = "retry"
    FAILED = "failed"


@dataclasses.dataclass
class DeliverResult:
    outcome: str
    retry_in: float = 0.0
    detail: str = ""


def claim_batch(delivery_ids: Sequence[int], *, now: datetime.datetime | None = None) -> str | None:
    """Take for this worker every row of the batch nobody else holds: one conditional UPDATE.

    Each row is won on its own condition (pending, or sending with an expired claim → sending);
    the rows won carry the returned token, so each is recorded only by this worker. None when
    none was won.
    """
    now = now or timezone.now()
    token = uuid.uuid4().hex
    won = (
        Delivery.objects.filter(pk__in=list(delivery_ids))
        .filter(Q(status=Status.PENDING) | Q(status=Status.SENDING, claimed_at__lt=now - _claim_timeout()))
        .update(status=Status.SENDING, claimed_at=now, claim_token=token, attempts=F("attempts") + 1)
    )
    return token if won else None


def claim(delivery_id: int, *, now: datetime.datetime | None = None) -> str | None:
    """Take one row for this worker; returns the claim token or None."""
    return claim_batch([delivery_id], now=now)


def _finish(delivery_id: int, token: str, **fields) -> bool:
    return (
        Delivery.objects.filter(pk=delivery_id, status=Status.SENDING, claim_token=token).update(**fields)
        == 1
    )


def _claimed_rows(token: str) -> list[ReminderDelivery]:
    """The rows this claim won, read after the claim with everything the checks need (one query)."""
    enrolled = Enrollment.objects.filter(
        official_id=OuterRef("official_id"),
        course_id=OuterRef("session__course_id"),
        status=Enrollment.Status.ENROLLED,
    )
    return list(
        Delivery.objects.filter(status=Status.SENDING, claim_token=token)
        .select_related("official", "session", "session__course")
        .annotate(enrolled=Exists(enrolled))
        .order_by("id")
    )


def skip_reason(delivery: ReminderDelivery, now: datetime.datetime) -> str:
    """Why this claimed row must not be sent now ("" to send): what changed since it was written."""
    official, session = delivery.official, delivery.session
    if not official.email:
        return REASON_NO_EMAIL
    if official.reminders_opt_out_at:
        return REASON_OPTED_OUT
    if not delivery.enrolled:
        return REASON_WITHDRAWN
    if session.starts_at is None:
        return REASON_NO_START
    if session.starts_at <= now:
        return REASON_STARTED
    if session.is_cancelled and delivery.kind != Kind.CANCELLATION:
        return REASON_CANCELLED
    if delivery.kind == Kind.REMINDER and delivery.key.rpartition("@")[2] != _start_stamp(session.starts_at):
        return REASON_MOVED
    return ""


def classify_smtp_error(exc: BaseException) -> tuple[bool, str]:
    """(transient?, reason): 4xx replies and connection trouble are transient, 5xx permanent."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        reason = "; ".join(
            f"{addr}: {code} {msg.decode(errors='replace')}" for addr, (code, msg) in exc.recipients.items()
        )
        return all(400 <= c < 500 for c in codes), f"Recipient refused: {reason}"
    if isinstance(exc, smtplib.SMTPResponseException):
        message = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        return 400 <= exc.smtp_code < 500, f"Mail server replied {exc.smtp_code} {message}"
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | socket.timeout | OSError):
        return True, f"Could not talk to the mail server: {exc.__class__.__name__}: {exc}"
    return False, f"{exc.__class__.__name__}: {exc}"


def backoff_seconds(attempts: int) -> float:
    """Exponential back-off after the n-th failed try, capped."""
    base = settings.REMINDER_RETRY_BACKOFF_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), settings.REMINDER_RETRY_BACKOFF_MAX_SECONDS)


# A reply from the server (4xx/5xx) leaves the conversation usable; anything else OSError-like
# (smtplib's exceptions are OSErrors too) means the connection is gone.
_REPLY_ERRORS = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)


class _Mailer:
    """One SMTP connection for a batch: opened at the first message, reopened once when the server
    dropped it (an idle timeout, a 421), and given up for the rest of the batch when even a fresh
    connection cannot be made, so an outage costs one connection attempt per batch, not per row."""

    def __init__(self, connection=None) -> None:
        self.connection = connection or get_connection()
        self.is_open = False
        self.down: BaseException | None = None

    def _open(self) -> None:
        try:
            self.connection.open()
        except OSError as exc:
            self.down = exc
            raise
        self.is_open = True

    def close(self) -> None:
        if self.is_open:
            try:
                self.connection.close()
            except OSError:
                logger.info("closing the SMTP connection failed", exc_info=True)
            self.is_open = False

    def send(self, message: EmailMultiAlternatives) -> None:
        if self.down is not None:
            raise self.down
        fresh = not self.is_open
        if fresh:
            self._open()
        try:
            self.connection.send_messages([message])
            return
        except _REPLY_ERRORS:
            raise
        except OSError as exc:
            self.close()
            if fresh:
                self.down = exc  # dropped on a connection opened just now: the server is unwell
                raise
            logger.info("the SMTP connection was dropped; opening a new one")
        self._open()
        try:
            self.connection.send_messages([message])
        except _REPLY_ERRORS:
            raise
        except OSError as exc:
            self.close()
            self.down = exc
            raise


def deliver_batch(delivery_ids: Sequence[int], *, connection=None) -> dict[int, DeliverResult]:
    """Claim the rows, check each again, send each over one connection, record each outcome at once.

    Safe to call any number of times with any ids: a row already sent, skipped, failed or held by
    another worker is NOT_CLAIMED. A failure of one row is that row's outcome; the others go on.
    """
    ids = list(dict.fromkeys(delivery_ids))
    results = {delivery_id: DeliverResult(Outcome.NOT_CLAIMED) for delivery_id in ids}
    with _without_waiting_for_the_disk():
        _deliver_batch(ids, results, connection)
    return results


@contextlib.contextmanager
def _without_waiting_for_the_disk():
    """PostgreSQL: the batch's own writes (the claim, each row's outcome) commit without waiting
    for the write-ahead log to reach the disk (synchronous_commit off, for this connection and
    only while the batch runs). Waiting cost more than building and sending the message.

    What it risks is what we already chose (module docstring, the SMTP gap): a crash of the
    database server itself can forget the last fraction of a second of such commits, so a row
    may be claimed or sent again, with the same Message-ID. Nothing else changes.
    """
    if db_connection.vendor != "postgresql":
        yield
        return
    with db_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            with db_connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:
            # The connection broke mid-batch: Django replaces it, and the setting goes with it.
            logger.warning("could not reset synchronous_commit", exc_info=True)


def _deliver_batch(ids: list[int], results: dict[int, DeliverResult], connection) -> None:
    token = claim_batch(ids)
    if token is None:
        return
    rows = _claimed_rows(token)
    mailer = _Mailer(connection)
    try:
        for position, row in enumerate(rows):
            try:
                results[row.pk] = _deliver_claimed(row, token, mailer)
            except Exception:
                # A soft time limit or a database error mid-batch: this row (whether the server
                # took it is unknown: at least once) and the rest go back to the dispatcher's next
                # beat instead of waiting for their claims to time out.
                Delivery.objects.filter(
                    pk__in=[r.pk for r in rows[position:]], status=Status.SENDING, claim_token=token
                ).update(status=Status.PENDING, queued_at=None, claim_token="")
                raise
    finally:
        mailer.close()


def _deliver_claimed(delivery: ReminderDelivery, token: str, mailer: _Mailer) -> DeliverResult:
    now = timezone.now()
    skip = skip_reason(delivery, now)
    if skip:
        _finish(delivery.pk, token, status=Status.SKIPPED, reason=skip, next_attempt_at=None)
        logger.info("reminder %s skipped: %s", delivery.pk, skip)
        return DeliverResult(Outcome.SKIPPED, detail=skip)
    official = delivery.official
    addressed = {"email": official.email, "language": official.preferred_language}
    try:
        mailer.send(build_message(delivery, connection=mailer.connection))
    except SoftTimeLimitExceeded:
        raise  # not the message's fault: deliver_batch hands the row back
    except Exception as exc:
        transient, reason = classify_smtp_error(exc)
        reason = reason[:500]
        if transient:
            # Tried again by the dispatcher once the back-off has passed, until the session starts.
            delay = backoff_seconds(delivery.attempts)
            _finish(
                delivery.pk,
                token,
                status=Status.PENDING,
                reason=reason,
                queued_at=None,
                next_attempt_at=timezone.now() + datetime.timedelta(seconds=delay),
                **addressed,
            )
            logger.warning("reminder %s: %s; next try in %ss", delivery.pk, reason, delay)
            return DeliverResult(Outcome.RETRY, retry_in=delay, detail=reason)
        _finish(delivery.pk, token, status=Status.FAILED, reason=reason, next_attempt_at=None, **addressed)
        logger.error("reminder %s failed: %s", delivery.pk, reason)
        return DeliverResult(Outcome.FAILED, detail=reason)
    # The SMTP gap is here: accepted by the server, not yet recorded (see the module docstring).
    _finish(
        delivery.pk,
        token,
        status=Status.SENT,
        sent_at=timezone.now(),
        reason="",
        next_attempt_at=None,
        **addressed,
    )
    return DeliverResult(Outcome.SENT)


def deliver(delivery_id: int, *, connection=None) -> DeliverResult:
    """One row: a batch of one, on a connection of its own."""
    return deliver_batch([delivery_id], connection=connection)[delivery_id]


# Staff send failed reminders again ---------------------------------------------------------------


def _requeue_failed(rows, *, changed_by, what: str) -> int:
    """Failed rows back to pending with a fresh count of tries, queued after commit; returns how many."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(rows.filter(status=Status.FAILED).values_list("id", flat=True))
        # Conditional on still being failed: a double click, or two staff at once, count once.
        count = Delivery.objects.filter(id__in=ids, status=Status.FAILED).update(
            status=Status.PENDING,
            attempts=0,
            queued_at=now,
            next_attempt_at=None,
            claim_token="",
            reason="",
        )
        logger.info("%s failed reminder(s) of %s sent again by %s", count, what, changed_by)
        _enqueue_after_commit(ids, None)
    return count


def resend(*, delivery: ReminderDelivery, changed_by=None) -> ReminderDelivery:
    """Staff asked to try one failed delivery again: back to pending, queued after commit."""
    if (
        _requeue_failed(
            Delivery.objects.filter(pk=delivery.pk), changed_by=changed_by, what=f"row {delivery.pk}"
        )
        != 1
    ):
        raise ValidationError(_("Only a failed reminder can be sent again."))
    delivery.refresh_from_db()
    return delivery


def _still_useful(rows):
    """Failed rows worth sending again: the session has not started, and a reminder or an update
    of a cancelled session would only be skipped."""
    return rows.filter(session__starts_at__gt=timezone.now()).exclude(
        Q(session__status=Session.Status.CANCELLED) & ~Q(kind=Kind.CANCELLATION)
    )


def resend_failed_of_session(*, session: Session, changed_by=None) -> int:
    """Every failed message of one session not yet started, again; returns how many."""
    rows = _still_useful(Delivery.objects.filter(session_id=session.pk))
    return _requeue_failed(rows, changed_by=changed_by, what=f"session {session.pk}")


def resend_failed_of_course(*, course, changed_by=None) -> int:
    """Every failed message of the course's sessions not yet started, again; returns how many."""
    rows = _still_useful(Delivery.objects.filter(session__course_id=course.pk))
    return _requeue_failed(rows, changed_by=changed_by, what=f"course {course.pk}")


def failed_to_resend(*, course) -> int:
    """How many failed messages of the course "Send all failed again" would send (one query)."""
    return _still_useful(Delivery.objects.filter(session__course_id=course.pk, status=Status.FAILED)).count()


# Opt-out -----------------------------------------------------------------------------------------


def opt_out_token(official: Official) -> str:
    return signing.dumps({"official": official.pk}, salt=OPT_OUT_SALT, compress=True)


def official_from_opt_out_token(token: str) -> Official | None:
    """The official a link was made for, or None for a tampered or unknown link."""
    try:
        data = signing.loads(token, salt=OPT_OUT_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("official"), int):
        return None
    return Official.objects.filter(pk=data["official"]).first()


def opt_out(*, official: Official) -> Official:
    """Stop reminders for this official; pending rows are closed. Idempotent."""
    with transaction.atomic():
        # Lock and save (not a bare UPDATE) so the opt-out lands in the official's history like
        # any other change; the lock keeps a double click to one recorded time.
        locked = Official.objects.select_for_update().get(pk=official.pk)
        if locked.reminders_opt_out_at is None:
            locked.reminders_opt_out_at = timezone.now()
            locked._change_reason = "Opted out of reminders through the e-mail link"
            locked.save(update_fields=["reminders_opt_out_at", "updated_at"])
        Delivery.objects.filter(official_id=official.pk, status=Status.PENDING).update(
            status=Status.SKIPPED, reason=REASON_OPTED_OUT
        )
    official.refresh_from_db()
    return official


# The message -------------------------------------------------------------------------------------

KHMER_MONTHS = [
    "មករា",
    "កុម្ភៈ",
    "មីនា",
    "មេសា",
    "ឧសភា",
    "មិថុនា",
    "កក្កដា",
    "សីហា",
    "កញ្ញា",
    "តុលា",
    "វិច្ឆិកា",
    "ធ្នូ",
]
KHMER_DIGITS = str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")


def format_when(moment: datetime.datetime | None, language: str) -> str:
    """The date and time in Phnom Penh time, spelt for the reader."""
    if moment is None:
        return ""
    local = timezone.localtime(moment, timezone=_phnom_penh())
    if language == "km":
        text = f"ថ្ងៃទី {local.day} ខែ{KHMER_MONTHS[local.month - 1]} ឆ្នាំ {local.year} ម៉ោង {local:%H:%M}"
        return text.translate(KHMER_DIGITS)
    return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M}"


def _phnom_penh():
    import zoneinfo

    return zoneinfo.ZoneInfo("Asia/Phnom_Penh")


def _ics_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ics_fold(line: str) -> str:
    """RFC 5545 §3.1: lines of at most 75 octets, never splitting a UTF-8 character."""
    out, current = [], b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current.decode())
            current = b""
        current += encoded
    out.append(current.decode())
    return "\r\n ".join(out)


def build_ics(delivery: ReminderDelivery) -> str:
    session = delivery.session
    course = session.course
    fmt = "%Y%m%dT%H%M%SZ"
    start = session.starts_at.astimezone(datetime.UTC)
    end = (session.ends_at or session.starts_at + datetime.timedelta(hours=1)).astimezone(datetime.UTC)
    host = settings.PORTAL_BASE_URL.split("//")[-1].split("/")[0].split(":")[0] or "pcp-portal"
    cancelled = delivery.kind == Kind.CANCELLATION
    sequence = int(session.updated_at.timestamp()) // 60 if session.updated_at else 0
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//UNIDO PCP Cambodia//PCP Portal//EN",
        "CALSCALE:GREGORIAN",
        f"METHOD:{'CANCEL' if cancelled else 'PUBLISH'}",
        "BEGIN:VEVENT",
        f"UID:session-{session.pk}@{host}",
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{timezone.now().astimezone(datetime.UTC).strftime(fmt)}",
        f"DTSTART:{start.strftime(fmt)}",
        f"DTEND:{end.strftime(fmt)}",
        f"SUMMARY:{_ics_escape(f'{course.title or course}: {session.title}')}",
        f"LOCATION:{_ics_escape(session.venue or course.venue)}",
        f"DESCRIPTION:{_ics_escape(session.topic or course.topic or session.title)}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(_ics_fold(line) for line in lines) + "\r\n"


def message_context(delivery: ReminderDelivery) -> dict:
    official, session = delivery.official, delivery.session
    language = official.preferred_language if official.preferred_language in ("en", "km") else "km"
    course = session.course
    opt_out_url = settings.PORTAL_BASE_URL + reverse("reminder_opt_out", args=[opt_out_token(official)])
    offset = delivery.key.split("h@")[0] if delivery.kind == Kind.REMINDER else ""
    return {
        "language": language,
        "kind": delivery.kind,
        "offset_hours": offset,
        "official": official,
        "name": (official.name_km or official.full_name) if language == "km" else official.full_name,
        "session": session,
        "course": course,
        "course_title": course.title or str(course),
        "when": format_when(session.starts_at, language),
        "ends": format_when(session.ends_at, language),
        "venue": session.venue or course.venue,
        "reason": session.cancellation_reason,
        "opt_out_url": opt_out_url,
    }


def build_message(delivery: ReminderDelivery, *, connection=None) -> EmailMultiAlternatives:
    """The e-mail in the official's language: plain text, HTML, and the session as .ics."""
    context = message_context(delivery)
    language = context["language"]
    subject = " ".join(render_to_string(f"emails/reminder_subject.{language}.txt", context).split())
    text = render_to_string(f"emails/reminder.{language}.txt", context)
    html = render_to_string(f"emails/reminder.{language}.html", context)
    host = settings.PORTAL_BASE_URL.split("//")[-1].split("/")[0].split(":")[0] or "pcp-portal"
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.official.email],
        connection=connection or get_connection(),
        headers={
            # The same id on every attempt of this row: a duplicate from the SMTP gap folds away.
            "Message-ID": f"<reminder-{delivery.pk}@{host}>",
            "List-Unsubscribe": f"<{context['opt_out_url']}>",
            "Content-Language": language,
        },
    )
    message.attach_alternative(html, "text/html")
    method = "CANCEL" if delivery.kind == Kind.CANCELLATION else "PUBLISH"
    message.attach("session.ics", build_ics(delivery), f"text/calendar; charset=utf-8; method={method}")
    return message


# Reads for the staff panel and the preview command -----------------------------------------------


def session_panel(session: Session) -> dict:
    """The reminders of one session for its page, in two queries whatever their number."""
    rows = list(
        Delivery.objects.filter(session_id=session.pk)
        .select_related("official")
        .only(
            "id",
            "kind",
            "key",
            "status",
            "reason",
            "attempts",
            "sent_at",
            "next_attempt_at",
            "email",
            "official__family_name",
            "official__given_name",
            "official__name_km",
        )
        .order_by("status", "kind", "key", "official__family_name", "id")
    )
    counts = dict.fromkeys(Status.values, 0)
    for row in rows:
        counts[row.status] += 1
    return {
        "session": session,
        "counts": counts,
        "failed": [r for r in rows if r.status == Status.FAILED],
        "pending": [r for r in rows if r.status in (Status.PENDING, Status.SENDING)],
        "sent": [r for r in rows if r.status == Status.SENT],
        "skipped": [r for r in rows if r.status == Status.SKIPPED],
        "no_start": session.starts_at is None,
        "total": len(rows),
    }


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
                "id", filter=Q(official__email="") | Q(official__reminders_opt_out_at__isnull=False)
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
