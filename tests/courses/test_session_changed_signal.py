"""courses announces a session's change through courses.signals.session_changed: the layers above
(participants' change notices) listen to it, so courses never imports them."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from courses.models import Session
from courses.services import session_cancel, session_update
from courses.signals import session_changed
from participants import reminders
from tests.factories import CourseFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    calls = []

    def listener(sender, **kwargs):
        calls.append((sender, kwargs))

    session_changed.connect(listener, dispatch_uid="test-listener")
    yield calls
    session_changed.disconnect(dispatch_uid="test-listener")


def test_moving_a_session_sends_it_with_its_schedule_before_the_change(heard):
    starts = timezone.now() + datetime.timedelta(days=3)
    session = SessionFactory(course=CourseFactory(), starts_at=starts, venue="Room 1")
    moved = starts + datetime.timedelta(hours=2)

    session_update(session=session, starts_at=moved, venue="Room 2")

    [(sender, kwargs)] = heard
    assert sender is Session
    assert kwargs["session"].pk == session.pk
    assert kwargs["session"].starts_at == moved
    assert kwargs["previous"]["starts_at"] == starts
    assert kwargs["previous"]["venue"] == "Room 1"
    assert kwargs["previous"]["status"] == Session.Status.SCHEDULED


def test_cancelling_a_session_sends_it_once_and_a_second_cancel_sends_nothing(heard):
    session = SessionFactory(course=CourseFactory(), starts_at=timezone.now() + datetime.timedelta(days=3))

    session_cancel(session=session, reason="Flood")
    session_cancel(session=session, reason="Flood")

    [(_sender, kwargs)] = heard
    assert kwargs["session"].status == Session.Status.CANCELLED
    assert kwargs["previous"]["status"] == Session.Status.SCHEDULED


def test_participants_listen_to_it_from_the_start():
    # disconnect() answers whether that receiver was connected; it is put back at once.
    uid = "participants.reminders.session_changed"
    try:
        assert session_changed.disconnect(dispatch_uid=uid)
    finally:
        session_changed.connect(reminders.on_session_changed, dispatch_uid=uid)
