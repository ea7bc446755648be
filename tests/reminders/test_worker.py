"""End to end: a real Celery worker process on Redis, a real SMTP server, the test database.

These need PostgreSQL and Redis (skipped outside CI without them, failing in CI). Tasks are
published by this process to Redis; the worker process claims ledger rows in the test
database and talks SMTP to the server running in this process.
"""

from __future__ import annotations

import time

import pytest

from participants import reminders
from participants.models import Official, ReminderDelivery
from participants.tasks import send_delivery

from .conftest import wait_for
from .helpers import course_with_officials, ics_of, parse_ics, session_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.postgres]

Status = ReminderDelivery.Status


def _all_done(session):
    return lambda: (
        not ReminderDelivery.objects.filter(
            session=session, status__in=[Status.PENDING, Status.SENDING]
        ).exists()
    )


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
    for delivery_id in first.queued_ids:  # the broker delivering the same task twice
        send_delivery.delay(delivery_id)
    wait_for(_all_done(session), what="every reminder sent")
    time.sleep(1)  # any duplicate would arrive now

    assert first.queued == 3 and second.queued == 0
    assert smtp_server.to_addresses() == sorted(o.email for o in readers)
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
    assert 1 <= len(smtp_server.messages) < len(officials)
    assert ReminderDelivery.objects.filter(session=session, status=Status.SENDING).count() == 1

    smtp_server.rcpt_delay = 0
    celery_worker.start()
    wait_for(
        lambda: (
            ReminderDelivery.objects.filter(session=session, status=Status.SENDING).exists()
            and ReminderDelivery.objects.filter(session=session, status=Status.PENDING).count() == 0
        ),
        what="the restarted worker to drain the queue",
    )
    time.sleep(3.2)  # the dead worker's claim times out (REMINDER_CLAIM_TIMEOUT_SECONDS=3) …
    assert reminders.dispatch().queued == 1  # … and the dispatcher takes it up again
    wait_for(_all_done(session), what="every reminder sent")
    time.sleep(1)

    assert smtp_server.to_addresses() == sorted(o.email for o in officials)
    assert set(ReminderDelivery.objects.filter(session=session).values_list("status", flat=True)) == {"sent"}


def test_a_server_that_refuses_then_accepts_gets_the_message_once_through_worker_retries(
    celery_worker, smtp_server
):
    course, (official,) = course_with_officials("en")
    session = session_in(course, 30)
    smtp_server.script = ["451 4.3.0 Try again later", "421 4.7.0 Busy"]
    celery_worker.start()

    reminders.dispatch()
    wait_for(_all_done(session), what="the retried reminder")
    time.sleep(1)

    row = ReminderDelivery.objects.get(session=session)
    assert row.status == Status.SENT and row.attempts == 3
    assert smtp_server.refusals == 2 and smtp_server.to_addresses() == [official.email]


def test_a_server_that_always_refuses_leaves_failed_with_the_reason_after_the_last_retry(
    celery_worker, smtp_server
):
    course, _ = course_with_officials("km")
    session = session_in(course, 30)
    smtp_server.always = "451 4.3.0 Try again later"
    celery_worker.start()

    reminders.dispatch()
    wait_for(_all_done(session), what="the last retry")

    row = ReminderDelivery.objects.get(session=session)
    assert row.status == Status.FAILED and row.attempts == 3 and smtp_server.refusals == 3
    assert "451" in row.reason and "gave up after 3 tries" in row.reason
    assert smtp_server.messages == []
