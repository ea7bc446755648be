"""The reminder e-mail and Telegram message: their context in the official's language, the date and
time spelt for the reader in Phnom Penh time, the bodies, and the session as an .ics file
(attached to the e-mail; behind a signed link on the Telegram message's button)."""

from __future__ import annotations

import datetime

import babel.dates
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from courses.calendar import new_calendar, portal_host, session_event
from participants.models import Official, ReminderDelivery
from participants.reminders.ledger import Kind, opt_out_token
from pcp_portal import telegram

CALENDAR_SALT = "participants.reminders.calendar"

# CLDR patterns (Babel spells the month and day names): the formal Khmer date, "day 5, month of
# March, year 2026, hour 14:30", and the English one, "Thursday 5 March 2026, 14:30".
WHEN_PATTERNS = {
    "km": "'ថ្ងៃទី' d 'ខែ'MMMM 'ឆ្នាំ' y 'ម៉ោង' HH:mm",
    "en": "EEEE d MMMM y, HH:mm",
}
# Babel writes every number in Latin digits: it knows that Khmer's native numbering system is
# "khmr" but not that system's digits. Khmer text takes the Unicode Khmer digits, U+17E0 to U+17E9.
KHMER_DIGITS = str.maketrans("0123456789", "".join(chr(0x17E0 + digit) for digit in range(10)))


def mail_host() -> str:
    """The portal's host name, for Message-IDs (the calendar UIDs use the same)."""
    return portal_host()


def format_when(moment: datetime.datetime | None, language: str) -> str:
    """The date and time in Phnom Penh time (settings.TIME_ZONE), spelt for the reader: Khmer, with
    Khmer digits, for "km"; English otherwise."""
    if moment is None:
        return ""
    locale = "km" if language == "km" else "en"
    # The portal's zone, not the one a request may have activated: the e-mail says "Phnom Penh time".
    text = babel.dates.format_datetime(
        moment, WHEN_PATTERNS[locale], tzinfo=timezone.get_default_timezone(), locale=locale
    )
    return text.translate(KHMER_DIGITS) if locale == "km" else text


def build_ics(delivery: ReminderDelivery) -> str:
    """The session as an iCalendar file: the same event (UID and SEQUENCE) as the calendar feeds,
    so a calendar updates (METHOD:PUBLISH, a higher SEQUENCE) or removes (METHOD:CANCEL) the entry
    whichever way it learnt of the session."""
    cancelled = delivery.kind == Kind.CANCELLATION
    calendar = new_calendar(method="CANCEL" if cancelled else "PUBLISH")
    calendar.add_component(session_event(delivery.session, cancelled=cancelled))
    return calendar.to_ical().decode()


def message_context(delivery: ReminderDelivery) -> dict:
    official, session = delivery.official, delivery.session
    language = official.preferred_language if official.preferred_language in ("en", "km") else "km"
    course = session.course
    opt_out_url = settings.PORTAL_BASE_URL + reverse("reminder_opt_out", args=[opt_out_token(official)])
    offset = delivery.key.split("h@")[0] if delivery.kind == Kind.REMINDER else ""
    return {
        "language": language,
        "kind": delivery.kind,
        "offset_hours": offset,
        "official": official,
        "name": (official.name_km or official.full_name) if language == "km" else official.full_name,
        "session": session,
        "course": course,
        # Titles and venue in the official's language, English when no Khmer one is stored.
        "course_title": course.title_in(language) or course.label_in(language),
        "session_title": session.title_in(language),
        "when": format_when(session.starts_at, language),
        "ends": format_when(session.ends_at, language),
        "venue": session.venue_in(language) or course.venue,
        "reason": session.cancellation_reason,
        "opt_out_url": opt_out_url,
        "telegram_url": telegram_link_url(official),
    }


def build_message(delivery: ReminderDelivery, *, connection=None) -> EmailMultiAlternatives:
    """The e-mail in the official's language: plain text, HTML, and the session as .ics."""
    context = message_context(delivery)
    language = context["language"]
    subject = " ".join(render_to_string(f"emails/reminder_subject.{language}.txt", context).split())
    text = render_to_string(f"emails/reminder.{language}.txt", context)
    html = render_to_string(f"emails/reminder.{language}.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.official.email],
        connection=connection or get_connection(),
        headers={
            # The same id on every attempt of this row: a duplicate from the SMTP gap folds away.
            "Message-ID": f"<reminder-{delivery.pk}@{mail_host()}>",
            "List-Unsubscribe": f"<{context['opt_out_url']}>",
            "Content-Language": language,
        },
    )
    message.attach_alternative(html, "text/html")
    method = "CANCEL" if delivery.kind == Kind.CANCELLATION else "PUBLISH"
    message.attach("session.ics", build_ics(delivery), f"text/calendar; charset=utf-8; method={method}")
    return message


def telegram_link_url(official: Official) -> str:
    """The deep link that links the official's Telegram chat; "" without a bot or once linked."""
    if not telegram.enabled() or official.telegram_chat_id is not None:
        return ""
    return telegram.deep_link(official.pk)


def calendar_token(delivery: ReminderDelivery) -> str:
    return signing.dumps(delivery.pk, salt=CALENDAR_SALT)


def delivery_from_calendar_token(token: str) -> ReminderDelivery | None:
    """The ledger row a calendar link was made for, or None for a tampered or unknown link."""
    try:
        delivery_id = signing.loads(token, salt=CALENDAR_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(delivery_id, int):
        return None
    return ReminderDelivery.objects.select_related("session__course").filter(pk=delivery_id).first()


def build_telegram(delivery: ReminderDelivery) -> tuple[str, tuple[str, str] | None]:
    """The Telegram message in the official's language, and its button (label, url) that opens the
    session's .ics (none for a cancellation: there is nothing to add to a calendar)."""
    context = message_context(delivery)
    language = context["language"]
    text = render_to_string(f"telegram/reminder.{language}.txt", context).strip()
    if delivery.kind == Kind.CANCELLATION:
        return text, None
    url = settings.PORTAL_BASE_URL + reverse("reminder_calendar", args=[calendar_token(delivery)])
    with translation.override(language):
        label = _("Add to calendar")
    return text, (label, url)
