"""Sending: claim a batch of ledger rows, check each again, send each over one SMTP connection and
record each outcome at once; which mail-server errors are worth a retry, and after how long.

The order of the steps, the SMTP gap and the retry rules are told in the package docstring.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import smtplib
import socket
from collections.abc import Sequence

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import DatabaseError
from django.db import connection as db_connection
from django.utils import timezone

from participants.models import ReminderDelivery
from participants.reminders import ledger
from participants.reminders.ledger import (
    REASON_CANCELLED,
    REASON_MOVED,
    REASON_NO_EMAIL,
    REASON_NO_START,
    REASON_OPTED_OUT,
    REASON_STARTED,
    REASON_WITHDRAWN,
    Kind,
    Status,
    start_stamp,
)
from participants.reminders.messages import build_message

logger = logging.getLogger(__name__)


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
    if delivery.kind == Kind.REMINDER and delivery.key.rpartition("@")[2] != start_stamp(session.starts_at):
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


def deliver(delivery_id: int, *, connection=None) -> DeliverResult:
    """One row: a batch of one, on a connection of its own."""
    return deliver_batch([delivery_id], connection=connection)[delivery_id]


@contextlib.contextmanager
def _without_waiting_for_the_disk():
    """PostgreSQL: the batch's own writes (the claim, each row's outcome) commit without waiting
    for the write-ahead log to reach the disk (synchronous_commit off, for this connection and
    only while the batch runs). Waiting cost more than building and sending the message.

    What it risks is what we already chose (package docstring, the SMTP gap): a crash of the
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
    token = ledger.claim_batch(ids)
    if token is None:
        return
    rows = ledger.claimed_rows(token)
    mailer = _Mailer(connection)
    try:
        for position, row in enumerate(rows):
            try:
                results[row.pk] = _deliver_claimed(row, token, mailer)
            except Exception:
                # A soft time limit or a database error mid-batch: this row (whether the server
                # took it is unknown: at least once) and the rest go back to the dispatcher's next
                # beat instead of waiting for their claims to time out.
                ledger.hand_back([r.pk for r in rows[position:]], token)
                raise
    finally:
        mailer.close()


def _deliver_claimed(delivery: ReminderDelivery, token: str, mailer: _Mailer) -> DeliverResult:
    now = timezone.now()
    skip = skip_reason(delivery, now)
    if skip:
        ledger.finish(delivery.pk, token, status=Status.SKIPPED, reason=skip, next_attempt_at=None)
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
        reason = reason[: ReminderDelivery._meta.get_field("reason").max_length]
        if transient:
            # Tried again by the dispatcher once the back-off has passed, until the session starts.
            delay = backoff_seconds(delivery.attempts)
            ledger.finish(
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
        ledger.finish(
            delivery.pk, token, status=Status.FAILED, reason=reason, next_attempt_at=None, **addressed
        )
        logger.error("reminder %s failed: %s", delivery.pk, reason)
        return DeliverResult(Outcome.FAILED, detail=reason)
    # The SMTP gap is here: accepted by the server, not yet recorded (see the package docstring).
    ledger.finish(
        delivery.pk,
        token,
        status=Status.SENT,
        sent_at=timezone.now(),
        reason="",
        next_attempt_at=None,
        **addressed,
    )
    return DeliverResult(Outcome.SENT)
