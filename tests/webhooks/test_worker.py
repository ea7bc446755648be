"""End to end on PostgreSQL and Redis: a real Celery worker dispatches and sends to a loopback receiver."""

from __future__ import annotations

import datetime
import os
import time

import pytest
from django.db import transaction
from django.utils import timezone

from courses.services import session_cancel, session_create, session_update
from participants.services import attendance_record
from pcp_portal.models import WebhookDelivery
from pcp_portal.webhooks import services, tasks
from tests.factories import CourseFactory, EnrollmentFactory, SessionFactory
from tests.reminders.conftest import Worker, celery_broker, wait_for  # noqa: F401 - fixture
from tests.webhooks.conftest import settle, verify


@pytest.fixture
def worker(transactional_db, postgres, redis_url, celery_broker, settings, tmp_path):  # noqa: F811
    db = postgres.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pcp_portal.settings",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "PORTAL_BASE_URL": "https://portal.example.org",
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_url,
        "PCP_VAR_DIR": str(tmp_path),
        # The receiver is on loopback, over http: allowed here only.
        "PCP_WEBHOOK_ALLOW_HTTP": "1",
        "PCP_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "1",
        # A back-off of 0.2 s doubling to 1 s: an outage spanning many tries passes in seconds.
        "PCP_WEBHOOK_RETRY_BACKOFF_SECONDS": "0.2",
        "PCP_WEBHOOK_RETRY_BACKOFF_MAX_SECONDS": "1",
        "PCP_WEBHOOK_ATTENDANCE_WINDOW_SECONDS": "0.5",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    worker = Worker(env, tmp_path)
    worker.start()
    yield worker
    worker.stop()


def by_event_id(receiver) -> dict[str, list[dict]]:
    seen: dict[str, list[dict]] = {}
    for payload in receiver.events():
        seen.setdefault(payload["id"], []).append(payload)
    return seen


def dispatch_and_wait(receiver, count: int) -> None:
    settle()
    tasks.dispatch_changes.delay()
    wait_for(lambda: len(by_event_id(receiver)) >= count, timeout=30, what=f"{count} events at the receiver")


def test_session_lifecycle_and_a_register_reach_the_receiver_once_each_in_order_signed(
    worker, receiver, partner_key
):
    sub = services.subscription_create(api_key=partner_key, url=receiver.url)
    course = CourseFactory()
    session = session_create(
        course=course, title="Opening", starts_at=timezone.now() + datetime.timedelta(days=5)
    )
    dispatch_and_wait(receiver, 1)
    session_update(session=session, starts_at=session.starts_at + datetime.timedelta(hours=3))
    dispatch_and_wait(receiver, 2)
    session_cancel(session=session, reason="Flooding")
    dispatch_and_wait(receiver, 3)
    held = SessionFactory(course=course)
    enrollments = [EnrollmentFactory(course=course) for _ in range(3)]
    for enrollment in enrollments:
        attendance_record(enrollment=enrollment, session=held, status="present")
    attendance_record(enrollment=enrollments[0], session=held, status="late")
    settle()
    tasks.dispatch_changes.delay()
    wait_for(
        lambda: any(p["event"] == "attendance.changed" for p in receiver.events()),
        timeout=30,
        what="the register",
    )
    time.sleep(1.5)  # anything sent twice would arrive now

    events = by_event_id(receiver)
    assert all(len(copies) == 1 for copies in events.values()), "an event arrived twice"
    payloads = [copies[0] for copies in events.values()]
    assert [p["event"] for p in payloads if p["resource"] == "sessions" and p["object_id"] == session.pk] == [
        "session.created",
        "session.updated",
        "session.cancelled",
    ]
    register = [p for p in payloads if p["event"] == "attendance.changed"]
    assert len(register) == 1  # four changes of one register within the window: one request
    assert {row["status"] for row in register[0]["data"]["attendance"]} == {"present", "late"}
    assert len(register[0]["data"]["attendance"]) == 3
    for request in receiver.requests:
        assert verify(sub.secret, request["headers"], request["body"])
    assert payloads[0]["data"]["url"].startswith("https://portal.example.org/api/v1/sessions/")


def test_a_receiver_down_then_up_gets_everything_and_a_rollback_sends_nothing(worker, receiver, partner_key):
    services.subscription_create(
        api_key=partner_key, url=receiver.url, events=["session.created", "session.updated"]
    )
    receiver.down_until = time.monotonic() + 4
    course = CourseFactory()
    sessions = [session_create(course=course, title=f"Session {i}") for i in range(4)]
    for session in sessions:
        session_update(session=session, venue="Siem Reap")
    with pytest.raises(RuntimeError), transaction.atomic():
        session_create(course=course, title="Never committed")
        raise RuntimeError("rolled back")
    settle()
    tasks.dispatch_changes.delay()
    wait_for(
        lambda: (
            WebhookDelivery.objects.exists()
            and not WebhookDelivery.objects.exclude(status="delivered").exists()
        ),
        timeout=60,
        what="every delivery delivered",
    )
    firsts = [copies[0] for copies in by_event_id(receiver).values()]
    delivered_ids = {str(i) for i in WebhookDelivery.objects.values_list("event_id", flat=True)}
    assert {p["id"] for p in firsts} == delivered_ids
    assert {p["object_id"] for p in firsts} == {s.pk for s in sessions}
    assert "Never committed" not in str(firsts)
    for session in sessions:
        assert [p["event"] for p in firsts if p["object_id"] == session.pk] in (
            ["session.created", "session.updated"],
            ["session.created"],  # both changes fell into one dispatch: one event with the current state
        )
    assert len(receiver.requests) > len(firsts)  # 503s were answered, and the same events tried again
    assert WebhookDelivery.objects.filter(attempts__gt=1).exists()
