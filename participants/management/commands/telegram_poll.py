"""Receive the bot's updates by long polling, for `make run` and other places Telegram's webhook
cannot reach (a laptop behind NAT). Production uses the webhook (/telegram/webhook/); Telegram
delivers updates one way only, so this refuses to start while a webhook is set (409)."""

import time

from django.core.management.base import BaseCommand, CommandError

from participants import reminders
from pcp_portal import telegram


class Command(BaseCommand):
    help = "Link and unlink officials' Telegram chats by long polling the Bot API (development)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Read one batch of updates, then stop.")
        parser.add_argument(
            "--wait", type=int, default=25, help="Seconds to wait for an update (default 25)."
        )

    def handle(self, *args, once: bool, wait: int, **options):
        if not telegram.enabled():
            raise CommandError("PCP_TELEGRAM_BOT_TOKEN is not set: there is no bot to poll.")
        offset = None
        while True:
            try:
                updates = telegram.get_updates(offset, wait=max(wait, 0))
            except telegram.TelegramUnavailable as exc:
                if once:
                    raise CommandError(str(exc)) from None
                self.stderr.write(f"{exc}; trying again in 5 s")
                time.sleep(5)
                continue
            for update in updates:
                if isinstance(update.get("update_id"), int):
                    # Acknowledged by the next call's offset whatever happens to it: an update we
                    # cannot act on is logged once, not read again forever.
                    offset = max(offset or 0, update["update_id"] + 1)
                reply = reminders.telegram_update(update)
                if reply is not None:
                    try:
                        telegram.send_message(reply.chat_id, reply.text)
                    except telegram.TelegramError as exc:
                        self.stderr.write(f"could not answer chat {reply.chat_id}: {exc}")
                self.stdout.write(f"update {update.get('update_id')}: {'answered' if reply else 'ignored'}")
            if once:
                return
