"""The Bot API client against a fake Bot API on loopback: send, 429 with retry_after, 403; links; updates."""

from __future__ import annotations

import time

import pytest

from pcp_portal import telegram
from tests.telegram.fake import TOKEN


def test_a_message_with_a_calendar_button_is_sent(bot_api):
    message_id = telegram.send_message(
        42, "សួស្តី", button=("Add to calendar", "https://portal.example/s/1.ics")
    )
    assert message_id == 1
    (call,) = bot_api.calls
    assert call["path"] == f"/bot{TOKEN}/sendMessage"
    assert call["body"]["chat_id"] == 42 and call["body"]["text"] == "សួស្តី"
    assert call["body"]["reply_markup"]["inline_keyboard"][0][0]["url"].endswith("1.ics")


def test_a_429_with_retry_after_is_waited_out_then_sent_once(bot_api):
    bot_api.script = [(429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 1}})]
    telegram.send_message(42, "hello")
    assert len(bot_api.calls) == 2
    assert bot_api.calls[1]["at"] - bot_api.calls[0]["at"] >= 1


def test_a_429_asking_for_too_long_a_wait_is_left_to_a_later_try(bot_api, settings):
    settings.PCP_TELEGRAM_MAX_RETRY_AFTER_SECONDS = 5
    bot_api.script = [(429, {"ok": False, "parameters": {"retry_after": 600}})]
    with pytest.raises(telegram.TelegramUnavailable) as raised:
        telegram.send_message(42, "hello")
    assert raised.value.retry_after == 600 and len(bot_api.calls) == 1


def test_a_403_means_the_user_blocked_the_bot(bot_api):
    bot_api.script = [(403, {"ok": False, "description": "Forbidden: bot was blocked by the user"})]
    with pytest.raises(telegram.TelegramBlocked):
        telegram.send_message(42, "hello")
    assert len(bot_api.calls) == 1


def test_an_unreachable_bot_api_is_a_transient_failure(settings):
    settings.PCP_TELEGRAM_API_BASE = "http://127.0.0.1:9"
    with pytest.raises(telegram.TelegramUnavailable):
        telegram.send_message(42, "hello")


def test_a_deep_link_token_names_the_official_and_refuses_forgery_and_age(settings):
    link = telegram.deep_link(7)
    token = link.split("?start=")[1]
    assert link.startswith(f"https://t.me/{settings.PCP_TELEGRAM_BOT_USERNAME}?start=")
    assert len(token) <= 64 and all(c.isalnum() or c in "_-" for c in token)
    assert telegram.read_link_token(token) == 7
    forged = "8" + token[1:]
    with pytest.raises(telegram.BadLinkToken, match="forged"):
        telegram.read_link_token(forged)
    old = telegram.link_token(7, now=time.time() - settings.PCP_TELEGRAM_LINK_MAX_AGE_SECONDS - 10)
    with pytest.raises(telegram.BadLinkToken, match="expired"):
        telegram.read_link_token(old)


def _update(text, chat_type="private", chat_id=555):
    return {"update_id": 1, "message": {"chat": {"id": chat_id, "type": chat_type}, "text": text}}


def test_updates_start_and_stop_and_everything_else_is_ignored_with_a_log_line(caplog):
    token = telegram.link_token(7)
    assert telegram.read_update(_update(f"/start {token}")) == telegram.Start(555, 7)
    assert telegram.read_update(_update("/stop")) == telegram.Stop(555)
    assert telegram.read_update(_update(f"/start {token}", chat_type="group")) is None
    assert telegram.read_update(_update("/start 7_abc_forged")) == telegram.Refused(555, "forged or altered")
    assert telegram.read_update({"update_id": 2, "edited_message": {}}) is None
    assert telegram.read_update(_update("hello")) is None
    logged = caplog.text
    assert "from a group chat" in logged and "refused: forged or altered token" in logged
    assert "not a message" in logged and "no command we know" in logged
