"""Claim, send, complete: one e-mail per ledger row, against a real SMTP server on loopback."""

from __future__ import annotations

import datetime

import pytest
from django.test import TestCase
from django.utils import timezone

from courses.models import Session
from participants import reminders
from participants.models import Official, ReminderDelivery
from participants.reminders import ledger
from participants.services import enrollment_withdraw
from tests.factories import OfficialFactory

from .helpers import course_with_officials, ics_of, parse_ics, read_ics, session_in

pytestmark = pytest.mark.django_db

Status = ReminderDelivery.Status
KHMER_DIGITS = str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")


def _one_row(language="km", hours=40, **official_fields):
    course, (official,) = course_with_officials(language)
    if official_fields:
        for name, value in official_fields.items():
            setattr(official, name, value)
        official.save()
    session = session_in(course, hours)
    result = reminders.dispatch(enqueue=lambda _ids: None)
    assert result.created == 1
    return ReminderDelivery.objects.get(session=session, official=official)


def test_a_reminder_is_sent_once_however_often_it_is_delivered(smtp_server):
    row = _one_row()

    assert reminders.deliver(row.pk).outcome == reminders.Outcome.SENT
    assert reminders.deliver(row.pk).outcome == reminders.Outcome.NOT_CLAIMED
    assert reminders.deliver(row.pk).outcome == reminders.Outcome.NOT_CLAIMED

    assert len(smtp_server.messages) == 1
    row.refresh_from_db()
    assert row.status == Status.SENT and row.sent_at and row.attempts == 1


def test_a_khmer_reader_gets_khmer_text_phnom_penh_time_and_a_valid_calendar_file(smtp_server):
    row = _one_row("km")
    reminders.deliver(row.pk)

    (message,) = smtp_server.messages
    assert str(message["Subject"]).strip().startswith("ការរំលឹក៖")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    local = timezone.localtime(row.session.starts_at)
    assert "ម៉ោងភ្នំពេញ" in text and f"{local:%H:%M}".translate(KHMER_DIGITS) in text
    assert 'lang="km"' in html and row.session.venue in html
    event = parse_ics(ics_of(message))
    assert event["DTSTART"] == row.session.starts_at.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    assert event["UID"].startswith(f"session-{row.session_id}@") and event["METHOD"] == "PUBLISH"


def test_the_calendar_file_carries_long_khmer_text_and_separators_exactly():
    course, _officials = course_with_officials("km", title="គោលនយោបាយឧស្សាហកម្ម; ផែនការ, ការអនុវត្ត")
    session = session_in(
        course,
        40,
        title="វគ្គទី៣៖ ការវិភាគខ្សែសង្វាក់តម្លៃ \\ ការពិភាក្សាជាក្រុម " * 3,
        topic="ប្រធានបទទី១\nប្រធានបទទី២",
        venue="MISTI, Phnom Penh; room 2",
    )
    reminders.dispatch(enqueue=lambda _ids: None)
    row = ReminderDelivery.objects.get(session=session)

    text = reminders.build_ics(row)

    written = parse_ics(text)  # CRLF, at most 75 octets a line, the required properties
    assert written["LOCATION"] == "MISTI\\, Phnom Penh\\; room 2"
    event = read_ics(text)
    assert str(event["SUMMARY"]) == f"{course.title}: {session.title}"
    assert str(event["DESCRIPTION"]) == session.topic
    assert str(event["LOCATION"]) == session.venue
    # To the second, as iCalendar writes times.
    assert event.decoded("DTSTART") == session.starts_at.replace(microsecond=0)
    assert event.decoded("DTEND") == session.ends_at.replace(microsecond=0)
    assert str(event["UID"]) == f"session-{session.pk}@127.0.0.1" and str(event["STATUS"]) == "CONFIRMED"


def test_an_english_reader_gets_english_text_and_an_opt_out_link_that_works(smtp_server, client):
    row = _one_row("en")
    reminders.deliver(row.pk)

    (message,) = smtp_server.messages
    assert str(message["Subject"]).strip().startswith("Reminder: ")
    text = message.get_body(("plain",)).get_content()
    assert "Phnom Penh time" in text and row.session.course.title in text
    link = next(line for line in text.splitlines() if "/reminders/opt-out/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert client.post("/" + path).status_code == 200
    row.official.refresh_from_db()
    assert row.official.reminders_opt_out_at is not None


def test_a_refusal_with_a_4xx_reply_is_retried_and_the_message_is_sent_once(smtp_server):
    smtp_server.script = ["451 4.3.0 Try again later"]
    row = _one_row()

    first = reminders.deliver(row.pk)
    assert first.outcome == reminders.Outcome.RETRY and first.retry_in > 0
    row.refresh_from_db()
    assert row.status == Status.PENDING and "451" in row.reason
    assert reminders.deliver(row.pk).outcome == reminders.Outcome.SENT

    assert len(smtp_server.messages) == 1 and smtp_server.refusals == 1
    row.refresh_from_db()
    assert row.status == Status.SENT and row.attempts == 2 and row.reason == ""


def test_a_refused_reminder_is_tried_again_after_its_back_off_for_as_long_as_the_session_has_not_started(
    smtp_server, settings
):
    settings.REMINDER_RETRY_BACKOFF_SECONDS, settings.REMINDER_RETRY_BACKOFF_MAX_SECONDS = 30, 240
    smtp_server.always = "421 4.7.0 Too busy"
    row = _one_row(hours=3)
    clock = timezone.now()

    waits = []
    for _ in range(8):  # far more tries than the 5 a reminder used to get
        assert reminders.deliver(row.pk).outcome == reminders.Outcome.RETRY
        row.refresh_from_db()
        assert row.status == Status.PENDING and "421" in row.reason and row.queued_at is None
        waits.append(round((row.next_attempt_at - timezone.now()).total_seconds() / 30) * 30)
        # The dispatcher leaves it alone until its back-off has passed, then queues it again.
        assert row.pk not in reminders.dispatch(now=clock, enqueue=lambda _ids: None).queued_ids
        clock = row.next_attempt_at
        assert row.pk in reminders.dispatch(now=clock, enqueue=lambda _ids: None).queued_ids

    assert waits == [30, 60, 120, 240, 240, 240, 240, 240]
    assert row.attempts == 8 and smtp_server.messages == []
    # When the session starts the reminder is of no use any more: closed, never failed.
    reminders.dispatch(now=row.session.starts_at, enqueue=lambda _ids: None)
    row.refresh_from_db()
    assert (row.status, row.reason) == (Status.SKIPPED, reminders.REASON_STARTED)


def test_a_permanent_5xx_refusal_is_not_retried(smtp_server):
    smtp_server.always = "550 5.1.1 No such mailbox"
    row = _one_row()

    assert reminders.deliver(row.pk).outcome == reminders.Outcome.FAILED
    row.refresh_from_db()
    assert row.status == Status.FAILED and row.attempts == 1 and "550" in row.reason
    assert smtp_server.refusals == 1


def test_a_mail_server_that_is_down_is_a_transient_failure(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    row = _one_row()

    result = reminders.deliver(row.pk)

    assert result.outcome == reminders.Outcome.RETRY and "Could not talk to the mail server" in result.detail


def test_a_worker_dying_after_the_server_accepted_sends_again_with_the_same_message_id(
    smtp_server, settings, monkeypatch
):
    """The SMTP gap: we chose AT LEAST ONCE (see the docstring of participants/reminders/)."""
    row = _one_row()
    real_finish = ledger.finish

    def die_before_recording_sent(delivery_id, token, **fields):
        if fields.get("status") == Status.SENT:
            raise SystemExit("worker killed")  # what a SIGKILL right after "250" leaves behind
        return real_finish(delivery_id, token, **fields)

    monkeypatch.setattr(ledger, "finish", die_before_recording_sent)
    with pytest.raises(SystemExit):
        reminders.deliver(row.pk)
    monkeypatch.setattr(ledger, "finish", real_finish)
    row.refresh_from_db()
    assert row.status == Status.SENDING and len(smtp_server.messages) == 1

    # While the claim is fresh nobody else may take it; after the timeout the dispatcher re-queues it.
    assert reminders.deliver(row.pk).outcome == reminders.Outcome.NOT_CLAIMED
    later = timezone.now() + datetime.timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT_SECONDS + 1)
    assert row.pk in reminders.dispatch(now=later, enqueue=lambda _ids: None).queued_ids
    ReminderDelivery.objects.filter(pk=row.pk).update(claimed_at=timezone.now() - datetime.timedelta(hours=1))
    assert reminders.deliver(row.pk).outcome == reminders.Outcome.SENT

    first, second = smtp_server.messages
    assert first["Message-ID"] == second["Message-ID"] == f"<reminder-{row.pk}@127.0.0.1>"


def test_an_official_who_lost_the_address_after_dispatch_is_skipped_with_the_reason(smtp_server):
    row = _one_row()
    OfficialFactory._meta.model.objects.filter(pk=row.official_id).update(email="")

    assert reminders.deliver(row.pk).outcome == reminders.Outcome.SKIPPED
    row.refresh_from_db()
    assert row.status == Status.SKIPPED and row.reason == reminders.REASON_NO_EMAIL
    assert smtp_server.messages == []


def test_the_back_off_grows_exponentially_up_to_its_cap(settings):
    settings.REMINDER_RETRY_BACKOFF_SECONDS = 30
    settings.REMINDER_RETRY_BACKOFF_MAX_SECONDS = 600
    assert [reminders.backoff_seconds(n) for n in (1, 2, 3, 4, 10, 1000)] == [30, 60, 120, 240, 600, 600]


# Checked again at the claim: what changed after the row was written -------------------------------


def test_an_official_withdrawn_after_dispatch_is_skipped_with_the_reason(smtp_server):
    row = _one_row()
    enrollment_withdraw(enrollment=row.official.enrollments.get(), reason="Transferred")

    assert reminders.deliver(row.pk).outcome == reminders.Outcome.SKIPPED
    row.refresh_from_db()
    assert (row.status, row.reason) == (Status.SKIPPED, reminders.REASON_WITHDRAWN)
    assert smtp_server.messages == []


def test_an_official_who_opted_out_after_dispatch_is_skipped_with_the_reason(smtp_server):
    row = _one_row()
    Official.objects.filter(pk=row.official_id).update(reminders_opt_out_at=timezone.now())

    assert reminders.deliver(row.pk).outcome == reminders.Outcome.SKIPPED
    row.refresh_from_db()
    assert (row.status, row.reason) == (Status.SKIPPED, reminders.REASON_OPTED_OUT)
    assert smtp_server.messages == []


def test_a_reminder_of_a_session_cancelled_after_dispatch_is_skipped_but_its_cancellation_is_sent(
    smtp_server,
):
    row = _one_row()
    Session.objects.filter(pk=row.session_id).update(status="cancelled", cancelled_at=timezone.now())
    cancellation = ReminderDelivery.objects.create(
        official=row.official, session=row.session, kind="cancellation", key="cancel"
    )

    assert reminders.deliver(row.pk).outcome == reminders.Outcome.SKIPPED
    assert reminders.deliver(cancellation.pk).outcome == reminders.Outcome.SENT
    row.refresh_from_db()
    assert (row.status, row.reason) == (Status.SKIPPED, reminders.REASON_CANCELLED)
    (message,) = smtp_server.messages
    assert parse_ics(ics_of(message))["METHOD"] == "CANCEL"


def test_a_reminder_for_a_start_time_the_session_no_longer_has_is_skipped_as_moved(smtp_server):
    row = _one_row()
    moved = row.session.starts_at + datetime.timedelta(hours=5)
    Session.objects.filter(pk=row.session_id).update(
        starts_at=moved, ends_at=moved + datetime.timedelta(hours=2)
    )

    assert reminders.deliver(row.pk).outcome == reminders.Outcome.SKIPPED
    row.refresh_from_db()
    assert (row.status, row.reason) == (Status.SKIPPED, reminders.REASON_MOVED)
    assert smtp_server.messages == []


# One connection for a batch ----------------------------------------------------------------------


def _batch(size: int):
    course, officials = course_with_officials(*["km", "en"] * (size // 2))
    session_in(course, 30)
    queued: list[int] = []
    with TestCase.captureOnCommitCallbacks(execute=True):
        reminders.dispatch(enqueue=queued.extend)
    return queued, officials


def test_a_batch_is_sent_over_one_connection_with_one_outcome_per_row(smtp_server):
    ids, officials = _batch(10)

    results = reminders.deliver_batch(ids)

    assert [results[i].outcome for i in ids] == ["sent"] * 10
    assert smtp_server.to_addresses() == sorted(o.email for o in officials)
    assert len(smtp_server.peers) == 1
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 10
    assert set(ReminderDelivery.objects.values_list("status", flat=True)) == {"sent"}


def test_a_refused_row_in_a_batch_does_not_stop_the_others(smtp_server):
    ids, _ = _batch(6)
    smtp_server.script = [None, "550 5.1.1 No such mailbox", "451 4.3.0 Try again later"]

    results = reminders.deliver_batch(ids)

    assert [results[i].outcome for i in ids] == ["sent", "failed", "retry", "sent", "sent", "sent"]
    assert len(smtp_server.messages) == 4 and len(smtp_server.peers) == 1
    statuses = dict(ReminderDelivery.objects.values_list("id", "status"))
    assert [statuses[i] for i in ids] == ["sent", "failed", "pending", "sent", "sent", "sent"]


def test_a_connection_dropped_by_the_server_is_reopened_and_the_row_sent_on_the_new_one(smtp_server):
    ids, officials = _batch(6)
    smtp_server.drop_at_rcpt = {3}  # the third conversation, on the reused connection

    results = reminders.deliver_batch(ids)

    assert [results[i].outcome for i in ids] == ["sent"] * 6
    assert smtp_server.to_addresses() == sorted(o.email for o in officials)
    assert len(smtp_server.peers) == 2


def test_a_batch_meeting_a_server_that_is_down_records_every_row_for_a_later_try(smtp_server):
    ids, _ = _batch(4)
    smtp_server.go_down()

    results = reminders.deliver_batch(ids)

    assert [results[i].outcome for i in ids] == ["retry"] * 4
    rows = ReminderDelivery.objects.all()
    assert {(r.status, r.attempts) for r in rows} == {(Status.PENDING, 1)}
    assert all("Could not talk to the mail server" in r.reason and r.next_attempt_at for r in rows)
