"""Sessions on a calendar: the month and week grids the calendar page draws, the iCalendar event
for one session (the feeds and the reminder e-mail's attachment both use it), and feed secrets.

Every day boundary is Phnom Penh's (settings.TIME_ZONE), whatever zone a request may have
activated: a session at 07:30 in Phnom Penh belongs to that day in every view and every feed.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass, field

import icalendar
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from courses.models import CalendarFeedToken, Session
from pcp_portal import roles

PRODID = "-//UNIDO PCP Cambodia//PCP Portal//EN"
# How long a session without an end is drawn, in a feed and in the reminder's attachment.
DEFAULT_LENGTH = datetime.timedelta(hours=1)
# Longest secret accepted before hashing: anything longer cannot be ours (32 bytes make 43).
SECRET_MAX_LENGTH = 64


def portal_host() -> str:
    """The portal's host name, for calendar UIDs and Message-IDs."""
    return settings.PORTAL_BASE_URL.split("//")[-1].split("/")[0].split(":")[0] or "pcp-portal"


def session_uid(session: Session) -> str:
    """One UID per session for ever: a calendar replaces the event with this UID instead of adding one."""
    return f"session-{session.pk}@{portal_host()}"


def session_event(session: Session, *, cancelled: bool | None = None) -> icalendar.Event:
    """The session as one VEVENT. SEQUENCE is the session's revision (raised by the services
    with each change of time, venue or status), so a subscribed calendar takes every change."""
    course = session.course
    cancelled = session.is_cancelled if cancelled is None else cancelled
    event = icalendar.Event()
    event.add("uid", session_uid(session))
    event.add("sequence", session.sequence)
    event.add("dtstamp", (session.updated_at or timezone.now()).astimezone(datetime.UTC))
    event.add("dtstart", session.starts_at.astimezone(datetime.UTC))
    event.add("dtend", (session.ends_at or session.starts_at + DEFAULT_LENGTH).astimezone(datetime.UTC))
    event.add("summary", f"{course.title or course}: {session.title}")
    event.add("location", session.venue or course.venue)
    event.add("description", session.topic or course.topic or session.title)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def new_calendar(*, name: str = "", method: str = "PUBLISH") -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", PRODID)
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", name)
        calendar.add("x-wr-timezone", settings.TIME_ZONE)
    return calendar


def feed_ics(sessions, *, name: str) -> bytes:
    """A subscription feed: every dated session, cancelled ones kept with STATUS:CANCELLED so that
    calendars which already hold them mark them cancelled rather than silently keep them."""
    calendar = new_calendar(name=name)
    for session in sessions:
        if session.starts_at is not None:
            calendar.add_component(session_event(session))
    return calendar.to_ical()


# --- feed secrets --------------------------------------------------------------------------------


def new_feed_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def feed_token_lookup(secret: str, *, now=None) -> CalendarFeedToken | None:
    """The live token for a secret, or None — the same None for a wrong, revoked or expired
    secret and for an owner who has since lost the portal, so the answer tells nothing.

    Only the hash is looked up: the secret itself is never compared, so there is no timing to read."""
    if not secret or len(secret) > SECRET_MAX_LENGTH:
        return None
    token = (
        CalendarFeedToken.objects.select_related("owner", "course", "ministry")
        .filter(token_hash=secret_hash(secret))
        .first()
    )
    if token is None or not token.is_live(now) or not roles.can_read(token.owner):
        return None
    return token


# --- the month and week grids --------------------------------------------------------------------


@dataclass
class Day:
    date: datetime.date
    in_period: bool
    is_today: bool
    sessions: list[Session] = field(default_factory=list)


def local_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_default_timezone())


def local_date(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(timezone.get_default_timezone()).date()


def today() -> datetime.date:
    return local_date(timezone.now())


def week_start(day: datetime.date) -> datetime.date:
    """Monday: Cambodia's week starts on Monday (CLDR, and the ministries' working week)."""
    return day - datetime.timedelta(days=day.weekday())


def month_days(first: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first and last day drawn for the month of `first`: whole weeks, Monday to Sunday."""
    first = first.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return week_start(first), week_start(following - datetime.timedelta(days=1)) + datetime.timedelta(days=6)


def days_with_sessions(
    sessions: QuerySet[Session], start: datetime.date, end: datetime.date, *, month: int | None = None
) -> list[Day]:
    """Every day from start to end inclusive with the sessions starting on it (Phnom Penh days)."""
    now = today()
    days = {}
    cursor = start
    while cursor <= end:
        days[cursor] = Day(cursor, month is None or cursor.month == month, cursor == now)
        cursor += datetime.timedelta(days=1)
    window = sessions.filter(
        starts_at__gte=local_midnight(start), starts_at__lt=local_midnight(end + datetime.timedelta(days=1))
    ).order_by("starts_at", "id")
    for session in window:
        days[local_date(session.starts_at)].sessions.append(session)
    return list(days.values())


def weeks(days: list[Day]) -> list[list[Day]]:
    return [days[index : index + 7] for index in range(0, len(days), 7)]
