"""Telegram's Bot API for the platform: send a message, link a chat by deep link, read updates.

A building block for a Telegram channel beside e-mail (not yet wired into reminders). The Bot API
base URL is a setting (PCP_TELEGRAM_API_BASE) so tests run against a fake Bot API on loopback.
Outcomes a channel must act on are exceptions: `TelegramBlocked` (403: the user blocked the bot,
so the channel is off for them and the message goes by e-mail) and `TelegramUnavailable`
(network, 5xx, or a 429 asking to wait longer than we may). A 429 with a short `retry_after`
is honoured: we wait, then send once.

The deep link `https://t.me/<bot>?start=<token>` carries a signed, dated token naming the
official; `/start <token>` in a private chat links that chat, `/stop` unlinks it. Telegram
allows 64 characters of [A-Za-z0-9_-] in a start parameter, so the token is
`<official id>_<base36 time>_<22-character HMAC>`.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import time
from dataclasses import dataclass

import urllib3
from django.conf import settings
from django.utils.crypto import salted_hmac

logger = logging.getLogger(__name__)

_SALT = "pcp-portal.telegram.link"


class TelegramError(Exception):
    pass


class TelegramBlocked(TelegramError):
    """403: the user blocked the bot (or never started it): stop using this channel for them."""


class TelegramUnavailable(TelegramError):
    """Try later: the Bot API is unreachable, failing, or asks us to wait `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BadLinkToken(TelegramError):
    pass


def enabled() -> bool:
    """Whether the portal has a bot: without a token no link is shown and nothing goes by Telegram."""
    return bool(settings.PCP_TELEGRAM_BOT_TOKEN)


# Sending ------------------------------------------------------------------------------------------


def _call(method: str, payload: dict, *, read_timeout: float = 10) -> tuple[int, dict]:
    url = f"{settings.PCP_TELEGRAM_API_BASE.rstrip('/')}/bot{settings.PCP_TELEGRAM_BOT_TOKEN}/{method}"
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=read_timeout), retries=False)
    try:
        response = http.request(
            "POST", url, body=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
        )
    except urllib3.exceptions.HTTPError as exc:
        raise TelegramUnavailable(f"Bot API unreachable: {exc}") from None
    try:
        body = json.loads(response.data[:65536] or b"{}")
    except ValueError:
        body = {}
    return response.status, body if isinstance(body, dict) else {}


def send_message(chat_id: int, text: str, *, button: tuple[str, str] | None = None) -> int:
    """Send `text` (with an optional link button (label, url)); the message id. Waits once on a 429."""
    payload: dict = {"chat_id": chat_id, "text": text}
    if button is not None:
        payload["reply_markup"] = {"inline_keyboard": [[{"text": button[0], "url": button[1]}]]}
    waited = False
    while True:
        status, body = _call("sendMessage", payload)
        if status == 200 and body.get("ok"):
            return int(body["result"]["message_id"])
        if status == 403:
            logger.warning("telegram: chat %s blocked the bot: %s", chat_id, body.get("description", ""))
            raise TelegramBlocked(body.get("description") or "Forbidden")
        if status == 429:
            retry_after = float((body.get("parameters") or {}).get("retry_after") or 1)
            if not waited and retry_after <= settings.PCP_TELEGRAM_MAX_RETRY_AFTER_SECONDS:
                logger.info("telegram: 429 for chat %s, waiting %s s as asked", chat_id, retry_after)
                time.sleep(retry_after)
                waited = True
                continue
            raise TelegramUnavailable("Bot API rate limit", retry_after=retry_after)
        raise TelegramUnavailable(f"Bot API answered {status}: {body.get('description', '')}"[:300])


def get_updates(offset: int | None, *, wait: int = 25) -> list[dict]:
    """Long polling (the telegram_poll command, where no webhook can reach the portal): the updates
    after `offset`, waiting up to `wait` seconds for one. TelegramUnavailable when it cannot."""
    payload: dict = {"timeout": wait, "allowed_updates": ["message"]}
    if offset is not None:
        payload["offset"] = offset
    status, body = _call("getUpdates", payload, read_timeout=wait + 10)
    if status == 200 and body.get("ok") and isinstance(body.get("result"), list):
        return [update for update in body["result"] if isinstance(update, dict)]
    # 409: a webhook is set, and Telegram gives updates one way only (deleteWebhook to poll).
    raise TelegramUnavailable(f"getUpdates answered {status}: {body.get('description', '')}"[:300])


# Linking ------------------------------------------------------------------------------------------


def _mac(official_id: int, stamp: str) -> str:
    digest = salted_hmac(_SALT, f"{official_id}_{stamp}", algorithm="sha256").digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def link_token(official_id: int, *, now: float | None = None) -> str:
    stamp = _base36(int(now if now is not None else time.time()))
    return f"{official_id}_{stamp}_{_mac(official_id, stamp)}"


def read_link_token(token: str, *, now: float | None = None) -> int:
    """The official the token names, or BadLinkToken (forged, altered or older than the max age)."""
    try:
        official, stamp, mac = token.split("_", 2)
        official_id = int(official)
        issued = int(stamp, 36)
    except ValueError:
        raise BadLinkToken("malformed") from None
    if not hmac.compare_digest(mac, _mac(official_id, stamp)):
        raise BadLinkToken("forged or altered")
    if (now if now is not None else time.time()) - issued > settings.PCP_TELEGRAM_LINK_MAX_AGE_SECONDS:
        raise BadLinkToken("expired")
    return official_id


def deep_link(official_id: int) -> str:
    return f"https://t.me/{settings.PCP_TELEGRAM_BOT_USERNAME}?start={link_token(official_id)}"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


# Updates ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    chat_id: int
    official_id: int


@dataclass(frozen=True)
class Stop:
    chat_id: int


@dataclass(frozen=True)
class Refused:
    """`/start` in a private chat with a token that is forged, altered, malformed or expired: the
    person is told so (they can open a fresh link), nothing is linked."""

    chat_id: int
    reason: str


def read_update(update: dict) -> Start | Stop | Refused | None:
    """What an update from the bot's webhook (or getUpdates) asks for; Refused for a forged or
    expired token; None, with a log line, for anything else: no message, a group chat, an
    unknown command."""
    message = update.get("message") if isinstance(update, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        logger.info("telegram: update %s ignored: not a message", _update_id(update))
        return None
    chat = message["chat"]
    if chat.get("type") != "private":
        logger.info("telegram: update %s ignored: from a %s chat", _update_id(update), chat.get("type"))
        return None
    text = message.get("text")
    text = text.strip() if isinstance(text, str) else ""
    chat_id = chat.get("id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        logger.warning("telegram: update %s ignored: no chat id", _update_id(update))
        return None
    if text == "/stop":
        return Stop(chat_id)
    if text == "/start":
        # The bot opened by its name rather than by the portal's link: tell them to use the link.
        logger.info("telegram: /start from chat %s without a token", chat_id)
        return Refused(chat_id, "missing")
    if text.startswith("/start "):
        try:
            return Start(chat_id, read_link_token(text.removeprefix("/start ").strip()))
        except BadLinkToken as exc:
            logger.warning("telegram: /start from chat %s refused: %s token", chat_id, exc)
            return Refused(chat_id, str(exc))
    logger.info("telegram: update %s ignored: %r is no command we know", _update_id(update), text[:40])
    return None


def _update_id(update) -> object:
    return update.get("update_id") if isinstance(update, dict) else None
