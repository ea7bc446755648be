"""The telegram_poll command (long polling for `make run`) against the fake Bot API."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from participants.models import Official
from pcp_portal import telegram
from tests.factories import OfficialFactory

pytestmark = pytest.mark.django_db


def test_a_start_read_by_long_polling_links_the_chat_and_is_answered(bot_api):
    official = OfficialFactory(preferred_language="en")
    updates = [
        {"update_id": 10, "message": {"chat": {"id": 31, "type": "private"}, "text": "hello"}},
        {
            "update_id": 11,
            "message": {
                "chat": {"id": 31, "type": "private"},
                "text": f"/start {telegram.link_token(official.pk)}",
            },
        },
        {"update_id": 12, "message": {"chat": {"id": -5, "type": "supergroup"}, "text": "/stop"}},
    ]
    bot_api.script = [(200, {"ok": True, "result": updates})]
    out = StringIO()

    call_command("telegram_poll", "--once", "--wait", "0", stdout=out)

    assert Official.objects.get(pk=official.pk).telegram_chat_id == 31
    poll, answer = bot_api.calls
    assert poll["method"] == "getUpdates" and poll["body"]["timeout"] == 0
    assert answer["method"] == "sendMessage" and answer["body"]["chat_id"] == 31
    assert answer["body"]["text"].startswith("Linked.")
    assert out.getvalue().splitlines() == ["update 10: ignored", "update 11: answered", "update 12: ignored"]


def test_polling_while_a_webhook_is_set_is_refused_with_telegrams_reason(bot_api):
    bot_api.script = [
        (409, {"ok": False, "description": "Conflict: can't use getUpdates while webhook is active"})
    ]
    with pytest.raises(CommandError, match="409: Conflict"):
        call_command("telegram_poll", "--once", "--wait", "0")


def test_without_a_bot_there_is_nothing_to_poll(settings):
    settings.PCP_TELEGRAM_BOT_TOKEN = ""
    with pytest.raises(CommandError, match="PCP_TELEGRAM_BOT_TOKEN"):
        call_command("telegram_poll", "--once")
