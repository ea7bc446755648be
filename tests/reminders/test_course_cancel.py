"""A course cancelled after reminders went out: one cancellation per official per reminded session."""

from __future__ import annotations

from collections import Counter

import pytest
from django.test import TestCase

from courses.services import course_cancel
from participants import reminders
from participants.models import ReminderDelivery

from .helpers import course_with_officials, queued_session_ids, session_in

pytestmark = pytest.mark.django_db

Kind = ReminderDelivery.Kind


def _run_queued(callbacks) -> list[int]:
    """Run each queued notify task twice (a broker may deliver twice), then each delivery twice."""
    sent: list[int] = []
    session_ids = queued_session_ids(callbacks)
    for _ in range(2):
        for session_id in session_ids:
            with TestCase.captureOnCommitCallbacks(execute=True):
                reminders.notify_change(session_id=session_id, enqueue=sent.extend)
    for delivery_id in sent + sent:
        reminders.deliver(delivery_id)
    return session_ids


def test_cancelling_a_course_sends_each_official_one_cancellation_per_reminded_session(smtp_server, staff):
    course, officials = course_with_officials("km", "en")
    reminded = [session_in(course, 30), session_in(course, 40)]
    not_yet_reminded = session_in(course, 24 * 10)
    reminders.dispatch(enqueue=lambda _id: None)
    for row in ReminderDelivery.objects.all():
        reminders.deliver(row.pk)
    assert len(smtp_server.messages) == 2 * len(officials)

    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        course_cancel(course=course, reason="Budget withdrawn", changed_by=staff)
    assert sorted(_run_queued(callbacks)) == sorted(s.pk for s in reminded)
    with TestCase.captureOnCommitCallbacks(execute=False) as again:
        course_cancel(course=course, reason="Budget withdrawn", changed_by=staff)

    cancellations = smtp_server.messages[4:]
    assert again == []
    assert len(cancellations) == len(reminded) * len(officials)
    assert Counter(str(m["To"]) for m in cancellations) == {o.email: len(reminded) for o in officials}
    assert all("Budget withdrawn" in m.get_body(("plain",)).get_content() for m in cancellations)
    rows = ReminderDelivery.objects.filter(kind=Kind.CANCELLATION)
    assert rows.count() == rows.filter(status="sent").count() == 4
    assert not rows.filter(session=not_yet_reminded).exists()
    pairs = sorted((r.session_id, r.official_id) for r in rows)
    assert len(set(pairs)) == len(pairs)
