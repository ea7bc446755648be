"""The bot's webhook: /start with the deep link's token links the chat, /stop unlinks it, and
anything else (a forged or expired token, an unknown chat, a group, a malformed body) is logged,
answered 200 so Telegram does not send it again, and changes nothing."""

from __future__ import annotations

import json
import time

import pytest

from participants.models import Channel, Official
from pcp_portal import telegram
from tests.factories import OfficialFactory
from tests.telegram.fake import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db

URL = "/telegram/webhook/"
CHAT = 987654321


def post(client, update, *, secret=WEBHOOK_SECRET, raw: bytes | None = None):
    headers = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret} if secret is not None else {}
    body = raw if raw is not None else json.dumps(update).encode()
    return client.post(URL, body, content_type="application/json", **headers)


def message(text, *, chat_id=CHAT, chat_type="private", update_id=1):
    return {
        "update_id": update_id,
        "message": {"message_id": 5, "chat": {"id": chat_id, "type": chat_type}, "text": text},
    }


def start(official, **kwargs):
    return message(f"/start {telegram.link_token(official.pk)}", **kwargs)


def reloaded(official) -> Official:
    return Official.objects.get(pk=official.pk)


def test_start_with_the_deep_link_links_the_chat_and_answers_in_the_officials_language(client, bot_api):
    official = OfficialFactory(preferred_language="km")
    link = telegram.deep_link(official.pk)
    assert link.startswith("https://t.me/pcp_test_bot?start=")

    response = post(client, message(f"/start {link.split('?start=')[1]}"))

    assert response.status_code == 200
    reply = response.json()
    assert reply["method"] == "sendMessage" and reply["chat_id"] == CHAT
    assert "/stop" in reply["text"] and "Linked" not in reply["text"]  # Khmer, not English
    official = reloaded(official)
    assert official.telegram_chat_id == CHAT and official.telegram_linked_at is not None
    assert (official.reminder_channel, official.reminder_fallback) == (Channel.TELEGRAM, Channel.EMAIL)
    latest = official.history.first()
    assert (
        latest.telegram_chat_id == CHAT and latest.history_change_reason == "Linked Telegram through the bot"
    )
    assert bot_api.calls == []  # the reply rides in the webhook's answer


def test_the_same_start_again_changes_nothing(client, bot_api):
    official = OfficialFactory(preferred_language="en")
    post(client, start(official))
    versions = official.history.count()
    response = post(client, start(official, update_id=2))
    assert response.status_code == 200 and response.json()["text"].startswith("Linked.")
    assert official.history.count() == versions


def test_a_chat_linked_again_by_another_official_moves_to_them(client, bot_api):
    first, second = OfficialFactory(), OfficialFactory()
    post(client, start(first))
    post(client, start(second))
    assert reloaded(first).telegram_chat_id is None and reloaded(first).reminder_channel == Channel.EMAIL
    assert reloaded(second).telegram_chat_id == CHAT


@pytest.mark.parametrize(
    "token, logged",
    [
        ("forged", "refused: forged or altered token"),
        ("expired", "refused: expired token"),
        ("malformed", "refused: malformed token"),
    ],
)
def test_a_bad_token_links_nothing_and_says_so_in_both_languages(
    client, bot_api, caplog, settings, token, logged
):
    official = OfficialFactory()
    good = telegram.link_token(official.pk)
    text = {
        "forged": f"{official.pk + 1}{good[len(str(official.pk)) :]}",
        "expired": telegram.link_token(
            official.pk, now=time.time() - settings.PCP_TELEGRAM_LINK_MAX_AGE_SECONDS - 5
        ),
        "malformed": "no-token-here",
    }[token]
    response = post(client, message(f"/start {text}"))
    assert response.status_code == 200
    reply = response.json()["text"]
    assert "not valid or has expired" in reply and "Telegram" in reply.split("\n\n")[0]  # Khmer first
    assert logged in caplog.text
    assert not Official.objects.filter(telegram_chat_id__isnull=False).exists()


def test_a_start_without_a_token_is_told_to_use_the_link(client, bot_api, caplog):
    response = post(client, message("/start"))
    assert response.status_code == 200 and "Open the Telegram link" in response.json()["text"]
    assert "/start from chat 987654321 without a token" in caplog.text
    assert not Official.objects.filter(telegram_chat_id__isnull=False).exists()


def test_a_token_of_an_official_who_no_longer_exists_links_nothing(client, bot_api, caplog):
    official = OfficialFactory()
    update, official_id = start(official), official.pk
    official.delete()
    response = post(client, update)
    assert response.status_code == 200 and "not valid" in response.json()["text"]
    assert f"names official {official_id}, who does not exist" in caplog.text


def test_a_start_from_a_group_is_ignored(client, bot_api, caplog):
    official = OfficialFactory()
    response = post(client, start(official, chat_type="group", chat_id=-100123))
    assert response.status_code == 200 and response.json() == {}
    assert "from a group chat" in caplog.text
    assert reloaded(official).telegram_chat_id is None


@pytest.mark.parametrize(
    "raw, logged",
    [
        (b"{not json", "body that is not JSON"),
        (b"\xff\xfe", "body that is not JSON"),
        (b"[1, 2]", "not a message"),
        (
            b'{"update_id": 3, "message": {"chat": {"id": 5, "type": "private"}, "text": 42}}',
            "no command we know",
        ),
        (
            b'{"update_id": 4, "message": {"chat": {"id": "5", "type": "private"}, "text": "/stop"}}',
            "no chat id",
        ),
        (b'{"update_id": 5, "message": "hello"}', "not a message"),
    ],
)
def test_a_malformed_update_is_logged_and_answered_200(client, bot_api, caplog, raw, logged):
    response = post(client, None, raw=raw)
    assert response.status_code == 200 and response.json() == {}
    assert logged in caplog.text


def test_stop_goes_back_to_email(client, bot_api):
    official = OfficialFactory(preferred_language="en")
    post(client, start(official))
    response = post(client, message("/stop", update_id=2))
    assert response.json()["text"] == "Telegram reminders stopped. Reminders will come by e-mail again."
    official = reloaded(official)
    assert official.telegram_chat_id is None and official.reminder_channel == Channel.EMAIL
    assert official.reminders_opt_out_at is None
    assert official.history.first().history_change_reason == "Stopped Telegram reminders with /stop"


def test_an_official_who_had_opted_out_of_email_gets_telegram_only_and_stop_stops_everything(client, bot_api):
    official = OfficialFactory(preferred_language="en")
    Official.objects.filter(pk=official.pk).update(reminders_opt_out_at="2026-01-01T00:00Z")
    post(client, start(official))
    linked = reloaded(official)
    assert linked.reminders_opt_out_at is None and linked.reminder_fallback == ""
    response = post(client, message("/stop", update_id=2))
    assert "no more course reminders" in response.json()["text"]
    assert reloaded(official).reminders_opt_out_at is not None


def test_stop_from_a_chat_nobody_linked_changes_nothing(client, bot_api, caplog):
    official = OfficialFactory()
    response = post(client, message("/stop", chat_id=111))
    assert response.status_code == 200 and "not linked" in response.json()["text"]
    assert "/stop from chat 111, which no official linked" in caplog.text
    assert official.history.count() == 1


def test_a_request_without_the_secret_is_refused(client, bot_api, caplog):
    official = OfficialFactory()
    assert post(client, start(official), secret="wrong").status_code == 403
    assert post(client, start(official), secret=None).status_code == 403
    assert "without the secret token" in caplog.text
    assert reloaded(official).telegram_chat_id is None


def test_without_a_webhook_secret_there_is_no_webhook(client, bot_api, settings):
    settings.PCP_TELEGRAM_WEBHOOK_SECRET = ""
    assert post(client, start(OfficialFactory()), secret="").status_code == 404


def test_the_webhook_takes_only_post(client, bot_api):
    assert client.get(URL, HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=WEBHOOK_SECRET).status_code == 405
