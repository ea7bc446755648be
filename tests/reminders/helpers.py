"""Small builders for the reminder tests: a course with enrolled officials and a dated session."""

from __future__ import annotations

import datetime

import icalendar
from django.utils import timezone

from participants.services import enrollment_create
from tests.factories import CourseFactory, OfficialFactory, SessionFactory


def queued_session_ids(callbacks) -> list[int]:
    """The sessions whose change notice the captured on-commit callbacks hand to Celery.

    A service puts each notice in the outbox (pcp_portal.outbox.enqueue) and registers a
    callback that relays that outbox row after the commit; the row names the task and its args.
    """
    from pcp_portal.models import OutboxEvent

    event_ids = [
        event_id
        for callback in callbacks
        for event_id in next(
            c.cell_contents for c in callback.__closure__ if isinstance(c.cell_contents, list)
        )
    ]
    events = OutboxEvent.objects.in_bulk(event_ids)
    assert all(events[i].name == "participants.tasks.notify_session_change" for i in event_ids)
    return [events[i].payload["args"][0] for i in event_ids]


def queued_delivery_ids() -> list[int]:
    """The reminder rows handed to the workers so far: the send_deliveries tasks in the outbox."""
    from pcp_portal.models import OutboxEvent

    tasks = OutboxEvent.objects.filter(topic="task", name="participants.tasks.send_deliveries").order_by("id")
    return [delivery_id for task in tasks for delivery_id in task.payload["args"][0]]


def course_with_officials(*languages: str, **course_fields):
    course = CourseFactory(**course_fields)
    officials = [OfficialFactory(preferred_language=lang) for lang in languages]
    for official in officials:
        enrollment_create(official=official, course=course)
    return course, officials


def session_in(course, hours: float, **fields):
    starts = timezone.now() + datetime.timedelta(hours=hours)
    return SessionFactory(
        course=course, starts_at=starts, ends_at=starts + datetime.timedelta(hours=3), **fields
    )


def parse_ics(text: str) -> dict:
    """A strict reading of what RFC 5545 asks of our file; returns the VEVENT's properties as
    written (escaped). read_ics() gives the same event as the icalendar library reads it."""
    assert text.endswith("\r\n")
    physical = text[:-2].split("\r\n")
    assert all(len(line.encode()) <= 75 for line in physical), "a line is longer than 75 octets"
    lines: list[str] = []
    for line in physical:
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    begin, end = lines.index("BEGIN:VEVENT"), lines.index("END:VEVENT")
    props = dict(line.split(":", 1) for line in lines[begin + 1 : end])
    for required in ("UID", "DTSTAMP", "DTSTART"):
        assert required in props, f"VEVENT without {required}"
    props["METHOD"] = next(line.split(":", 1)[1] for line in lines if line.startswith("METHOD:"))
    read_ics(text)  # and a calendar library reads it too
    return props


def read_ics(text: str) -> icalendar.Event:
    """The one VEVENT of the file, read by the icalendar library (values unescaped, dates typed)."""
    calendar = icalendar.Calendar.from_ical(text)
    (event,) = calendar.walk("VEVENT")
    return event


def ics_of(message) -> str:
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            content = part.get_content()
            return content if isinstance(content, str) else content.decode()
    raise AssertionError("no text/calendar attachment")
