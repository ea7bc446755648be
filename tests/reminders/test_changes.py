"""A session moved or cancelled after reminders went out: one update or cancellation per change."""

from __future__ import annotations

import datetime

import pytest
from django.test import TestCase
from django.utils import timezone

from courses.services import session_cancel, session_update
from participants import reminders
from participants.models import ReminderDelivery

from .helpers import course_with_officials, ics_of, parse_ics, queued_session_ids, session_in

pytestmark = pytest.mark.django_db

Kind = ReminderDelivery.Kind


def _reminded_session(smtp_server, *languages):
    course, officials = course_with_officials(*languages)
    session = session_in(course, 40)
    reminders.dispatch(enqueue=lambda _id: None)
    for row in ReminderDelivery.objects.filter(session=session):
        reminders.deliver(row.pk)
    assert len(smtp_server.messages) == len(officials)
    return session, officials


def _change(action):
    """Run a service as the UI does; the queued task runs here, twice, as a broker may deliver it."""
    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        action()
    assert len(callbacks) == 1
    sent: list[int] = []
    for _ in range(2):
        with TestCase.captureOnCommitCallbacks(execute=True):
            reminders.notify_change(session_id=queued_session_ids(callbacks)[0], enqueue=sent.extend)
    for delivery_id in sent + sent:
        reminders.deliver(delivery_id)
    return sent


def test_moving_a_reminded_session_sends_one_update_per_official(smtp_server):
    session, officials = _reminded_session(smtp_server, "km", "en")
    new_start = session.starts_at + datetime.timedelta(days=1)

    _change(
        lambda: session_update(
            session=session, starts_at=new_start, ends_at=new_start + datetime.timedelta(hours=2)
        )
    )

    updates = smtp_server.messages[2:]
    assert len(updates) == 2 and sorted(str(m["To"]) for m in updates) == sorted(o.email for o in officials)
    english = next(m for m in updates if "Changed:" in str(m["Subject"]))
    assert parse_ics(ics_of(english))["DTSTART"] == new_start.astimezone(datetime.UTC).strftime(
        "%Y%m%dT%H%M%SZ"
    )
    assert ReminderDelivery.objects.filter(kind=Kind.UPDATE, status="sent").count() == 2


def test_cancelling_a_reminded_session_sends_one_cancellation_per_official_with_a_cancelling_calendar_entry(
    smtp_server,
):
    session, _ = _reminded_session(smtp_server, "km", "en")

    _change(lambda: session_cancel(session=session, reason="Room not available"))
    session.refresh_from_db()
    with TestCase.captureOnCommitCallbacks(execute=False) as again:
        session_cancel(session=session, reason="twice")

    cancellations = smtp_server.messages[2:]
    assert len(cancellations) == 2 and again == []
    event = parse_ics(ics_of(cancellations[0]))
    assert event["METHOD"] == "CANCEL" and event["STATUS"] == "CANCELLED"
    english = next(m for m in cancellations if "Cancelled:" in str(m["Subject"]))
    assert "Room not available" in english.get_body(("plain",)).get_content()


def test_an_edit_that_leaves_the_schedule_alone_sends_nothing(smtp_server):
    session, _ = _reminded_session(smtp_server, "km")

    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        session_update(session=session, topic="A new topic")

    assert callbacks == [] and len(smtp_server.messages) == 1


def test_moving_a_session_nobody_was_reminded_of_sends_nothing():
    course, _ = course_with_officials("km")
    session = session_in(course, 200)

    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        session_update(session=session, venue="Elsewhere")

    assert callbacks == [] and not ReminderDelivery.objects.exists()


def _move(session, hours_from_now: float):
    new_start = timezone.now() + datetime.timedelta(hours=hours_from_now)
    _change(
        lambda: session_update(
            session=session, starts_at=new_start, ends_at=new_start + datetime.timedelta(hours=2)
        )
    )
    session.refresh_from_db()
    return new_start


def _dispatch_and_send(now=None) -> list[int]:
    queued: list[int] = []
    with TestCase.captureOnCommitCallbacks(execute=True):
        reminders.dispatch(now=now, enqueue=queued.extend)
    reminders.deliver_batch(queued)
    return queued


def test_the_change_notice_stands_in_for_a_reminder_of_the_new_time_that_falls_due_at_once(smtp_server):
    session, officials = _reminded_session(smtp_server, "km", "en")

    new_start = _move(session, 30)  # its "48 hours before" is due the moment it moves
    queued = _dispatch_and_send()

    assert queued == [] and len(smtp_server.messages) == 2 + 2  # the first reminder, then the notice
    covered = ReminderDelivery.objects.filter(key=reminders.reminder_key(48, new_start))
    assert {(r.official_id, r.status, r.reason) for r in covered} == {
        (o.pk, "skipped", reminders.REASON_COVERED_BY_NOTICE) for o in officials
    }
    # The "2 hours before" of the new time is 28 hours after the notice: still sent, when due.
    assert len(_dispatch_and_send(now=new_start - datetime.timedelta(hours=2))) == 2
    assert len(smtp_server.messages) == 6


def test_reminders_of_the_new_time_the_dispatcher_queued_before_the_notice_are_covered_too(smtp_server):
    session, _officials = _reminded_session(smtp_server, "km", "en")
    new_start = timezone.now() + datetime.timedelta(hours=30)
    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        session_update(session=session, starts_at=new_start, ends_at=new_start + datetime.timedelta(hours=2))
    queued: list[int] = []
    with TestCase.captureOnCommitCallbacks(execute=True):
        reminders.dispatch(enqueue=queued.extend)  # a beat between the save and the notice task
    assert len(queued) == 2

    sent: list[int] = []
    with TestCase.captureOnCommitCallbacks(execute=True):
        reminders.notify_change(session_id=queued_session_ids(callbacks)[0], enqueue=sent.extend)
    reminders.deliver_batch(sent + queued)

    assert len(smtp_server.messages) == 2 + 2
    assert set(ReminderDelivery.objects.filter(pk__in=queued).values_list("reason", flat=True)) == {
        reminders.REASON_COVERED_BY_NOTICE
    }


def test_a_reminder_of_the_new_time_due_beyond_the_window_is_still_sent(smtp_server, settings):
    settings.REMINDER_NOTICE_SUPERSEDES_HOURS = 12
    session, _officials = _reminded_session(smtp_server, "km", "en")

    new_start = _move(session, 64)  # its "48 hours before" falls due 16 hours after the notice

    assert _dispatch_and_send() == []
    assert len(_dispatch_and_send(now=new_start - datetime.timedelta(hours=47))) == 2
    assert len(smtp_server.messages) == 2 + 2 + 2
