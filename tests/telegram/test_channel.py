"""Reminders by Telegram against the fake Bot API (and e-mail against a real SMTP server): the route
(Telegram first, e-mail as the fallback), one ledger row whatever the channel, 403 and 429."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from participants import reminders
from participants.models import Channel, Official, ReminderDelivery
from tests.reminders.helpers import course_with_officials, parse_ics, session_in

pytestmark = pytest.mark.django_db

Status = ReminderDelivery.Status
KHMER_DIGITS = str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")
BLOCKED = (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})


def linked(official, chat_id=4242) -> Official:
    return reminders.telegram_link(official_id=official.pk, chat_id=chat_id)


def rows_for(*languages, hours=40, link=True, **fields):
    course, officials = course_with_officials(*languages)
    for number, official in enumerate(officials):
        if fields:
            Official.objects.filter(pk=official.pk).update(**fields)
        if link:
            linked(official, chat_id=4242 + number)
    session = session_in(course, hours)
    reminders.dispatch(enqueue=lambda _ids: None)
    return list(ReminderDelivery.objects.filter(session=session).order_by("official_id"))


def test_a_linked_official_gets_the_reminder_on_telegram_in_khmer_with_a_calendar_button(
    bot_api, smtp_server, client
):
    (row,) = rows_for("km")

    assert reminders.deliver(row.pk).outcome == reminders.Outcome.SENT
    assert reminders.deliver(row.pk).outcome == reminders.Outcome.NOT_CLAIMED

    (sent,) = bot_api.messages()
    assert smtp_server.messages == []
    assert sent["chat_id"] == 4242
    local = timezone.localtime(row.session.starts_at)
    assert "ការរំលឹក៖" in sent["text"] and "ម៉ោងភ្នំពេញ" in sent["text"]
    assert f"{local:%H:%M}".translate(KHMER_DIGITS) in sent["text"]
    ((button,),) = sent["reply_markup"]["inline_keyboard"]
    assert button["text"] == "បញ្ចូលទៅក្នុងប្រតិទិន"
    response = client.get(button["url"].removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert parse_ics(response.content.decode())["UID"] == f"session-{row.session_id}@127.0.0.1"
    row.refresh_from_db()
    assert (row.status, row.channel, row.email, row.language) == (Status.SENT, "telegram", "4242", "km")


def test_an_english_reader_gets_english(bot_api, smtp_server):
    (row,) = rows_for("en")
    reminders.deliver(row.pk)
    (sent,) = bot_api.messages()
    assert sent["text"].startswith("Reminder: your next session")
    assert "Phnom Penh time" in sent["text"]
    assert sent["reply_markup"]["inline_keyboard"][0][0]["text"] == "Add to calendar"


def test_a_cancellation_goes_on_telegram_without_a_calendar_button(bot_api, smtp_server):
    (row,) = rows_for("en")
    reminders.deliver(row.pk)
    row.session.status = "cancelled"
    row.session.save()
    reminders.notify_change(session_id=row.session_id, enqueue=lambda _ids: None)
    notice = ReminderDelivery.objects.get(session=row.session, kind="cancellation")
    assert reminders.deliver(notice.pk).outcome == reminders.Outcome.SENT
    assert bot_api.messages()[-1]["text"].startswith("CANCELLED")
    assert "reply_markup" not in bot_api.messages()[-1]


def test_a_blocked_bot_switches_the_official_back_to_email_for_that_very_reminder(bot_api, smtp_server):
    (row,) = rows_for("km")
    bot_api.script = [BLOCKED]

    assert reminders.deliver(row.pk).outcome == reminders.Outcome.SENT

    assert len(bot_api.calls) == 1 and bot_api.messages() == []
    (mail,) = smtp_server.messages
    assert str(mail["To"]) == row.official.email
    row.refresh_from_db()
    assert (row.status, row.channel, row.email, row.attempts) == (Status.SENT, "email", row.official.email, 1)
    official = Official.objects.get(pk=row.official_id)
    assert official.telegram_chat_id is None and official.reminder_channel == Channel.EMAIL
    assert official.history.first().history_change_reason == "The official blocked the Telegram bot"
    assert ReminderDelivery.objects.filter(official=official).count() == 1


def test_one_blocked_answer_in_a_batch_is_enough_for_all_of_that_officials_rows(bot_api, smtp_server):
    course, (official,) = course_with_officials("en")
    linked(official)
    first, second = session_in(course, 30), session_in(course, 40)
    reminders.dispatch(enqueue=lambda _ids: None)
    ids = list(ReminderDelivery.objects.filter(official=official).values_list("id", flat=True))
    assert len(ids) == 2 and first.pk != second.pk
    bot_api.script = [BLOCKED, BLOCKED]

    results = reminders.deliver_batch(ids)

    assert {r.outcome for r in results.values()} == {reminders.Outcome.SENT}
    assert len(bot_api.calls) == 1 and len(smtp_server.messages) == 2


def test_a_blocked_bot_with_no_email_fallback_fails_the_row_and_stops_reminders(bot_api, smtp_server):
    (row,) = rows_for("en", link=False, reminders_opt_out_at=timezone.now())
    assert row.status == Status.SKIPPED  # opted out of e-mail: nothing to send
    official = linked(row.official)  # asking for Telegram turns reminders back on, on Telegram only
    assert official.reminder_fallback == "" and official.reminders_opt_out_at is None
    session = session_in(row.session.course, 20)
    reminders.dispatch(enqueue=lambda _ids: None)
    new = ReminderDelivery.objects.get(session=session)
    bot_api.script = [BLOCKED]

    assert reminders.deliver(new.pk).outcome == reminders.Outcome.FAILED

    new.refresh_from_db()
    assert new.status == Status.FAILED and "blocked by the user" in new.reason
    assert smtp_server.messages == []
    assert Official.objects.get(pk=official.pk).reminders_opt_out_at is not None


def test_a_short_429_is_waited_out_then_the_message_is_sent_once(bot_api, smtp_server):
    (row,) = rows_for("km")
    bot_api.script = [(429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 1}})]

    assert reminders.deliver(row.pk).outcome == reminders.Outcome.SENT

    assert [c["status"] for c in bot_api.calls] == [429, 200]
    assert bot_api.calls[1]["at"] - bot_api.calls[0]["at"] >= 1
    assert smtp_server.messages == []
    row.refresh_from_db()
    assert row.status == Status.SENT and row.attempts == 1


def test_a_long_429_becomes_the_rows_next_try_and_the_dispatcher_sends_it_then(
    bot_api, smtp_server, settings
):
    settings.PCP_TELEGRAM_MAX_RETRY_AFTER_SECONDS = 5
    (row,) = rows_for("km")
    bot_api.script = [(429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 120}})]
    before = timezone.now()

    result = reminders.deliver(row.pk)

    assert result.outcome == reminders.Outcome.RETRY and result.retry_in == 120
    row.refresh_from_db()
    assert row.status == Status.PENDING and row.channel == "telegram"
    assert row.next_attempt_at >= before + datetime.timedelta(seconds=120)
    assert row.pk not in reminders.dispatch(enqueue=lambda _ids: None).queued_ids  # not before the wait
    later = row.next_attempt_at + datetime.timedelta(seconds=1)
    assert row.pk in reminders.dispatch(now=later, enqueue=lambda _ids: None).queued_ids
    assert reminders.deliver(row.pk).outcome == reminders.Outcome.SENT
    assert len(bot_api.messages()) == 1 and smtp_server.messages == []


def test_an_unreachable_bot_api_is_tried_again_later_not_by_email(settings, smtp_server, bot_api):
    (row,) = rows_for("en")
    settings.PCP_TELEGRAM_API_BASE = "http://127.0.0.1:9"
    assert reminders.deliver(row.pk).outcome == reminders.Outcome.RETRY
    row.refresh_from_db()
    assert row.status == Status.PENDING and "unreachable" in row.reason and row.next_attempt_at
    assert smtp_server.messages == []


def test_an_official_without_email_but_linked_to_telegram_is_reminded(bot_api, smtp_server):
    (row,) = rows_for("en", email="")
    assert row.status == Status.PENDING
    assert reminders.deliver(row.pk).outcome == reminders.Outcome.SENT
    assert len(bot_api.messages()) == 1


def test_without_a_bot_a_linked_official_gets_email(bot_api, smtp_server, settings):
    (row,) = rows_for("en")
    settings.PCP_TELEGRAM_BOT_TOKEN = ""
    assert reminders.deliver(row.pk).outcome == reminders.Outcome.SENT
    assert bot_api.calls == [] and len(smtp_server.messages) == 1


def test_the_reminder_email_and_the_opt_out_page_offer_the_telegram_link(bot_api, smtp_server, client):
    (row,) = rows_for("km", link=False)
    reminders.deliver(row.pk)
    (mail,) = smtp_server.messages
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "https://t.me/pcp_test_bot?start=" in text and "https://t.me/pcp_test_bot?start=" in html
    token = text.split("https://t.me/pcp_test_bot?start=")[1].split()[0]
    assert (
        reminders.telegram_update(
            {"message": {"chat": {"id": 77, "type": "private"}, "text": f"/start {token}"}}
        ).chat_id
        == 77
    )

    page = client.get(
        f"/reminders/opt-out/{reminders.opt_out_token(row.official)}/", HTTP_ACCEPT_LANGUAGE="km"
    )
    assert "ការរំលឹកតាម Telegram" in page.content.decode()
    assert "https://t.me/" not in page.content.decode()  # linked now: no link, how to stop instead
    assert "/stop" in page.content.decode()


def test_the_opt_out_page_shows_the_link_to_an_unlinked_official(bot_api, client):
    _course, (official,) = course_with_officials("en")
    page = client.get(f"/reminders/opt-out/{reminders.opt_out_token(official)}/").content.decode()
    assert f'href="https://t.me/pcp_test_bot?start={official.pk}_' in page


def test_a_forged_calendar_link_is_not_found(client):
    assert client.get("/reminders/calendar/1:forged:sig/session.ics").status_code == 404
