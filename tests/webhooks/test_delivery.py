"""Changes become signed deliveries, in order per object, each once; failures retry; rollbacks send none."""

from __future__ import annotations

import datetime
import time

import pytest
from django.db import transaction
from django.utils import timezone

from courses.services import session_cancel, session_create, session_update
from participants.services import attendance_record, enrollment_reinstate, enrollment_withdraw
from pcp_portal.models import WebhookDelivery, WebhookSubscription
from pcp_portal.webhooks import sender
from tests.factories import CourseFactory, EnrollmentFactory, OfficialFactory
from tests.webhooks.conftest import dispatch_now, verify


def run(subscription, rounds: int = 50) -> None:
    """Dispatch and send until nothing is pending (the worker's job, in process)."""
    dispatch_now()
    for _ in range(rounds):
        delay = sender.send_due(subscription.pk)
        if delay is None and not subscription.deliveries.filter(status="pending").exists():
            return
        time.sleep(min(delay or 0.05, 0.5))


def test_session_created_moved_cancelled_and_a_register_arrive_signed_in_order(db, receiver, subscription):
    course = CourseFactory()
    session = session_create(
        course=course, title="Opening", starts_at=timezone.now() + datetime.timedelta(days=3)
    )
    run(subscription)
    session_update(session=session, starts_at=session.starts_at + datetime.timedelta(hours=2))
    run(subscription)
    session_cancel(session=session, reason="Flooding")
    run(subscription)
    enrollment = EnrollmentFactory(course=course, official=OfficialFactory(email="dara@example.gov.kh"))
    other = SessionFactory_for(course)
    attendance_record(enrollment=enrollment, session=other, status="present")
    run(subscription)

    events = receiver.accepted()
    names = [
        (e["event"], e["object_id"])
        for e in events
        if e["resource"] == "sessions" and e["object_id"] == session.pk
    ]
    assert names == [
        ("session.created", session.pk),
        ("session.updated", session.pk),
        ("session.cancelled", session.pk),
    ]
    assert [e["event"] for e in events if e["resource"] == "enrollments"] == ["enrollment.created"]
    register = [e for e in events if e["event"] == "attendance.changed"]
    assert len(register) == 1 and register[0]["data"]["session"] == other.pk
    assert [row["status"] for row in register[0]["data"]["attendance"]] == ["present"]
    assert len(receiver.requests) == len(events)  # each once
    for request in receiver.requests:
        assert verify(subscription.secret, request["headers"], request["body"])
    assert "dara@example.gov.kh" not in b"".join(r["body"] for r in receiver.requests).decode()


def SessionFactory_for(course):
    from tests.factories import SessionFactory

    return SessionFactory(course=course)


def test_enrollment_withdrawn_and_reinstated_are_named(db, receiver, subscription):
    enrollment = EnrollmentFactory()
    run(subscription)
    enrollment_withdraw(enrollment=enrollment, reason="Moved")
    run(subscription)
    enrollment_reinstate(enrollment=enrollment)
    run(subscription)
    assert [e["event"] for e in receiver.accepted() if e["resource"] == "enrollments"] == [
        "enrollment.created",
        "enrollment.withdrawn",
        "enrollment.reinstated",
    ]


def test_a_rolled_back_transaction_sends_nothing(db, receiver, subscription):
    course = CourseFactory()
    run(subscription)
    before = len(receiver.requests)
    with pytest.raises(RuntimeError), transaction.atomic():
        session_create(course=course, title="Never")
        raise RuntimeError("rolled back")
    run(subscription)
    assert len(receiver.requests) == before
    assert not WebhookDelivery.objects.filter(resource="sessions").exists()


def test_a_receiver_answering_503_for_a_while_gets_everything_once_in_order(db, receiver, subscription):
    course = CourseFactory()
    sessions = [session_create(course=course, title=f"S{i}") for i in range(3)]
    for s in sessions:
        session_update(session=s, venue="Siem Reap")
    # Down from the first send (not from before the writes, which a loaded machine may make last
    # longer than the outage).
    receiver.down_until = time.monotonic() + 1.5
    run(subscription, rounds=200)
    ok = receiver.accepted()
    assert {e["object_id"] for e in ok if e["resource"] == "sessions"} == {s.pk for s in sessions}
    assert WebhookDelivery.objects.filter(status="pending").count() == 0
    assert WebhookDelivery.objects.filter(status="delivered").count() == len(ok)
    assert any(r for r in receiver.requests)  # 503s happened and were retried
    assert WebhookDelivery.objects.filter(attempts__gt=1).exists()
    subscription.refresh_from_db()
    assert subscription.failing_since is None


def test_410_removes_the_subscription(db, receiver, subscription):
    receiver.status = 410
    session_create(course=CourseFactory(), title="S")
    run(subscription)
    subscription.refresh_from_db()
    assert subscription.status == WebhookSubscription.Status.GONE
    assert len(receiver.requests) == 1


def test_a_hanging_receiver_times_out_and_is_retried(db, receiver, subscription, settings):
    settings.PCP_WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.hang = 3
    session_create(course=CourseFactory(), title="S")
    dispatch_now()
    started = time.monotonic()
    sender.send_due(subscription.pk)
    assert time.monotonic() - started < 2
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1 and "Timeout" in delivery.error


def test_a_100_mb_answer_is_read_only_up_to_the_cap(db, receiver, subscription):
    receiver.huge_bytes = 100 * 1024 * 1024
    session_create(course=CourseFactory(), title="S")
    dispatch_now()
    sender.send_due(subscription.pk)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered" and delivery.status_code == 200
    assert len(delivery.response_excerpt) <= 500
    time.sleep(0.2)
    assert receiver.sent_bytes < 10 * 1024 * 1024


def test_a_subscription_failing_for_the_pause_window_is_paused_and_its_owner_told(
    db, receiver, partner_key, settings, mailoutbox
):
    from pcp_portal.webhooks import services

    settings.ADMINS = [("Ops", "ops@example.org")]
    sub = services.subscription_create(
        api_key=partner_key, url=receiver.url, contact_email="it@ministry.gov.kh"
    )
    receiver.status = 503
    session_create(course=CourseFactory(), title="S")
    dispatch_now()
    sender.send_due(sub.pk)
    WebhookSubscription.objects.filter(pk=sub.pk).update(
        failing_since=timezone.now() - datetime.timedelta(hours=25)
    )
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    sender.send_due(sub.pk)
    sub.refresh_from_db()
    assert sub.status == "paused"
    assert sorted(m.to[0] for m in mailoutbox) == ["it@ministry.gov.kh", "ops@example.org"]
    assert WebhookDelivery.objects.get().status == "pending"  # kept for when it is resumed
