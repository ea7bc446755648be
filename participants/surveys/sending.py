"""Sending survey links at the right time, exactly once, through the reminders' channels.

The rules are the reminders' (participants/reminders/__init__.py), on a ledger of our own
(Invitation), because a link belongs to an instrument, not to a session:

* `dispatch()` runs from Celery beat. It finds the instruments whose time has come — a pre-test
  SURVEY_PRE_TEST_LEAD_HOURS before the course's first session (until it starts), session
  feedback once its session ended, a post-test once the last session ended, a follow-up N months
  after that — and writes one `link` row per enrolled official who has none (bulk INSERT with the
  unique constraint: a second dispatcher, or the same run twice, makes nothing). Officials who
  have not answered SURVEY_REMINDER_AFTER_HOURS after their link (and again after twice that) get
  a `reminder-1` and a `reminder-2` row: at most two. It then queues, through the outbox, the rows
  to send — new ones, ones whose back-off passed, and ones whose worker died (a claim older than
  REMINDER_CLAIM_TIMEOUT_SECONDS) — by id, in batches.
* `deliver_batch()` claims its rows with one conditional UPDATE (a row held by another worker is
  not won), checks each again (no e-mail nor Telegram, opted out of reminders, withdrew, already
  answered, instrument closed: skipped with the reason), sends each along the official's route of
  reminder channels (participants/reminders/channels.py: Telegram when they linked it, e-mail over
  one SMTP connection for the batch; a blocked bot passes that very row on to e-mail, a 429's
  retry_after is honoured), and records each outcome and channel only while its claim holds. The
  same at-least-once gap as reminders, with the same remedy for e-mail: one Message-ID per row on
  every attempt.

For an anonymous instrument the ledger says only that an official was sent a link and, through
Participation, that they answered; never what.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import uuid
from collections.abc import Sequence

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Exists, F, Max, Min, OuterRef, Q
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from courses.models import Course, Session
from participants.models import Enrollment
from participants.reminders import (
    REASON_NO_EMAIL,
    REASON_OPTED_OUT,
    REASON_WITHDRAWN,
    Channels,
    Message,
    Sent,
    backoff_seconds,
    opt_out_token,
    send_along,
)
from participants.reminders.messages import mail_host
from participants.surveys.models import Instrument, Invitation, Participation
from participants.surveys.services import link_token
from pcp_portal import outbox

logger = logging.getLogger(__name__)

Status = Invitation.Status
Key = Invitation.Key

REASON_ANSWERED = "The official already answered."
REASON_CLOSED = "The survey closed."
SEND_TASK = "participants.surveys.tasks.send_survey_links"


def _claim_timeout() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT_SECONDS)


# When -------------------------------------------------------------------------------------------


def due_instruments(now: datetime.datetime) -> list[Instrument]:
    """Open, current instruments of running courses whose links are due now (two queries)."""
    held = Session.objects.filter(course_id=OuterRef("course_id")).exclude(status=Session.Status.CANCELLED)
    instruments = (
        Instrument.objects.filter(Q(closes_at__isnull=True) | Q(closes_at__gt=now), next_version__isnull=True)
        .exclude(course__status=Course.Status.CANCELLED)
        .select_related("session")
        .annotate(
            first_start=held.order_by().values("course_id").annotate(v=Min("starts_at")).values("v"),
            last_end=held.order_by()
            .values("course_id")
            .annotate(v=Max(Coalesce("ends_at", "starts_at")))
            .values("v"),
        )
    )
    lead = datetime.timedelta(hours=settings.SURVEY_PRE_TEST_LEAD_HOURS)
    due = []
    for instrument in instruments:
        first, last = instrument.first_start, instrument.last_end
        kind = instrument.kind
        if kind == Instrument.Kind.PRE_TEST:
            ready = first is not None and first - lead <= now < first
        elif kind == Instrument.Kind.POST_TEST:
            ready = last is not None and last <= now
        elif kind == Instrument.Kind.FEEDBACK:
            session = instrument.session
            end = session.ends_at or session.starts_at
            ready = session.status != Session.Status.CANCELLED and end is not None and end <= now
        else:
            ready = last is not None and last + relativedelta(months=instrument.follow_up_months) <= now
        if ready:
            due.append(instrument)
    return due


@dataclasses.dataclass
class DispatchResult:
    created: int
    queued: int
    queued_ids: list[int]


def dispatch(*, now: datetime.datetime | None = None) -> DispatchResult:
    now = now or timezone.now()
    created = 0
    for instrument in due_instruments(now):
        created += _write_rows(instrument, now)
    ids = _queue_due(now)
    return DispatchResult(created=created, queued=len(ids), queued_ids=ids)


def _write_rows(instrument: Instrument, now: datetime.datetime) -> int:
    enrolled = Enrollment.objects.filter(
        course_id=instrument.course_id, status=Enrollment.Status.ENROLLED
    ).values_list("official_id", flat=True)
    # Whoever answered an earlier version of it has answered it: a new version is not a new survey.
    versions, earlier = [instrument.pk], instrument.previous_id
    while earlier is not None:
        versions.append(earlier)
        earlier = Instrument.objects.filter(pk=earlier).values_list("previous_id", flat=True).first()
    answered = set(
        Participation.objects.filter(instrument_id__in=versions).values_list("official_id", flat=True)
    )
    rows = {
        official_id: Invitation(instrument=instrument, official_id=official_id, key=Key.LINK)
        for official_id in enrolled
        if official_id not in answered
    }
    # Reminders: links sent long enough ago to an official who has not answered; at most two.
    after = datetime.timedelta(hours=settings.SURVEY_REMINDER_AFTER_HOURS)
    sent = Invitation.objects.filter(
        instrument=instrument, key=Key.LINK, status=Status.SENT, official_id__in=list(enrolled)
    ).exclude(official_id__in=answered)
    reminders = [
        Invitation(instrument=instrument, official_id=official_id, key=key)
        for official_id, sent_at in sent.values_list("official_id", "sent_at")
        for key, times in ((Key.REMINDER_1, 1), (Key.REMINDER_2, 2))
        if sent_at and sent_at + times * after <= now
    ]
    existing = set(Invitation.objects.filter(instrument=instrument).values_list("official_id", "key"))
    new = [row for row in [*rows.values(), *reminders] if (row.official_id, row.key) not in existing]
    # ignore_conflicts: a dispatcher running at the same moment wrote some of them; the unique
    # constraint keeps one.
    Invitation.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def _queue_due(now: datetime.datetime) -> list[int]:
    stale = now - _claim_timeout()
    due = Invitation.objects.filter(
        Q(status=Status.PENDING, queued_at__isnull=True, next_attempt_at__isnull=True)
        | Q(status=Status.PENDING, next_attempt_at__lte=now)
        | Q(status=Status.PENDING, queued_at__lt=stale)  # the task was lost
        | Q(status=Status.SENDING, claimed_at__lt=stale)  # the worker died
    )
    ids = list(due.order_by("id").values_list("id", flat=True))
    if not ids:
        return []
    Invitation.objects.filter(pk__in=ids).update(queued_at=now)
    size = settings.REMINDER_SEND_BATCH_SIZE
    outbox.enqueue_many(SEND_TASK, [[ids[start : start + size]] for start in range(0, len(ids), size)])
    return ids


# Sending ----------------------------------------------------------------------------------------


def _claim(ids: Sequence[int], now: datetime.datetime) -> str | None:
    token = uuid.uuid4().hex
    won = (
        Invitation.objects.filter(pk__in=list(ids))
        .filter(Q(status=Status.PENDING) | Q(status=Status.SENDING, claimed_at__lt=now - _claim_timeout()))
        .update(status=Status.SENDING, claimed_at=now, claim_token=token, attempts=F("attempts") + 1)
    )
    return token if won else None


def _finish(row_id: int, token: str, **fields) -> bool:
    return (
        Invitation.objects.filter(pk=row_id, status=Status.SENDING, claim_token=token).update(**fields) == 1
    )


def _skip_reason(row: Invitation, now: datetime.datetime) -> str:
    official = row.official
    if not official.email and official.telegram_chat_id is None:
        return REASON_NO_EMAIL
    if official.reminders_opt_out_at:
        return REASON_OPTED_OUT
    if not row.enrolled:
        return REASON_WITHDRAWN
    if row.answered:
        return REASON_ANSWERED
    closes = row.instrument.closes_at
    if closes is not None and closes <= now:
        return REASON_CLOSED
    return ""


def answer_url(instrument: Instrument, official) -> str:
    return settings.PORTAL_BASE_URL + reverse(
        "survey_answer", args=[link_token(instrument=instrument, official=official)]
    )


def _language(official) -> str:
    return official.preferred_language if official.preferred_language in ("en", "km") else "km"


def message_context(row: Invitation) -> dict:
    official, instrument = row.official, row.instrument
    language = _language(official)
    return {
        "language": language,
        "is_reminder": row.key != Key.LINK,
        "name": (official.name_km or official.full_name) if language == "km" else official.full_name,
        "title": instrument.title_for(language),
        "course_title": instrument.course.title or str(instrument.course),
        "url": answer_url(instrument, official),
        "opt_out_url": settings.PORTAL_BASE_URL + reverse("reminder_opt_out", args=[opt_out_token(official)]),
        "anonymous": instrument.is_anonymous,
    }


def build_message(row: Invitation, *, connection=None) -> EmailMessage:
    context = message_context(row)
    language = context["language"]
    with translation.override(language):
        subject = " ".join(render_to_string(f"emails/survey_subject.{language}.txt", context).split())
        body = render_to_string(f"emails/survey.{language}.txt", context)
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.official.email],
        connection=connection or get_connection(),
        headers={
            # The same id on every attempt of this row: a duplicate from the SMTP gap folds away.
            "Message-ID": f"<survey-{row.pk}@{mail_host()}>",
            "List-Unsubscribe": f"<{context['opt_out_url']}>",
            "Content-Language": language,
        },
    )


def build_telegram(row: Invitation) -> tuple[str, tuple[str, str]]:
    """The short Telegram message in the official's language, with the personal link in the text
    and on its button."""
    context = message_context(row)
    language = context["language"]
    text = render_to_string(f"telegram/survey.{language}.txt", context).strip()
    with translation.override(language):
        label = _("Answer now")
    return text, (label, context["url"])


def survey_message(row: Invitation) -> Message:
    return Message(
        official=row.official,
        label=f"survey link {row.pk}",
        email=lambda connection: build_message(row, connection=connection),
        telegram=lambda: build_telegram(row),
    )


def deliver_batch(ids: Sequence[int], *, connection=None) -> dict[str, int]:
    """Claim, check, send and record a batch; safe to call any number of times with any ids."""
    now = timezone.now()
    outcomes = {"sent": 0, "skipped": 0, "retry": 0, "failed": 0}
    token = _claim(list(dict.fromkeys(ids)), now)
    if token is None:
        return outcomes
    enrolled = Enrollment.objects.filter(
        official_id=OuterRef("official_id"),
        course_id=OuterRef("instrument__course_id"),
        status=Enrollment.Status.ENROLLED,
    )
    answered = Participation.objects.filter(
        official_id=OuterRef("official_id"), instrument_id=OuterRef("instrument_id")
    )
    rows = list(
        Invitation.objects.filter(status=Status.SENDING, claim_token=token)
        .select_related("official", "instrument", "instrument__course")
        .annotate(enrolled=Exists(enrolled), answered=Exists(answered))
        .order_by("id")
    )
    channels = Channels(connection)
    try:
        for position, row in enumerate(rows):
            try:
                outcomes[_deliver_one(row, token, channels, now)] += 1
            except Exception:
                # A database error or a time limit mid-batch: the rest goes back to the dispatcher.
                Invitation.objects.filter(
                    pk__in=[r.pk for r in rows[position:]], status=Status.SENDING, claim_token=token
                ).update(status=Status.PENDING, queued_at=None, claim_token="")
                raise
    finally:
        channels.close()
    return outcomes


def _deliver_one(row: Invitation, token: str, channels: Channels, now: datetime.datetime) -> str:
    skip = _skip_reason(row, now)
    route = channels.route(row.official) if not skip else []
    if not skip and not route:
        skip = REASON_NO_EMAIL  # linked to Telegram only, and the bot is switched off here
    if skip:
        _finish(row.pk, token, status=Status.SKIPPED, reason=skip, next_attempt_at=None)
        return "skipped"
    attempt = send_along(route, survey_message(row))
    reason = attempt.reason[: Invitation._meta.get_field("reason").max_length]
    if attempt.outcome == Sent.RETRY:
        # A wait the channel asked for (Telegram's retry_after) is honoured over our back-off.
        delay = attempt.retry_after if attempt.retry_after is not None else backoff_seconds(row.attempts)
        _finish(
            row.pk,
            token,
            status=Status.PENDING,
            reason=reason,
            channel=attempt.channel,
            queued_at=None,
            next_attempt_at=timezone.now() + datetime.timedelta(seconds=delay),
        )
        logger.warning("survey link %s: %s; next try in %ss", row.pk, reason, delay)
        return "retry"
    if attempt.outcome == Sent.FAILED:
        _finish(
            row.pk, token, status=Status.FAILED, reason=reason, channel=attempt.channel, next_attempt_at=None
        )
        logger.error("survey link %s failed: %s", row.pk, reason)
        return "failed"
    # The SMTP gap is here (see the reminders' package docstring): at least once.
    _finish(
        row.pk,
        token,
        status=Status.SENT,
        sent_at=timezone.now(),
        reason="",
        channel=attempt.channel,
        next_attempt_at=None,
    )
    return "sent"
