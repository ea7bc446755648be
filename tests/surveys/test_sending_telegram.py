"""Survey links through the official's reminder channel, against the fake Bot API: Telegram when they
linked it (in their language, with the personal link), e-mail as the fallback when the bot is
blocked, a 429 waited out, e-mail for everyone else, and still once per row."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from participants import reminders
from participants.models import Channel, Official
from participants.surveys import sending, services
from participants.surveys.models import Invitation
from tests.factories import SessionFactory

from .conftest import make_test

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)
BLOCKED = (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
NOTHING_SENT = {"sent": 0, "skipped": 0, "retry": 0, "failed": 0}


@pytest.fixture
def pre_test(cast):
    """The cast's pre-test, due now (the first session in ten hours); the first official, who reads
    Khmer, linked Telegram as chat 4242."""
    course, officials = cast
    SessionFactory(course=course, starts_at=timezone.now() + 10 * HOUR, ends_at=timezone.now() + 13 * HOUR)
    reminders.telegram_link(official_id=officials[0].pk, chat_id=4242)
    return make_test(course), officials


def token_of(url: str) -> str:
    return url.rsplit("/survey/", 1)[1].strip("/")


def row_of(official) -> Invitation:
    return Invitation.objects.get(official=official, key=Invitation.Key.LINK)


def test_a_linked_official_gets_the_link_on_telegram_in_khmer_and_no_email(bot_api, pre_test):
    pre, officials = pre_test

    result = sending.dispatch()
    assert sending.deliver_batch(result.queued_ids) == {**NOTHING_SENT, "sent": 3}

    (sent,) = bot_api.messages()
    assert sent["chat_id"] == 4242
    assert "សូមឆ្លើយ «តេស្តចំណេះដឹង»" in sent["text"] and "តំណផ្ទាល់ខ្លួន" in sent["text"]
    ((button,),) = sent["reply_markup"]["inline_keyboard"]
    assert button["text"] == "ឆ្លើយឥឡូវនេះ" and button["url"] in sent["text"]
    assert services.open_link(token_of(button["url"])) == (pre, officials[0])
    assert sorted(m.to[0] for m in mail.outbox) == sorted(o.email for o in officials[1:])
    assert row_of(officials[0]).channel == Channel.TELEGRAM
    assert {row_of(o).channel for o in officials[1:]} == {Channel.EMAIL}


def test_an_english_reader_gets_english_and_a_reminder_says_so(bot_api, pre_test):
    _pre, officials = pre_test
    Official.objects.filter(pk=officials[0].pk).update(preferred_language="en")
    sending.deliver_batch(sending.dispatch().queued_ids)
    Invitation.objects.update(sent_at=timezone.now() - 100 * HOUR)
    reminder = sending.dispatch(now=timezone.now() - 20 * HOUR)  # still before the course starts
    sending.deliver_batch(reminder.queued_ids)

    first, second = (m["text"] for m in bot_api.messages())
    assert first.startswith('Please answer "Knowledge test".') and "Your personal link" in first
    assert second.startswith('Reminder: you have not yet answered "Knowledge test".')
    assert Invitation.objects.get(official=officials[0], key="reminder-1").channel == Channel.TELEGRAM


def test_a_blocked_bot_sends_that_very_link_by_email_and_unlinks_telegram(bot_api, pre_test):
    _pre, officials = pre_test
    bot_api.script = [BLOCKED]

    assert sending.deliver_batch(sending.dispatch().queued_ids)["sent"] == 3

    assert len(bot_api.calls) == 1 and bot_api.messages() == []
    khmer = next(m for m in mail.outbox if m.to == [officials[0].email])
    assert "សូមឆ្លើយ" in khmer.body
    row = row_of(officials[0])
    assert (row.status, row.channel, row.attempts) == ("sent", Channel.EMAIL, 1)
    official = Official.objects.get(pk=officials[0].pk)
    assert official.telegram_chat_id is None and official.reminder_channel == Channel.EMAIL


def test_a_short_429_is_waited_out_then_the_link_is_sent_once(bot_api, pre_test):
    _pre, officials = pre_test
    bot_api.script = [(429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 1}})]

    assert sending.deliver_batch(sending.dispatch().queued_ids)["sent"] == 3

    assert [c["status"] for c in bot_api.calls] == [429, 200]
    assert bot_api.calls[1]["at"] - bot_api.calls[0]["at"] >= 1
    assert officials[0].email not in [m.to[0] for m in mail.outbox]
    row = row_of(officials[0])
    assert (row.status, row.attempts) == ("sent", 1)


def test_a_long_429_becomes_the_links_next_try_and_it_is_sent_once_then(bot_api, pre_test, settings):
    settings.PCP_TELEGRAM_MAX_RETRY_AFTER_SECONDS = 5
    _pre, officials = pre_test
    bot_api.script = [(429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 120}})]
    before = timezone.now()

    assert sending.deliver_batch(sending.dispatch().queued_ids) == {**NOTHING_SENT, "sent": 2, "retry": 1}

    row = row_of(officials[0])
    assert (row.status, row.channel) == ("pending", Channel.TELEGRAM)
    assert row.next_attempt_at >= before + datetime.timedelta(seconds=120)
    assert sending.dispatch().queued == 0  # not before the wait
    later = sending.dispatch(now=row.next_attempt_at + datetime.timedelta(seconds=1))
    assert later.queued_ids == [row.pk]
    assert sending.deliver_batch(later.queued_ids)["sent"] == 1
    assert len(bot_api.messages()) == 1 and len(mail.outbox) == 2
    assert row_of(officials[0]).status == "sent"


def test_an_unlinked_official_still_gets_email(bot_api, cast):
    course, officials = cast
    SessionFactory(course=course, starts_at=timezone.now() + 10 * HOUR, ends_at=timezone.now() + 13 * HOUR)
    make_test(course)

    assert sending.deliver_batch(sending.dispatch().queued_ids)["sent"] == 3

    assert bot_api.calls == []
    assert sorted(m.to[0] for m in mail.outbox) == sorted(o.email for o in officials)


def test_an_official_with_only_telegram_gets_the_link(bot_api, pre_test):
    _pre, officials = pre_test
    Official.objects.filter(pk=officials[0].pk).update(email="")

    sending.deliver_batch(sending.dispatch().queued_ids)

    assert [m["chat_id"] for m in bot_api.messages()] == [4242]
    assert row_of(officials[0]).status == "sent"


def test_running_the_sender_twice_sends_each_link_once(bot_api, pre_test):

    first = sending.dispatch()
    second = sending.dispatch()
    assert second.created == 0 and second.queued == 0
    assert sending.deliver_batch(first.queued_ids)["sent"] == 3
    assert sending.deliver_batch(first.queued_ids) == NOTHING_SENT
    assert sending.dispatch().queued == 0

    assert len(bot_api.messages()) == 1 and len(mail.outbox) == 2
