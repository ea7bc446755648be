"""The dispatcher: what is due, once, in batches; catching up; and what it refuses to send."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from participants import reminders
from participants.models import Official, ReminderDelivery
from participants.services import enrollment_create, enrollment_withdraw
from tests.factories import OfficialFactory, SessionFactory

from .helpers import course_with_officials, session_in

pytestmark = pytest.mark.django_db

Status = ReminderDelivery.Status


def _dispatch(now=None):
    queued: list[int] = []
    with TestCase.captureOnCommitCallbacks(execute=True):
        result = reminders.dispatch(now=now, enqueue=queued.extend)
    return result, queued


def test_a_session_two_days_away_gets_one_pending_reminder_per_enrolled_official():
    course, officials = course_with_officials("km", "en", "km")
    session = session_in(course, 47)

    result, queued = _dispatch()

    rows = ReminderDelivery.objects.filter(session=session)
    assert {r.official_id for r in rows} == {o.pk for o in officials}
    assert {r.key for r in rows} == {reminders.reminder_key(48, session.starts_at)}
    assert sorted(queued) == sorted(r.pk for r in rows) and result.queued == 3


def test_running_the_dispatcher_twice_makes_no_second_row_and_queues_nothing_new():
    course, _ = course_with_officials("km", "en")
    session_in(course, 47)
    _dispatch()

    result, queued = _dispatch()

    assert ReminderDelivery.objects.count() == 2
    assert result.created == 0 and queued == []


def test_a_session_not_yet_due_gets_nothing():
    course, _ = course_with_officials("km")
    session_in(course, 60)

    result, _ = _dispatch()

    assert result.sessions == 0 and not ReminderDelivery.objects.exists()


def test_a_dispatcher_that_was_down_sends_only_the_nearest_reminder_and_nothing_for_started_sessions():
    course, _ = course_with_officials("km")
    soon = session_in(course, 1)  # the 48 h and the 2 h times have both passed
    started = session_in(course, -0.5)

    _dispatch()

    assert list(ReminderDelivery.objects.filter(session=soon).values_list("key", flat=True)) == [
        reminders.reminder_key(2, soon.starts_at)
    ]
    assert not ReminderDelivery.objects.filter(session=started).exists()


def test_per_course_offsets_are_honoured_and_an_empty_list_sends_none():
    course, _ = course_with_officials("km", reminder_offsets_hours=[72])
    silent, _ = course_with_officials("km", reminder_offsets_hours=[])
    session = session_in(course, 70)
    session_in(silent, 1)

    _dispatch()

    assert list(ReminderDelivery.objects.values_list("session_id", "key")) == [
        (session.pk, reminders.reminder_key(72, session.starts_at))
    ]


def test_withdrawn_officials_get_nothing_and_those_without_an_address_or_opted_out_are_skipped():
    course, (reader, withdrawn, no_mail, opted) = course_with_officials("km", "en", "km", "en")
    withdrawn.enrollments.update(status="withdrawn", withdrawn_at=timezone.now())
    Official.objects.filter(pk=no_mail.pk).update(email="")
    Official.objects.filter(pk=opted.pk).update(reminders_opt_out_at=timezone.now())
    session = session_in(course, 10)

    _, queued = _dispatch()

    rows = {r.official_id: r for r in ReminderDelivery.objects.filter(session=session)}
    assert set(rows) == {reader.pk, no_mail.pk, opted.pk}
    assert rows[reader.pk].status == Status.PENDING
    assert (rows[no_mail.pk].status, rows[no_mail.pk].reason) == (Status.SKIPPED, reminders.REASON_NO_EMAIL)
    assert (rows[opted.pk].status, rows[opted.pk].reason) == (Status.SKIPPED, reminders.REASON_OPTED_OUT)
    assert queued == [rows[reader.pk].pk]


def test_a_session_without_a_start_time_is_not_dispatched_and_the_preview_warns(capsys):
    course, _ = course_with_officials("km")
    SessionFactory(course=course, starts_at=None, ends_at=None, title="Date to be fixed")

    _dispatch()
    call_command("preview_reminders")

    assert not ReminderDelivery.objects.exists()
    out = capsys.readouterr().out
    assert "Warning: session" in out and "Date to be fixed" in out and "no start time" in out


def test_a_cancelled_session_gets_no_reminder():
    course, _ = course_with_officials("km")
    session = session_in(course, 5)
    session.status, session.cancelled_at = "cancelled", timezone.now()
    session.save()

    _dispatch()

    assert not ReminderDelivery.objects.exists()


def test_a_late_enrolment_gets_the_reminder_already_sent_to_the_others():
    course, _ = course_with_officials("km")
    session = session_in(course, 40)
    _dispatch()
    late = OfficialFactory()
    enrollment_create(official=late, course=course)

    result, queued = _dispatch()

    assert result.created == 1 and queued == [ReminderDelivery.objects.get(session=session, official=late).pk]


def test_an_official_enrolled_after_dispatch_gets_the_reminder_even_when_another_withdrew_meanwhile():
    course, (_stays, leaves, _third) = course_with_officials("km", "en", "km")
    session = session_in(course, 40)
    _dispatch()
    enrollment_withdraw(enrollment=leaves.enrollments.get(), reason="Transferred")
    late = OfficialFactory()
    enrollment_create(official=late, course=course)  # 3 enrolled again, 3 rows already: same counts

    result, queued = _dispatch()

    assert result.created == 1
    assert queued == [ReminderDelivery.objects.get(session=session, official=late).pk]
    assert ReminderDelivery.objects.filter(session=session).count() == 4
    assert _dispatch()[1] == []  # and only once


def test_rows_left_pending_when_the_session_starts_are_closed_not_sent_late():
    course, _ = course_with_officials("km")
    session = session_in(course, 1)
    _dispatch()

    later = session.starts_at + datetime.timedelta(minutes=1)
    result, queued = _dispatch(now=later)

    assert queued == [] and result.expired == 1
    assert ReminderDelivery.objects.get().reason == reminders.REASON_STARTED


def test_dispatch_batches_its_queries_whatever_the_number_of_sessions_and_officials():
    def run(sessions: int, officials: int) -> int:
        ReminderDelivery.objects.all().delete()
        for _ in range(sessions):
            course, _ = course_with_officials(*["km"] * officials)
            session_in(course, 30)
        with CaptureQueriesContext(connection) as ctx:
            _dispatch()
        return len(ctx.captured_queries)

    small = run(1, 1)
    large = run(6, 5)

    assert large == small
    assert ReminderDelivery.objects.count() == 1 + 30  # the first run's session is still due


def test_the_preview_lists_the_next_reminders_and_sends_nothing(capsys, mailoutbox):
    course, _ = course_with_officials("km", "en")
    session = session_in(course, 30, title="Industrial policy, day 2")

    call_command("preview_reminders", "--hours", "48")

    out = capsys.readouterr().out
    assert "Industrial policy, day 2" in out and "2 to send" in out
    assert " 48 h before" in out and "  2 h before" in out
    assert not ReminderDelivery.objects.filter(session=session).exists() and mailoutbox == []
