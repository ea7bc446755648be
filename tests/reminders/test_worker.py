"""End to end: a real Celery worker process on Redis, a real SMTP server, the test database.

These need PostgreSQL and Redis (skipped outside CI without them, failing in CI). Tasks are
published by this process to Redis; the worker process claims ledger rows in the test
database and talks SMTP to the server running in this process. Where beat would run the
dispatcher every few minutes, a test calls reminders.dispatch() itself (`_beat`); the worker
runs with a back-off of 0.2 s doubling to 1 s (conftest), so an outage spanning many tries
passes in seconds.
"""

from __future__ import annotations

import datetime
import time
from collections import Counter

import pytest
from django.utils import timezone

from courses.services import session_update
from participants import reminders
from participants.models import Official, ReminderDelivery
from participants.services import enrollment_create, enrollment_withdraw
from participants.tasks import send_deliveries, send_delivery
from tests.factories import OfficialFactory

from .conftest import wait_for
from .helpers import course_with_officials, ics_of, parse_ics, session_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.postgres]

Status = ReminderDelivery.Status
Kind = ReminderDelivery.Kind


def _all_done(session):
    return lambda: (
        not ReminderDelivery.objects.filter(
            session=session, status__in=[Status.PENDING, Status.SENDING]
        ).exists()
    )


def _beat(until, timeout: float = 40, every: float = 0.3, what: str = "condition") -> None:
    """Run the dispatcher as Celery beat would, only more often, until `until()` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reminders.dispatch()
        if until():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _received(smtp_server) -> Counter:
    return Counter(str(m["To"]) for m in smtp_server.messages)


def test_a_session_two_days_away_gets_exactly_one_reminder_per_official_through_a_real_worker(
    celery_worker, smtp_server
):
    course, officials = course_with_officials("km", "en", "km", "en", "km")
    withdrawn, no_mail = officials[3], officials[4]
    withdrawn.enrollments.update(status="withdrawn", withdrawn_at=withdrawn.created_at)
    Official.objects.filter(pk=no_mail.pk).update(email="")
    readers = officials[:3]
    session = session_in(course, 47)
    celery_worker.start()

    first = reminders.dispatch()
    second = reminders.dispatch()  # a second beat, or the same run twice
    send_deliveries.delay(first.queued_ids)  # the broker delivering the same batch twice
    for delivery_id in first.queued_ids:  # and a task of the one-row-per-task release
        send_delivery.delay(delivery_id)
    wait_for(_all_done(session), what="every reminder sent")
    time.sleep(1)  # any duplicate would arrive now

    assert first.queued == 3 and second.queued == 0
    assert smtp_server.to_addresses() == sorted(o.email for o in readers)
    assert len(smtp_server.peers) == 1  # one connection for the batch
    for message in smtp_server.messages:
        official = next(o for o in readers if o.email == str(message["To"]))
        expected = "ការរំលឹក៖" if official.preferred_language == "km" else "Reminder:"
        assert str(message["Subject"]).strip().startswith(expected)
        assert parse_ics(ics_of(message))["UID"] == f"session-{session.pk}@127.0.0.1"
    skipped = ReminderDelivery.objects.get(official=no_mail)
    assert skipped.status == Status.SKIPPED and skipped.reason == reminders.REASON_NO_EMAIL
    assert not ReminderDelivery.objects.filter(official=withdrawn).exists()


def test_killing_the_worker_in_the_middle_of_a_batch_and_starting_it_again_sends_once_per_official(
    celery_worker, smtp_server
):
    course, officials = course_with_officials(*["km", "en"] * 4)
    session = session_in(course, 30)
    smtp_server.rcpt_delay = 0.4  # each send dawdles in RCPT, before the message is accepted
    celery_worker.start()

    reminders.dispatch()
    wait_for(lambda: smtp_server.rcpt_count >= 3, what="the third send to begin")
    celery_worker.kill()  # SIGKILL in the middle of the third conversation
    assert len(smtp_server.messages) == 2
    rows = ReminderDelivery.objects.filter(session=session)
    assert rows.filter(status=Status.SENDING).count() == 6  # the rest of the batch, still claimed

    smtp_server.rcpt_delay = 0
    celery_worker.start()
    time.sleep(3.2)  # the batch's claim times out (REMINDER_CLAIM_TIMEOUT_SECONDS=3) …
    assert reminders.dispatch().queued == 6  # … and the dispatcher takes them up again
    wait_for(_all_done(session), what="every reminder sent")
    time.sleep(1)

    assert smtp_server.to_addresses() == sorted(o.email for o in officials)
    assert set(rows.values_list("status", flat=True)) == {"sent"}


def test_a_server_that_refuses_then_accepts_gets_the_message_once_through_later_tries(
    celery_worker, smtp_server
):
    course, (official,) = course_with_officials("en")
    session = session_in(course, 30)
    smtp_server.script = ["451 4.3.0 Try again later", "421 4.7.0 Busy"]
    celery_worker.start()

    _beat(_all_done(session), what="the reminder tried again")
    time.sleep(1)

    row = ReminderDelivery.objects.get(session=session)
    assert row.status == Status.SENT and row.attempts == 3 and row.next_attempt_at is None
    assert smtp_server.refusals == 2 and smtp_server.to_addresses() == [official.email]


def test_an_official_withdrawn_after_dispatch_gets_no_email_and_the_ledger_says_why(
    celery_worker, smtp_server
):
    course, (stays, leaves, also_stays) = course_with_officials("km", "en", "km")
    session = session_in(course, 47)
    assert reminders.dispatch().queued == 3  # the tasks wait in Redis: no worker yet

    enrollment_withdraw(enrollment=leaves.enrollments.get(), reason="Transferred to another ministry")
    celery_worker.start()
    wait_for(_all_done(session), what="the batch to be dealt with")
    time.sleep(1)

    assert smtp_server.to_addresses() == sorted([stays.email, also_stays.email])
    row = ReminderDelivery.objects.get(session=session, official=leaves)
    assert (row.status, row.reason) == (Status.SKIPPED, reminders.REASON_WITHDRAWN)


def test_an_official_enrolled_after_dispatch_gets_exactly_one_even_when_another_withdrew_meanwhile(
    celery_worker, smtp_server
):
    course, (first, leaves, third) = course_with_officials("km", "en", "km")
    session = session_in(course, 47)
    celery_worker.start()
    reminders.dispatch()
    wait_for(_all_done(session), what="the first reminders")

    enrollment_withdraw(enrollment=leaves.enrollments.get(), reason="Transferred")
    late = OfficialFactory(preferred_language="en")
    enrollment_create(official=late, course=course)
    assert reminders.dispatch().queued == 1
    wait_for(_all_done(session), what="the late official's reminder")
    assert reminders.dispatch().queued == 0
    time.sleep(1)

    assert _received(smtp_server) == Counter({o.email: 1 for o in (first, leaves, third, late)})


def test_a_mail_server_down_far_longer_than_five_tries_loses_no_reminder_of_a_session_not_yet_started(
    celery_worker, smtp_server
):
    course, officials = course_with_officials("km", "en", "km")
    later = session_in(course, 30)
    soon_course, (too_late,) = course_with_officials("en")
    soon = session_in(soon_course, 4 / 3600)  # starts in 4 s, while the server is down
    smtp_server.go_down()
    # Written now, not at the worker's first beat: on a busy machine a worker may take longer
    # than 4 s to start, and a session already started gets no row at all.
    assert ReminderDelivery.objects.filter(session=soon).count() == 0
    reminders.dispatch()
    assert ReminderDelivery.objects.filter(session=soon, official=too_late).exists()
    celery_worker.start()

    rows = ReminderDelivery.objects.filter(session=later)
    _beat(
        lambda: rows.count() == 3 and min(rows.values_list("attempts", flat=True)) >= 8,
        what="eight tries of every reminder during the outage",
    )
    assert set(rows.values_list("status", flat=True)) == {Status.PENDING}
    assert all(
        "Could not talk to the mail server" in reason for reason in rows.values_list("reason", flat=True)
    )
    assert timezone.now() > soon.starts_at
    smtp_server.come_back()
    _beat(_all_done(later), what="every reminder sent once the server is back")
    time.sleep(1)

    assert _received(smtp_server) == Counter({o.email: 1 for o in officials})
    assert set(rows.values_list("status", flat=True)) == {Status.SENT}
    missed = ReminderDelivery.objects.get(session=soon, official=too_late)
    assert (missed.status, missed.reason) == (Status.SKIPPED, reminders.REASON_STARTED)


def test_a_moved_session_sends_one_message_per_official_not_a_notice_and_a_reminder_minutes_apart(
    celery_worker, smtp_server
):
    course, officials = course_with_officials("km", "en")
    session = session_in(course, 40)
    celery_worker.start()
    reminders.dispatch()
    wait_for(_all_done(session), what="the 48-hour reminders")
    assert len(smtp_server.messages) == 2

    new_start = timezone.now() + datetime.timedelta(hours=30)  # the new time's 48 h mark has passed
    session_update(session=session, starts_at=new_start, ends_at=new_start + datetime.timedelta(hours=2))
    wait_for(
        lambda: (
            ReminderDelivery.objects.filter(session=session, kind=Kind.UPDATE, status=Status.SENT).count()
            == 2
        ),
        what="the change notices",
    )
    for _ in range(5):  # beats after the move
        reminders.dispatch()
        time.sleep(0.3)
    wait_for(_all_done(session), what="anything the beats queued")
    time.sleep(1)

    assert _received(smtp_server) == Counter({o.email: 2 for o in officials})  # the reminder, the notice
    new_rows = ReminderDelivery.objects.filter(session=session, key=reminders.reminder_key(48, new_start))
    assert {(r.status, r.reason) for r in new_rows} == {(Status.SKIPPED, reminders.REASON_COVERED_BY_NOTICE)}
