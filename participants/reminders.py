"""Course reminders: find what is due, record it in the ledger, claim it, send it, complete it.

The flow, and who relies on what:

* `dispatch()` runs from Celery beat every few minutes (participants.tasks.dispatch_reminders).
  It finds sessions whose reminder time has come (Course.reminder_offsets_hours, default 48 h
  and 2 h before the start) and that have not started, writes one ReminderDelivery row per
  enrolled, not-withdrawn official with a bulk INSERT … ON CONFLICT DO NOTHING (the ledger's
  unique constraint makes a second dispatcher, or the same one run twice, a no-op), and queues
  one `send_delivery` task per row, by id. A dispatcher that was down catches up: for each
  session only the nearest due reminder is made (the 48 h one is not sent 1 hour before), and
  nothing is made for a session that already started.
* Tasks are never parked in the broker with a long countdown: Redis re-delivers a message not
  acknowledged within its visibility timeout, a classic cause of duplicate e-mails. The
  dispatcher finds due work in the database instead, and also re-queues rows whose task was
  lost (pending and queued long ago) or whose worker died (a claim older than the timeout).
* `deliver()` claims a row with a conditional UPDATE (pending, or sending with an expired
  claim → sending, with a fresh token); only the winner of that UPDATE talks to the mail
  server, then marks the row sent where the token still matches.

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

Mail-server failures: 4xx replies and connection errors are transient and retried with
exponential back-off up to REMINDER_MAX_ATTEMPTS tries; 5xx replies are permanent and not
retried. After the last try the row says failed and why; staff see it on the session page
and can resend it.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import logging
import smtplib
import socket
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Count, F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from courses.models import Session
from participants.models import Enrollment, Official, ReminderDelivery
from pcp_portal import outbox

logger = logging.getLogger(__name__)

Delivery = ReminderDelivery
Status = ReminderDelivery.Status
Kind = ReminderDelivery.Kind

OPT_OUT_SALT = "participants.reminders.opt-out"
BULK_BATCH = 2000
QUEUE_CHUNK = 5000

REASON_NO_EMAIL = "The official has no e-mail address."
REASON_OPTED_OUT = "The official opted out of e-mail reminders."
REASON_STARTED = "The session had already started."
REASON_CANCELLED = "The session was cancelled."
REASON_NO_START = "The session has no start time."


def _claim_timeout() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT_SECONDS)


# Keys --------------------------------------------------------------------------------------------


def reminder_key(offset_hours: int, starts_at: datetime.datetime) -> str:
    """A reminder is for one offset before one start time: a moved session gets its reminders anew."""
    return f"{offset_hours}h@{starts_at.astimezone(datetime.UTC):%Y%m%d%H%M}"


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
    from courses.models import REMINDER_MAX_OFFSET_HOURS

    return REMINDER_MAX_OFFSET_HOURS


def _ledger_rows(pairs: list[tuple[int, int, str, str]]) -> int:
    """Write ledger rows for (session id, course id, kind, key) for every active enrolment; batched."""
    if not pairs:
        return 0
    by_course: dict[int, list[tuple[int, str, str]]] = {}
    for session_id, course_id, kind, key in pairs:
        by_course.setdefault(course_id, []).append((session_id, kind, key))
    enrolments = Enrollment.objects.filter(
        course_id__in=list(by_course), status=Enrollment.Status.ENROLLED
    ).values_list("course_id", "official_id", "official__email", "official__reminders_opt_out_at")
    rows = []
    for course_id, official_id, email, opted_out in enrolments.iterator(chunk_size=BULK_BATCH):
        if not email:
            status, reason = Status.SKIPPED, REASON_NO_EMAIL
        elif opted_out:
            status, reason = Status.SKIPPED, REASON_OPTED_OUT
        else:
            status, reason = Status.PENDING, ""
        for session_id, kind, key in by_course[course_id]:
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
    # ON CONFLICT DO NOTHING: the unique constraint turns a second dispatcher into a no-op.
    Delivery.objects.bulk_create(rows, batch_size=BULK_BATCH, ignore_conflicts=True)
    return len(rows)


def _missing_pairs(pairs: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
    """Keep the pairs whose ledger rows are fewer than the course's active enrolments (2 queries)."""
    if not pairs:
        return []
    existing = {
        (s, k, key): n
        for s, k, key, n in Delivery.objects.filter(session_id__in={p[0] for p in pairs})
        .values("session_id", "kind", "key")
        .annotate(n=Count("id"))
        .values_list("session_id", "kind", "key", "n")
    }
    enrolled = dict(
        Enrollment.objects.filter(course_id__in={p[1] for p in pairs}, status=Enrollment.Status.ENROLLED)
        .values("course_id")
        .annotate(n=Count("id"))
        .values_list("course_id", "n")
    )
    return [p for p in pairs if existing.get((p[0], p[2], p[3]), 0) < enrolled.get(p[1], 0)]


def dispatch(
    *, now: datetime.datetime | None = None, enqueue: Callable[[int], object] | None = None
) -> DispatchResult:
    """Record every due reminder in the ledger and queue a send task per row to send. Idempotent."""
    now = now or timezone.now()
    result = DispatchResult()
    with transaction.atomic():
        due = due_reminders(now)
        result.sessions = len(due)
        pairs = _missing_pairs([(s, c, Kind.REMINDER, key) for s, c, key in due])
        result.created = _ledger_rows(pairs)
        # Rows for sessions that started meanwhile are closed, not sent late.
        result.expired = Delivery.objects.filter(status=Status.PENDING, session__starts_at__lte=now).update(
            status=Status.SKIPPED, reason=REASON_STARTED
        )
        ids = _take_queueable(now)
    result.queued_ids = ids
    result.queued = len(ids)
    _enqueue_after_commit(ids, enqueue)
    return result


def _take_queueable(now: datetime.datetime) -> list[int]:
    """Rows to (re-)queue: pending and never queued or queued long ago; claims that expired."""
    stale = now - _claim_timeout()
    ids = list(
        Delivery.objects.filter(
            Q(status=Status.PENDING, queued_at__isnull=True)
            | Q(status=Status.PENDING, queued_at__lt=stale)
            | Q(status=Status.SENDING, claimed_at__lt=stale)
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    for start in range(0, len(ids), QUEUE_CHUNK):
        Delivery.objects.filter(id__in=ids[start : start + QUEUE_CHUNK]).update(queued_at=now)
    return ids


def _enqueue_after_commit(ids: list[int], enqueue: Callable[[int], object] | None) -> None:
    if not ids:
        return
    if enqueue is None:
        from participants.tasks import send_delivery

        def enqueue(delivery_id: int) -> object:
            return send_delivery.delay(delivery_id)

    def publish() -> None:
        for delivery_id in ids:
            enqueue(delivery_id)

    transaction.on_commit(publish)


# Changes to a session after reminders went out ---------------------------------------------------


def session_saved(*, session: Session, previous: dict | None) -> None:
    """Called by courses.services after a session is saved or cancelled (inside its transaction).

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


def notify_change(*, session_id: int, enqueue: Callable[[int], object] | None = None) -> int:
    """One update or cancellation per enrolled official per change; returns rows queued. Idempotent."""
    now = timezone.now()
    with transaction.atomic():
        session = Session.objects.filter(pk=session_id).first()
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
            key__endswith="@" + session.starts_at.astimezone(datetime.UTC).strftime("%Y%m%d%H%M")
        ).update(status=Status.SKIPPED, reason="The session was moved.")
        ids = list(
            Delivery.objects.filter(
                session_id=session_id, kind=kind, key=key, status=Status.PENDING, queued_at__isnull=True
            ).values_list("id", flat=True)
        )
        Delivery.objects.filter(id__in=ids).update(queued_at=now)
    _enqueue_after_commit(ids, enqueue)
    return len(ids)


# Claim, send, complete ---------------------------------------------------------------------------


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


def claim(delivery_id: int, *, now: datetime.datetime | None = None) -> str | None:
    """Take the row for this worker: a conditional UPDATE; returns the claim token or None."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    won = (
        Delivery.objects.filter(pk=delivery_id)
        .filter(Q(status=Status.PENDING) | Q(status=Status.SENDING, claimed_at__lt=now - _claim_timeout()))
        .update(status=Status.SENDING, claimed_at=now, claim_token=token, attempts=F("attempts") + 1)
    )
    return token if won == 1 else None


def _finish(delivery_id: int, token: str, **fields) -> bool:
    return (
        Delivery.objects.filter(pk=delivery_id, status=Status.SENDING, claim_token=token).update(**fields)
        == 1
    )


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
    """Exponential back-off, capped well below the broker's visibility timeout."""
    base = settings.REMINDER_RETRY_BACKOFF_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), settings.REMINDER_RETRY_BACKOFF_MAX_SECONDS)


def deliver(delivery_id: int, *, connection=None) -> DeliverResult:
    """Claim the row, send its e-mail once, record the outcome. Safe to call any number of times."""
    token = claim(delivery_id)
    if token is None:
        return DeliverResult(Outcome.NOT_CLAIMED)
    delivery = Delivery.objects.select_related("official", "session", "session__course").get(pk=delivery_id)
    official, session = delivery.official, delivery.session
    now = timezone.now()
    skip = None
    if not official.email:
        skip = REASON_NO_EMAIL
    elif official.reminders_opt_out_at:
        skip = REASON_OPTED_OUT
    elif session.starts_at is None:
        skip = REASON_NO_START
    elif session.starts_at <= now:
        skip = REASON_STARTED
    elif session.is_cancelled and delivery.kind != Kind.CANCELLATION:
        skip = REASON_CANCELLED
    if skip:
        _finish(delivery_id, token, status=Status.SKIPPED, reason=skip)
        logger.info("reminder %s skipped: %s", delivery_id, skip)
        return DeliverResult(Outcome.SKIPPED, detail=skip)

    message = build_message(delivery, connection=connection)
    Delivery.objects.filter(pk=delivery_id, claim_token=token).update(
        email=official.email, language=official.preferred_language
    )
    try:
        message.send(fail_silently=False)
    except Exception as exc:
        transient, reason = classify_smtp_error(exc)
        delivery.refresh_from_db(fields=["attempts"])
        if transient and delivery.attempts < settings.REMINDER_MAX_ATTEMPTS:
            # Release the claim so the retry (or a re-queue by the dispatcher) can take it.
            _finish(delivery_id, token, status=Status.PENDING, reason=reason, queued_at=timezone.now())
            delay = backoff_seconds(delivery.attempts)
            logger.warning("reminder %s: %s; retry in %ss", delivery_id, reason, delay)
            return DeliverResult(Outcome.RETRY, retry_in=delay, detail=reason)
        final = reason if not transient else f"{reason} (gave up after {delivery.attempts} tries)"
        _finish(delivery_id, token, status=Status.FAILED, reason=final[:500])
        logger.error("reminder %s failed: %s", delivery_id, final)
        return DeliverResult(Outcome.FAILED, detail=final)
    # The SMTP gap is here: accepted by the server, not yet recorded (see the module docstring).
    _finish(delivery_id, token, status=Status.SENT, sent_at=timezone.now(), reason="")
    return DeliverResult(Outcome.SENT)


def resend(*, delivery: ReminderDelivery, changed_by=None) -> ReminderDelivery:
    """Staff asked to try a failed delivery again: back to pending, queued after commit."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    with transaction.atomic():
        updated = Delivery.objects.filter(pk=delivery.pk, status=Status.FAILED).update(
            status=Status.PENDING, attempts=0, queued_at=timezone.now(), claim_token="", reason=""
        )
        if updated != 1:
            raise ValidationError(_("Only a failed reminder can be sent again."))
        logger.info("reminder %s resent by %s", delivery.pk, changed_by)
        _enqueue_after_commit([delivery.pk], None)
    delivery.refresh_from_db()
    return delivery


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
