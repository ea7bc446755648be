"""End to end with a real Celery worker on Redis, the fake Bot API and a real SMTP server on
loopback: an official links Telegram through the deep link and is reminded there, in Khmer; a
blocked bot (403) sends that reminder by e-mail; a 429 with retry_after delays, then sends once.

The worker process reads the same test database (PostgreSQL) and talks to the fake Bot API in
this process; the dispatcher runs here, as Celery beat would.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from participants import reminders
from participants.models import Channel, Official, ReminderDelivery
from tests.reminders.conftest import wait_for
from tests.reminders.helpers import course_with_officials, session_in
from tests.telegram.fake import TOKEN, WEBHOOK_SECRET

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.postgres]

Status = ReminderDelivery.Status


def _start_worker(celery_worker, bot_api) -> None:
    celery_worker.env.update(
        PCP_TELEGRAM_API_BASE=bot_api.url,
        PCP_TELEGRAM_BOT_TOKEN=TOKEN,
        PCP_TELEGRAM_BOT_USERNAME="pcp_test_bot",
    )
    celery_worker.start()


def _link_through_the_deep_link(client, official, chat_id: int) -> None:
    """What the official does: open the link on their reminder page, press Start in Telegram."""
    page = client.get(f"/reminders/opt-out/{reminders.opt_out_token(official)}/").content.decode()
    (link,) = re.findall(r'href="(https://t\.me/pcp_test_bot\?start=[^"]+)"', page)
    update = {
        "update_id": chat_id,
        "message": {"chat": {"id": chat_id, "type": "private"}, "text": f"/start {link.split('?start=')[1]}"},
    }
    response = client.post(
        "/telegram/webhook/",
        json.dumps(update),
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=WEBHOOK_SECRET,
    )
    assert response.status_code == 200 and response.json()["chat_id"] == chat_id


def _all_done(session):
    return lambda: (
        not ReminderDelivery.objects.filter(
            session=session, status__in=[Status.PENDING, Status.SENDING]
        ).exists()
    )


def test_a_linked_official_gets_the_reminder_on_telegram_in_khmer_and_not_by_email(
    celery_worker, bot_api, smtp_server, client
):
    course, (reader, other) = course_with_officials("km", "en")
    _link_through_the_deep_link(client, reader, chat_id=7001)
    session = session_in(course, 47)
    _start_worker(celery_worker, bot_api)

    first = reminders.dispatch()
    reminders.dispatch()  # a second beat changes nothing
    wait_for(_all_done(session), what="both reminders sent")
    time.sleep(1)  # any duplicate would arrive now

    assert first.queued == 2
    (sent,) = bot_api.messages()
    assert sent["chat_id"] == 7001 and "ការរំលឹក៖" in sent["text"] and "ម៉ោងភ្នំពេញ" in sent["text"]
    assert "/reminders/calendar/" in sent["reply_markup"]["inline_keyboard"][0][0]["url"]
    assert smtp_server.to_addresses() == [other.email]  # the reader got no e-mail
    rows = {row.official_id: row for row in ReminderDelivery.objects.filter(session=session)}
    assert len(rows) == 2
    assert (rows[reader.pk].status, rows[reader.pk].channel) == (Status.SENT, "telegram")
    assert (rows[other.pk].status, rows[other.pk].channel) == (Status.SENT, "email")


def test_a_blocked_bot_sends_that_reminder_by_email_and_switches_the_official_back(
    celery_worker, bot_api, smtp_server, client
):
    course, (reader,) = course_with_officials("km")
    _link_through_the_deep_link(client, reader, chat_id=7002)
    session = session_in(course, 47)
    bot_api.script = [
        (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    ]
    _start_worker(celery_worker, bot_api)

    reminders.dispatch()
    wait_for(_all_done(session), what="the reminder sent")
    time.sleep(1)

    assert [c["status"] for c in bot_api.calls] == [403]
    assert smtp_server.to_addresses() == [reader.email]
    (row,) = ReminderDelivery.objects.filter(session=session)
    assert (row.status, row.channel, row.attempts) == (Status.SENT, "email", 1)
    official = Official.objects.get(pk=reader.pk)
    assert official.telegram_chat_id is None and official.reminder_channel == Channel.EMAIL


def test_a_429_with_retry_after_delays_then_sends_once(celery_worker, bot_api, smtp_server, client):
    course, (reader,) = course_with_officials("km")
    _link_through_the_deep_link(client, reader, chat_id=7003)
    session = session_in(course, 47)
    bot_api.script = [(429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 2}})]
    _start_worker(celery_worker, bot_api)

    reminders.dispatch()
    wait_for(_all_done(session), what="the reminder sent")
    time.sleep(1)

    assert [c["status"] for c in bot_api.calls] == [429, 200]
    assert bot_api.calls[1]["at"] - bot_api.calls[0]["at"] >= 2
    assert len(bot_api.messages()) == 1 and smtp_server.messages == []
    (row,) = ReminderDelivery.objects.filter(session=session)
    assert (row.status, row.channel, row.attempts) == (Status.SENT, "telegram", 1)
