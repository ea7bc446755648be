"""Links at the right time, once each, with the reminders' opt-out; at most two reminders."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from participants.reminders import opt_out
from participants.services import enrollment_withdraw
from participants.surveys import sending, services
from participants.surveys.models import Invitation
from pcp_portal.models import OutboxEvent
from tests.factories import SessionFactory

from .conftest import answers_for, make_test

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


def session_at(course, start, hours=3):
    return SessionFactory(course=course, starts_at=start, ends_at=start + hours * HOUR)


def test_a_pre_test_link_goes_out_before_the_first_session_once_per_official(cast):
    course, officials = cast
    now = timezone.now()
    session_at(course, now + 48 * HOUR)
    session_at(course, now + 96 * HOUR)
    pre = make_test(course)
    assert sending.dispatch(now=now - 30 * HOUR).created == 0  # 78 h before: not yet (72 h lead)
    first = sending.dispatch(now=now)
    second = sending.dispatch(now=now)
    assert first.created == 3 and second.created == 0 and second.queued == 0
    tasks = OutboxEvent.objects.filter(name=sending.SEND_TASK)
    assert [task.payload["args"][0] for task in tasks] == [first.queued_ids]

    assert sending.deliver_batch(first.queued_ids) == {"sent": 3, "skipped": 0, "retry": 0, "failed": 0}
    assert sending.deliver_batch(first.queued_ids)["sent"] == 0  # the same batch delivered twice
    assert sorted(m.to[0] for m in mail.outbox) == sorted(o.email for o in officials)
    khmer = next(m for m in mail.outbox if m.to == [officials[0].email])
    assert "សូមឆ្លើយ" in khmer.body and "តេស្តចំណេះដឹង" in khmer.subject
    link = next(line for line in khmer.body.splitlines() if "/survey/" in line)
    token = link.rsplit("/survey/", 1)[1].strip("/")
    assert services.open_link(token) == (pre, officials[0])
    assert sending.dispatch(now=now + 49 * HOUR).created == 0  # the course started: no new links


def test_opted_out_withdrawn_and_already_answered_officials_get_nothing(cast):
    course, officials = cast
    now = timezone.now()
    session_at(course, now + 10 * HOUR)
    pre = make_test(course)
    opt_out(official=officials[0])
    enrollment_withdraw(enrollment=officials[1].enrollments.get(), reason="Moved ministry")
    services.response_submit(
        instrument=pre, official=officials[2], data=answers_for(pre, single=2, multiple=[1])
    )
    result = sending.dispatch(now=now)
    assert result.created == 1  # the withdrawn and the one who answered get no row
    assert sending.deliver_batch(result.queued_ids)["skipped"] == 1
    row = Invitation.objects.get()
    assert row.official == officials[0] and row.reason == "The official opted out of e-mail reminders."
    assert mail.outbox == []


def test_feedback_after_its_session_post_test_after_the_last_and_follow_up_months_later(cast):
    course, _officials = cast
    now = timezone.now()
    first = session_at(course, now - 10 * HOUR)
    session_at(course, now + 10 * HOUR)
    feedback = services.instrument_create(course=course, kind="feedback", session=first, title_en="Feedback")
    pre = make_test(course)
    post = make_test(course, kind="post", pre_test=pre, title="After")
    follow = services.instrument_create(course=course, kind="follow_up", follow_up_months=6, title_en="Later")
    assert [i.pk for i in sending.due_instruments(now)] == [feedback.pk]
    later = now + 14 * HOUR
    assert {i.pk for i in sending.due_instruments(later)} == {feedback.pk, post.pk}
    half_year = now + datetime.timedelta(days=185)
    assert follow.pk in {i.pk for i in sending.due_instruments(half_year)}
    assert follow.pk not in {i.pk for i in sending.due_instruments(now + datetime.timedelta(days=150))}


def test_unanswered_links_are_recalled_at_most_twice(cast, settings):
    course, officials = cast
    now = timezone.now()
    session_at(course, now - 5 * HOUR)
    post = make_test(course, kind="post")
    sending.deliver_batch(sending.dispatch(now=now).queued_ids)
    Invitation.objects.update(sent_at=now)
    services.response_submit(
        instrument=post, official=officials[0], data=answers_for(post, single=2, multiple=[1])
    )
    assert sending.dispatch(now=now + 71 * HOUR).created == 0
    assert sending.dispatch(now=now + 73 * HOUR).created == 2  # not the one who answered
    assert sending.dispatch(now=now + 1000 * HOUR).created == 2  # the second reminder; never a third
    assert sending.dispatch(now=now + 2000 * HOUR).created == 0
    keys = sorted(Invitation.objects.filter(official=officials[1]).values_list("key", flat=True))
    assert keys == ["link", "reminder-1", "reminder-2"]
    result = sending.deliver_batch(
        list(Invitation.objects.filter(key="reminder-1").values_list("pk", flat=True))
    )
    assert result["sent"] == 2 and mail.outbox[-1].subject.startswith(("Reminder: ", "ការរំលឹក៖ "))


def test_a_closed_or_replaced_instrument_sends_nothing_more(cast):
    course, _officials = cast
    now = timezone.now()
    session_at(course, now - 5 * HOUR)
    post = make_test(course, kind="post")
    queued = sending.dispatch(now=now).queued_ids
    post.closes_at = now
    post.save()
    assert sending.deliver_batch(queued)["skipped"] == 3
    assert set(Invitation.objects.values_list("reason", flat=True)) == {"The survey closed."}
    other = make_test(course, kind="post", title="Other")
    services.instrument_new_version(instrument=other)
    assert other.pk not in {i.pk for i in sending.due_instruments(now)}


def test_who_answered_an_earlier_version_gets_no_link_to_the_new_one(cast):
    course, officials = cast
    now = timezone.now()
    session_at(course, now - 5 * HOUR)
    post = make_test(course, kind="post")
    services.response_submit(
        instrument=post, official=officials[0], data=answers_for(post, single=2, multiple=[1])
    )
    newer = services.instrument_new_version(instrument=post)
    sending.dispatch(now=now)
    invited = set(Invitation.objects.filter(instrument=newer).values_list("official_id", flat=True))
    assert invited == {officials[1].pk, officials[2].pk}
