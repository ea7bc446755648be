"""The reminder ledger (ReminderDelivery rows): keys, why a row was not sent, handing rows to the
workers, the claim and its completion, staff sending failed rows again, opt-out, the session panel.

Every other module of the package changes a row's status only through the functions here.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from courses.models import Session
from participants.models import Enrollment, Official, ReminderDelivery
from pcp_portal import outbox

logger = logging.getLogger(__name__)

Delivery = ReminderDelivery
Status = ReminderDelivery.Status
Kind = ReminderDelivery.Kind

OPT_OUT_SALT = "participants.reminders.opt-out"

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


def claim_timeout() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT_SECONDS)


# Keys --------------------------------------------------------------------------------------------


def start_stamp(starts_at: datetime.datetime) -> str:
    return f"{starts_at.astimezone(datetime.UTC):%Y%m%d%H%M}"


def reminder_key(offset_hours: int, starts_at: datetime.datetime) -> str:
    """A reminder is for one offset before one start time: a moved session gets its reminders anew."""
    return f"{offset_hours}h@{start_stamp(starts_at)}"


def schedule_fingerprint(session: Session) -> str:
    parts = [
        session.starts_at.isoformat() if session.starts_at else "",
        session.ends_at.isoformat() if session.ends_at else "",
        session.venue,
        session.updated_at.isoformat() if session.updated_at else "",
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


# Handing rows to the workers ---------------------------------------------------------------------


def queue_after_commit(ids: list[int], enqueue: Callable[[list[int]], object] | None) -> None:
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


# Claim and complete ------------------------------------------------------------------------------


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
        .filter(Q(status=Status.PENDING) | Q(status=Status.SENDING, claimed_at__lt=now - claim_timeout()))
        .update(status=Status.SENDING, claimed_at=now, claim_token=token, attempts=F("attempts") + 1)
    )
    return token if won else None


def claim(delivery_id: int, *, now: datetime.datetime | None = None) -> str | None:
    """Take one row for this worker; returns the claim token or None."""
    return claim_batch([delivery_id], now=now)


def finish(delivery_id: int, token: str, **fields) -> bool:
    """Record a claimed row's outcome, only while this worker's claim still holds it."""
    return (
        Delivery.objects.filter(pk=delivery_id, status=Status.SENDING, claim_token=token).update(**fields)
        == 1
    )


def hand_back(delivery_ids: Sequence[int], token: str) -> None:
    """Claimed rows back to pending for the dispatcher's next beat, instead of waiting for their
    claims to time out."""
    Delivery.objects.filter(pk__in=list(delivery_ids), status=Status.SENDING, claim_token=token).update(
        status=Status.PENDING, queued_at=None, claim_token=""
    )


def claimed_rows(token: str) -> list[ReminderDelivery]:
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
        queue_after_commit(ids, None)
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


# The staff panel ---------------------------------------------------------------------------------


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
            "channel",
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
