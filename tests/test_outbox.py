"""The transactional outbox: queued work exists exactly when its change committed, and reaches the
broker even if the broker was down at the time."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import TestCase

from courses.services import session_update
from participants.models import ReminderDelivery
from pcp_portal import outbox
from pcp_portal.celery import app
from pcp_portal.models import OutboxEvent
from tests.conftest import point_celery_at
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db(transaction=True)

NOTICE = "participants.tasks.notify_session_change"
DEAD_BROKER = "redis://127.0.0.1:9/0"  # the discard port: nothing listens, connections are refused


@pytest.fixture
def broker(redis_url):
    """This process's Celery app on a Redis database of the test run, emptied; `down()` points it
    at an address where nothing listens, `up()` back."""
    import redis

    client = redis.Redis.from_url(redis_url)
    queues = ["celery", *settings.CELERY_QUEUES_ALL]
    client.delete(*queues)
    old_url, old_eager = app.conf.broker_url, app.conf.task_always_eager
    app.conf.task_always_eager = False
    client.down = lambda: point_celery_at(DEAD_BROKER)
    client.up = lambda: point_celery_at(redis_url)
    client.queued = lambda: [
        json.loads(message)["headers"]["task"] for queue in queues for message in client.lrange(queue, 0, -1)
    ]
    client.up()
    outbox._broker_paused_until = 0.0
    yield client
    outbox._broker_paused_until = 0.0
    point_celery_at(old_url)
    app.conf.task_always_eager = old_eager
    client.delete(*queues)
    client.close()


def test_a_rolled_back_change_queues_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue(NOTICE, 1)
        raise RuntimeError
    assert not OutboxEvent.objects.filter(topic="task").exists()


def test_work_is_handed_to_the_broker_right_after_the_commit(broker):
    with transaction.atomic():
        event = outbox.enqueue(NOTICE, 41)
        assert broker.queued() == []  # not before the commit
    event.refresh_from_db()
    assert event.relayed_at is not None
    assert broker.queued() == [NOTICE]


def test_with_the_broker_down_the_change_commits_and_the_relay_hands_the_work_over_later(broker):
    session = SessionFactory()
    _already_reminded(session)
    broker.down()
    session_update(session=session, venue="Room 2, MISTI")  # must not raise
    session.refresh_from_db()
    assert session.venue == "Room 2, MISTI"
    event = OutboxEvent.objects.get(topic="task", name=NOTICE)
    assert event.relayed_at is None and event.attempts == 1 and "OperationalError" in event.last_error
    assert outbox.relay() == 0  # still down: kept, tried again later
    # Meanwhile other saves do not wait for the broker: they leave it to the relay.
    session_update(session=session, venue="Room 3, MISTI")
    assert OutboxEvent.objects.filter(topic="task", name=NOTICE, attempts=0).count() == 1

    broker.up()
    assert outbox.relay() == 2
    assert outbox.relay() == 0  # handed over once
    event.refresh_from_db()
    assert event.relayed_at is not None and event.payload == {"args": [session.pk]}
    assert broker.queued() == [NOTICE, NOTICE]


def test_two_relays_at_once_hand_each_row_over_once(broker):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time")
    broker.down()
    with transaction.atomic():
        for n in range(5):
            outbox.enqueue(NOTICE, n)
    broker.up()
    import threading

    counts = []

    def run():
        try:
            counts.append(outbox.relay())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 5
    assert len(broker.queued()) == 5


def test_the_relay_task_drains_every_batch(broker, monkeypatch):
    from pcp_portal.tasks import relay_outbox

    monkeypatch.setattr(outbox, "RELAY_BATCH", 2)
    broker.down()
    with transaction.atomic():
        for n in range(5):
            outbox.enqueue(NOTICE, n)
    broker.up()
    assert relay_outbox.run() == 5
    assert OutboxEvent.objects.filter(topic="task", relayed_at__isnull=True).count() == 0


def test_every_synced_table_logs_its_changes_through_a_trigger():
    from pcp_portal.changefeed import SYNCED_RESOURCES
    from pcp_portal.models import TOMBSTONED_MODELS
    from pcp_portal.urls import FEED_RESOURCES

    # One list of what partners copy: the feed's routes, its schema and the deletion records agree.
    assert list(FEED_RESOURCES) == list(SYNCED_RESOURCES) == list(TOMBSTONED_MODELS.values())

    tables = {viewset.queryset.model._meta.db_table: resource for resource, viewset in FEED_RESOURCES.items()}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE 'pcp_change_%%'")
        else:
            cursor.execute(
                "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'pcp_change_%'"
            )
        with_triggers = {row[0] for row in cursor.fetchall()}
    assert set(tables) <= with_triggers


def _already_reminded(session) -> None:
    """A reminder of the session went out, so a change to it must be announced."""
    from django.utils import timezone

    from tests.factories import OfficialFactory

    ReminderDelivery.objects.create(
        official=OfficialFactory(),
        session=session,
        kind="reminder",
        key="48h@x",
        status="sent",
        sent_at=timezone.now(),
    )


def test_a_session_change_queues_its_notice_in_the_same_transaction():
    session = SessionFactory()
    _already_reminded(session)
    with TestCase.captureOnCommitCallbacks(execute=False), pytest.raises(RuntimeError), transaction.atomic():
        session_update(session=session, venue="Elsewhere")
        raise RuntimeError
    assert not OutboxEvent.objects.filter(topic="task").exists()
