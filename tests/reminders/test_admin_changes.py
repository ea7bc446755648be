"""The admin edits sessions through the same services as the portal: same rules, same notices."""

from __future__ import annotations

import datetime

import pytest
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from courses.models import Session
from participants import reminders
from participants.models import ReminderDelivery

from .helpers import course_with_officials, session_in

pytestmark = pytest.mark.django_db


def _admin_form(session, starts_at, **overrides):
    local_start = timezone.localtime(starts_at)
    local_end = timezone.localtime(starts_at + datetime.timedelta(hours=3))
    data = {
        "course": session.course_id,
        "title": session.title,
        "topic": session.topic,
        "starts_at_0": local_start.strftime("%Y-%m-%d"),
        "starts_at_1": local_start.strftime("%H:%M:%S"),
        "ends_at_0": local_end.strftime("%Y-%m-%d"),
        "ends_at_1": local_end.strftime("%H:%M:%S"),
        "venue": session.venue,
        "facilitators": session.facilitators,
    }
    data.update(overrides)
    return data


def test_moving_a_reminded_session_in_the_admin_tells_the_officials_and_keeps_the_status(
    smtp_server, superuser_client, superuser
):
    course, _officials = course_with_officials("en", "km")
    session = session_in(course, 40)
    reminders.dispatch(enqueue=lambda _id: None)
    for row in ReminderDelivery.objects.filter(session=session):
        reminders.deliver(row.pk)
    new_start = (session.starts_at + datetime.timedelta(days=1)).replace(microsecond=0)
    url = reverse("admin:courses_session_change", args=[session.pk])

    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        # The status field is read-only here: a forged "cancelled" is ignored, cancelling is the
        # portal's cancel page (it tells the officials).
        response = superuser_client.post(url, _admin_form(session, new_start, status="cancelled"))

    assert response.status_code == 302, response.content.decode()[:2000]
    session.refresh_from_db()
    assert session.starts_at == new_start
    assert session.status == Session.Status.SCHEDULED
    assert len(callbacks) == 1  # the same change notice the portal's edit queues
    assert session.history.latest().history_user == superuser


def test_a_session_added_in_the_admin_obeys_the_course_rules(superuser_client):
    course, _officials = course_with_officials("en")
    session = session_in(course, 40)
    start = timezone.now() + datetime.timedelta(days=3)
    url = reverse("admin:courses_session_add")

    backwards = _admin_form(session, start)
    backwards["ends_at_0"], backwards["ends_at_1"] = backwards["starts_at_0"], "00:00:01"
    refused = superuser_client.post(url, backwards)
    assert refused.status_code == 200 and "errornote" in refused.content.decode()

    created = superuser_client.post(url, _admin_form(session, start, title="Added in the admin"))
    assert created.status_code == 302
    added = Session.objects.get(title="Added in the admin")
    assert added.history.latest().history_type == "+"


def test_the_admin_refuses_a_session_for_a_cancelled_course_beside_the_field(superuser_client, staff):
    from courses.services import course_cancel

    course, _officials = course_with_officials("en")
    session = session_in(course, 40)
    course_cancel(course=course, reason="Budget withdrawn", changed_by=staff)
    before = Session.objects.count()

    response = superuser_client.post(
        reverse("admin:courses_session_add"),
        _admin_form(session, timezone.now() + datetime.timedelta(days=3), title="Too late"),
    )

    assert response.status_code == 200
    assert "This course is cancelled: no session can be added to it." in response.content.decode()
    assert Session.objects.count() == before
