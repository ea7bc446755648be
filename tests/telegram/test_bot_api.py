"""The Bot API client against a fake Bot API on loopback: send, 429 with retry_after, 403; links; updates."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pcp_portal import telegram


class FakeBotAPI:
    """Records every call; answers from `script` (status, body) or 200 with a message id."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.script: list[tuple[int, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.calls.append({"path": self.path, "body": body, "at": time.monotonic()})
                status, answer = (
                    fake.script.pop(0)
                    if fake.script
                    else (200, {"ok": True, "result": {"message_id": len(fake.calls)}})
                )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def bot_api(settings):
    fake = FakeBotAPI()
    settings.PCP_TELEGRAM_API_BASE = fake.url
    settings.PCP_TELEGRAM_BOT_TOKEN = "123:test"
    yield fake
    fake.server.shutdown()


def test_a_message_with_a_calendar_button_is_sent(bot_api):
    message_id = telegram.send_message(
        42, "សួស្តី", button=("Add to calendar", "https://portal.example/s/1.ics")
    )
    assert message_id == 1
    (call,) = bot_api.calls
    assert call["path"] == "/bot123:test/sendMessage"
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
