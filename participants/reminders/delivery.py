"""Sending: claim a batch of ledger rows, check each again, send each by the official's channels
(channels: one SMTP connection for the batch, Telegram) and record each outcome at once; the
back-off after a transient failure.

The order of the steps, the SMTP gap and the retry rules are told in the package docstring.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
from collections.abc import Sequence

from django.conf import settings
from django.db import DatabaseError
from django.db import connection as db_connection
from django.utils import timezone

from participants.models import ReminderDelivery
from participants.reminders import ledger
from participants.reminders.channels import Channels, Sent, reminder_message, send_along
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
    if not official.email and official.telegram_chat_id is None:
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


def backoff_seconds(attempts: int) -> float:
    """Exponential back-off after the n-th failed try, capped."""
    base = settings.REMINDER_RETRY_BACKOFF_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), settings.REMINDER_RETRY_BACKOFF_MAX_SECONDS)


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
    channels = Channels(connection)
    try:
        for position, row in enumerate(rows):
            try:
                results[row.pk] = _deliver_claimed(row, token, channels)
            except Exception:
                # A soft time limit or a database error mid-batch: this row (whether the server
                # took it is unknown: at least once) and the rest go back to the dispatcher's next
                # beat instead of waiting for their claims to time out.
                ledger.hand_back([r.pk for r in rows[position:]], token)
                raise
    finally:
        channels.close()


def _deliver_claimed(delivery: ReminderDelivery, token: str, channels: Channels) -> DeliverResult:
    now = timezone.now()
    skip = skip_reason(delivery, now)
    route = channels.route(delivery.official) if not skip else []
    if not skip and not route:
        skip = REASON_NO_EMAIL  # linked to Telegram only, and the bot is switched off here
    if skip:
        ledger.finish(delivery.pk, token, status=Status.SKIPPED, reason=skip, next_attempt_at=None)
        logger.info("reminder %s skipped: %s", delivery.pk, skip)
        return DeliverResult(Outcome.SKIPPED, detail=skip)
    official = delivery.official
    max_reason = ReminderDelivery._meta.get_field("reason").max_length
    attempt = send_along(route, reminder_message(delivery))
    reason = attempt.reason[:max_reason]
    # The channel that sent the row or last tried it; none when every channel of the route was gone.
    addressed = {}
    if attempt.channel:
        addressed = {"channel": attempt.channel, "language": official.preferred_language}
    if attempt.outcome == Sent.RETRY:
        # Tried again by the dispatcher once the wait has passed, until the session starts; a
        # wait the channel asked for (Telegram's retry_after) is honoured over our back-off.
        delay = attempt.retry_after if attempt.retry_after is not None else backoff_seconds(delivery.attempts)
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
    if attempt.outcome == Sent.FAILED:
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
        email=attempt.address,
        **addressed,
    )
    return DeliverResult(Outcome.SENT)
