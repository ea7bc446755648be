"""A session moved while the broker (Redis) is down: the save succeeds, and once Redis is back every
official already reminded gets exactly one change notice, through a real worker and SMTP server."""

from __future__ import annotations

import time
import zoneinfo

import pytest
from django.conf import settings
from django.urls import reverse

from participants import reminders
from participants.models import ReminderDelivery
from pcp_portal.celery import app
from pcp_portal.models import OutboxEvent
from pcp_portal.tasks import relay_outbox
from tests.conftest import point_celery_at
from tests.ops.services import PrivateRedis

from .conftest import wait_for
from .helpers import course_with_officials, session_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.postgres]

NOTICE = "participants.tasks.notify_session_change"


@pytest.fixture
def private_redis():
    redis = PrivateRedis()
    yield redis
    redis.destroy()


@pytest.fixture
def broker_on(private_redis, celery_worker):
    """This process's Celery app, and the worker, on the private Redis (after celery_worker's own
    fixture pointed them at the shared one)."""

    old = app.conf.broker_url, app.conf.task_always_eager
    app.conf.task_always_eager = False
    point_celery_at(private_redis.url)
    celery_worker.env["CELERY_BROKER_URL"] = private_redis.url
    from pcp_portal import outbox

    outbox._broker_paused_until = 0.0
    yield private_redis
    outbox._broker_paused_until = 0.0
    point_celery_at(old[0])
    app.conf.task_always_eager = old[1]


def _local(moment):
    return moment.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).strftime("%Y-%m-%dT%H:%M")


def test_a_session_moved_while_redis_is_down_is_announced_once_when_it_returns(
    broker_on, celery_worker, smtp_server, staff_client
):
    course, officials = course_with_officials("km", "en")
    session = session_in(course, 30)
    reminders.dispatch(enqueue=lambda _id: None)
    for row in ReminderDelivery.objects.filter(session=session):
        reminders.deliver(row.pk)
    assert len(smtp_server.messages) == 2  # both officials were reminded

    broker_on.stop()
    started = time.monotonic()
    response = staff_client.post(
        reverse("session_edit", args=[session.pk]),
        {
            "title": session.title,
            "starts_at": _local(session.starts_at),
            "ends_at": _local(session.ends_at),
            "venue": "Room 204, MISTI",
        },
    )
    assert response.status_code == 302, response.content[:500]  # the save succeeded
    assert time.monotonic() - started < 5
    session.refresh_from_db()
    assert session.venue == "Room 204, MISTI"
    waiting = OutboxEvent.objects.get(topic="task", name=NOTICE)
    assert waiting.relayed_at is None and waiting.attempts == 1  # kept for the relay

    broker_on.start()
    celery_worker.start()
    relay_outbox.delay()  # what beat does every OUTBOX_RELAY_INTERVAL_SECONDS
    wait_for(lambda: len(smtp_server.messages) >= 4, timeout=60, what="the change notices")
    time.sleep(2)  # any duplicate would arrive now

    notices = smtp_server.messages[2:]
    assert sorted(str(m["To"]) for m in notices) == sorted(o.email for o in officials)
    assert ReminderDelivery.objects.filter(session=session, kind="update", status="sent").count() == 2
    waiting.refresh_from_db()
    assert waiting.relayed_at is not None
