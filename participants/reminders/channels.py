"""Channels: the ways a message reaches an official (e-mail, Telegram), which to use for whom, and
the official's Telegram link (made by `/start <signed token>`, undone by `/stop` or a blocked bot).

A channel sends one `Message` (what a ledger row has to say to one official, as each channel
would put it: reminders and survey links alike) and says how it went in one of three ways besides
success:
`ChannelTransient` (try this row again later, after `retry_after` when the channel said so),
`ChannelPermanent` (this row failed; staff see why), and `ChannelGone` (this channel cannot
reach the official any more: it is switched off for them and the row goes on to the next
channel in their route). The route is the official's preferred channel, then their fallback,
keeping only channels that can reach them; `send_along()` walks it. Claiming, the ledger and the
back-off belong to the caller (reminders' delivery, surveys' sending), whatever the channel.

Telegram has the SMTP gap too (the Bot API answered 200, the worker died before recording the
row): the row is sent again after the claim times out, at least once, as for e-mail; Telegram
has no Message-ID to fold the duplicate, so it shows twice in the chat.
"""

from __future__ import annotations

import dataclasses
import logging
import smtplib
import socket
from collections.abc import Callable

from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from participants.models import Channel, Official, ReminderDelivery
from participants.reminders.ledger import REASON_OPTED_OUT, Delivery, Status
from participants.reminders.messages import build_message, build_telegram
from pcp_portal import telegram

logger = logging.getLogger(__name__)


class ChannelError(Exception):
    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class ChannelTransient(ChannelError):
    """Worth another try later (after `retry_after` seconds when the channel asked for it)."""


class ChannelPermanent(ChannelError):
    """This message will not go by this channel; the row fails and staff see why."""


class ChannelGone(ChannelError):
    """The channel cannot reach this official any more (they blocked the bot): switch it off."""


@dataclasses.dataclass(frozen=True)
class Message:
    """One message to one official, in their language, as each channel would send it. Each form is
    built only by the channel that sends it, when it sends (the e-mail on the batch's connection).

    `label` names the ledger row in the log ("reminder 12", "survey link 7")."""

    official: Official
    label: str
    email: Callable[..., EmailMessage]  # (connection) -> the e-mail
    telegram: Callable[[], tuple[str, tuple[str, str] | None]]  # () -> (text, (button label, url))


def reminder_message(delivery: ReminderDelivery) -> Message:
    return Message(
        official=delivery.official,
        label=f"reminder {delivery.pk}",
        email=lambda connection: build_message(delivery, connection=connection),
        telegram=lambda: build_telegram(delivery),
    )


# E-mail ------------------------------------------------------------------------------------------


def classify_smtp_error(exc: BaseException) -> tuple[bool, str]:
    """(transient?, reason): 4xx replies and connection trouble are transient, 5xx permanent."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        reason = "; ".join(
            f"{addr}: {code} {msg.decode(errors='replace')}" for addr, (code, msg) in exc.recipients.items()
        )
        return all(400 <= c < 500 for c in codes), f"Recipient refused: {reason}"
    if isinstance(exc, smtplib.SMTPResponseException):
        message = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        return 400 <= exc.smtp_code < 500, f"Mail server replied {exc.smtp_code} {message}"
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | socket.timeout | OSError):
        return True, f"Could not talk to the mail server: {exc.__class__.__name__}: {exc}"
    return False, f"{exc.__class__.__name__}: {exc}"


# A reply from the server (4xx/5xx) leaves the conversation usable; anything else OSError-like
# (smtplib's exceptions are OSErrors too) means the connection is gone.
_REPLY_ERRORS = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)


class _Mailer:
    """One SMTP connection for a batch: opened at the first message, reopened once when the server
    dropped it (an idle timeout, a 421), and given up for the rest of the batch when even a fresh
    connection cannot be made, so an outage costs one connection attempt per batch, not per row."""

    def __init__(self, connection=None) -> None:
        self.connection = connection or get_connection()
        self.is_open = False
        self.down: BaseException | None = None

    def _open(self) -> None:
        try:
            self.connection.open()
        except OSError as exc:
            self.down = exc
            raise
        self.is_open = True

    def close(self) -> None:
        if self.is_open:
            try:
                self.connection.close()
            except OSError:
                logger.info("closing the SMTP connection failed", exc_info=True)
            self.is_open = False

    def send(self, message: EmailMessage) -> None:
        if self.down is not None:
            raise self.down
        fresh = not self.is_open
        if fresh:
            self._open()
        try:
            self.connection.send_messages([message])
            return
        except _REPLY_ERRORS:
            raise
        except OSError as exc:
            self.close()
            if fresh:
                self.down = exc  # dropped on a connection opened just now: the server is unwell
                raise
            logger.info("the SMTP connection was dropped; opening a new one")
        self._open()
        try:
            self.connection.send_messages([message])
        except _REPLY_ERRORS:
            raise
        except OSError as exc:
            self.close()
            self.down = exc
            raise


class EmailChannel:
    name = Channel.EMAIL

    def __init__(self, connection=None) -> None:
        self.mailer = _Mailer(connection)

    def reaches(self, official: Official) -> bool:
        return bool(official.email)

    def send(self, message: Message) -> str:
        """Send the message's e-mail; the address it went to."""
        try:
            self.mailer.send(message.email(self.mailer.connection))
        except Exception as exc:
            transient, reason = classify_smtp_error(exc)
            raise (ChannelTransient if transient else ChannelPermanent)(reason) from exc
        return message.official.email

    def close(self) -> None:
        self.mailer.close()


# Telegram ----------------------------------------------------------------------------------------


telegram_enabled = telegram.enabled


class TelegramChannel:
    name = Channel.TELEGRAM

    def __init__(self) -> None:
        # Officials found to have blocked the bot in this batch: their later rows skip Telegram
        # without asking the Bot API again (their Official objects were read before the switch).
        self.gone: set[int] = set()

    def reaches(self, official: Official) -> bool:
        return telegram_enabled() and official.telegram_chat_id is not None and official.pk not in self.gone

    def send(self, message: Message) -> str:
        """Send the message on Telegram; the chat it went to. A short 429 is waited out in the
        client (one wait, then one send); a longer one comes back as ChannelTransient with the
        Bot API's `retry_after`, which becomes the row's next try."""
        chat_id = message.official.telegram_chat_id
        text, button = message.telegram()
        try:
            telegram.send_message(chat_id, text, button=button)
        except telegram.TelegramBlocked as exc:
            self.gone.add(message.official.pk)
            telegram_unlink(chat_id=chat_id, reason="The official blocked the Telegram bot")
            raise ChannelGone(f"Telegram: {exc}") from exc
        except telegram.TelegramUnavailable as exc:
            raise ChannelTransient(f"Telegram: {exc}", retry_after=exc.retry_after) from exc
        return str(chat_id)

    def close(self) -> None:
        pass


class Channels:
    """The channels of one batch: one SMTP connection, one Telegram client, opened as needed."""

    def __init__(self, connection=None) -> None:
        self.by_name = {Channel.EMAIL: EmailChannel(connection), Channel.TELEGRAM: TelegramChannel()}

    def route(self, official: Official) -> list:
        """The channels to try for this official, in order: preferred, then fallback, if they reach."""
        names = dict.fromkeys(n for n in (official.reminder_channel, official.reminder_fallback) if n)
        return [self.by_name[n] for n in names if n in self.by_name and self.by_name[n].reaches(official)]

    def close(self) -> None:
        for channel in self.by_name.values():
            channel.close()


class Sent:
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class Attempt:
    """How a message went along a route: `channel` sent it (its `address`) or last tried it ("" when
    every channel of the route was gone); `retry_after` only when the channel asked for a wait."""

    outcome: str
    channel: str = ""
    address: str = ""
    reason: str = ""
    retry_after: float | None = None


def send_along(route: list, message: Message) -> Attempt:
    """Try the route's channels in order until one sends the message. A channel that is gone for
    the official (the bot was blocked) passes the message to the next one, in the same claim; a
    transient or permanent failure is the attempt's outcome. The caller records it in its ledger."""
    gone: list[str] = []
    for channel in route:
        try:
            address = channel.send(message)
        except SoftTimeLimitExceeded:
            raise  # not the message's fault: the caller hands the row back
        except ChannelGone as exc:
            logger.warning("%s: %s; trying the next channel", message.label, exc.reason)
            gone.append(exc.reason)
            continue
        except ChannelTransient as exc:
            return Attempt(Sent.RETRY, channel.name, reason=exc.reason, retry_after=exc.retry_after)
        except Exception as exc:
            reason = exc.reason if isinstance(exc, ChannelPermanent) else f"{exc.__class__.__name__}: {exc}"
            return Attempt(Sent.FAILED, channel.name, reason=reason)
        return Attempt(Sent.SENT, channel.name, address=address)
    return Attempt(Sent.FAILED, reason="; ".join(gone))


# The Telegram link -------------------------------------------------------------------------------


def _save(official: Official, reason: str, fields: list[str]) -> None:
    # A save, not a bare UPDATE, so the change lands in the official's history like any other.
    official._change_reason = reason
    official.save(update_fields=[*fields, "updated_at"])


def telegram_link(*, official_id: int, chat_id: int) -> Official | None:
    """Link `chat_id` to the official and make Telegram their first channel (e-mail the fallback,
    unless they had opted out of e-mail: then Telegram alone). None for an unknown official.
    Idempotent: the same link again changes nothing. A chat linked to another official moves."""
    with transaction.atomic():
        official = Official.objects.select_for_update().filter(pk=official_id).first()
        if official is None:
            return None
        if official.telegram_chat_id == chat_id and official.reminder_channel == Channel.TELEGRAM:
            return official
        for other in (
            Official.objects.select_for_update().filter(telegram_chat_id=chat_id).exclude(pk=official_id)
        ):
            _unlink(other, "Telegram chat linked to another official")
        official.telegram_chat_id = chat_id
        official.telegram_linked_at = timezone.now()
        official.reminder_channel = Channel.TELEGRAM
        fields = ["telegram_chat_id", "telegram_linked_at", "reminder_channel"]
        if official.reminders_opt_out_at is not None:
            # They refused e-mail and now ask for Telegram: reminders again, on Telegram only.
            official.reminders_opt_out_at = None
            official.reminder_fallback = ""
            fields += ["reminders_opt_out_at", "reminder_fallback"]
        _save(official, "Linked Telegram through the bot", fields)
    logger.info("telegram: chat %s linked to official %s", chat_id, official_id)
    return official


def _unlink(official: Official, reason: str) -> None:
    """Back to e-mail; an official who had refused e-mail (no fallback) gets no reminders at all."""
    fields = ["telegram_chat_id", "telegram_linked_at", "reminder_channel", "reminder_fallback"]
    if not official.reminder_fallback or official.reminder_fallback == Channel.TELEGRAM:
        if official.reminders_opt_out_at is None:
            official.reminders_opt_out_at = timezone.now()
            fields.append("reminders_opt_out_at")
        # Their rows still waiting would only be skipped at the claim; close them now, as opt_out does.
        Delivery.objects.filter(official_id=official.pk, status=Status.PENDING).update(
            status=Status.SKIPPED, reason=REASON_OPTED_OUT
        )
    official.telegram_chat_id = None
    official.telegram_linked_at = None
    official.reminder_channel = Channel.EMAIL
    official.reminder_fallback = Channel.EMAIL
    _save(official, reason, fields)


def telegram_unlink(*, chat_id: int, reason: str) -> Official | None:
    """The official linked to `chat_id` goes back to e-mail (/stop, or the bot blocked); None for
    a chat nobody linked. Idempotent."""
    with transaction.atomic():
        official = Official.objects.select_for_update().filter(telegram_chat_id=chat_id).first()
        if official is None:
            return None
        _unlink(official, reason)
    logger.info("telegram: chat %s unlinked from official %s: %s", chat_id, official.pk, reason)
    return official


@dataclasses.dataclass(frozen=True)
class Reply:
    chat_id: int
    text: str


def _in(language: str, text_of) -> str:
    with translation.override(language):
        return text_of()


def _bilingual(text_of) -> str:
    """For a chat we cannot name an official for: Khmer first, then English."""
    return _in("km", text_of) + "\n\n" + _in("en", text_of)


def telegram_update(update: object) -> Reply | None:
    """Act on one update from the bot's webhook or getUpdates: the reply to send, if any.

    Never raises for what a sender controls: anything it cannot act on is logged and ignored."""
    command = telegram.read_update(update if isinstance(update, dict) else {})
    if isinstance(command, telegram.Start):
        official = telegram_link(official_id=command.official_id, chat_id=command.chat_id)
        if official is None:
            logger.warning(
                "telegram: /start from chat %s names official %s, who does not exist",
                command.chat_id,
                command.official_id,
            )
            return Reply(command.chat_id, _bilingual(_link_not_valid))
        return Reply(command.chat_id, _in(official.preferred_language, _linked))
    if isinstance(command, telegram.Refused):
        return Reply(command.chat_id, _bilingual(_link_not_valid))
    if isinstance(command, telegram.Stop):
        official = telegram_unlink(chat_id=command.chat_id, reason="Stopped Telegram reminders with /stop")
        if official is None:
            logger.info("telegram: /stop from chat %s, which no official linked", command.chat_id)
            return Reply(command.chat_id, _bilingual(_not_linked))
        return Reply(command.chat_id, _in(official.preferred_language, lambda: _stopped(official)))
    return None


def _linked() -> str:
    return _(
        "Linked. Reminders of your PCP course sessions will come here. "
        "Send /stop to get them by e-mail again."
    )


def _link_not_valid() -> str:
    return _(
        "This link is not valid or has expired. Open the Telegram link in your latest reminder e-mail again."
    )


def _not_linked() -> str:
    return _("This chat is not linked to any PCP Portal reminders.")


def _stopped(official: Official) -> str:
    if official.reminders_opt_out_at is not None:
        return _("Telegram reminders stopped. You will receive no more course reminders.")
    return _("Telegram reminders stopped. Reminders will come by e-mail again.")
