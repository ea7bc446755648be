"""The transactional outbox: work and changes recorded with the transaction that caused them.

Why: a request that saves a change and then talks to the broker can lose the follow-up work
(the broker is down after the commit) or send it for a change that was rolled back (queued
before the commit). Here the follow-up is a row in the same transaction: it exists exactly
when the change does. `enqueue()` writes a task row; after the commit it is handed to Celery
at once when the broker answers, and otherwise by `relay()`, which Celery beat runs every few
seconds and which retries until the broker takes it. Tasks are idempotent (they load by id and
claim their work), so the rare double hand-over (broker took it, our UPDATE did not land) is
harmless.

Row changes of the API's resources are written by database triggers (see `trigger_sql`), in the
same table under topic ``change``: the change feed (pcp_portal.changefeed) reads them.
"""

from __future__ import annotations

import logging
import time

from django.db import transaction
from django.utils import timezone

from pcp_portal.celery import app
from pcp_portal.models import OutboxEvent

logger = logging.getLogger(__name__)

RELAY_BATCH = 500
ERROR_MAX_LENGTH = OutboxEvent._meta.get_field("last_error").max_length


# Queued work ---------------------------------------------------------------------------------


def enqueue(task_name: str, *args) -> OutboxEvent:
    """Record that Celery task `task_name` must run with `args` once this transaction commits."""
    return enqueue_many(task_name, [args])[0]


def enqueue_many(task_name: str, calls: list) -> list[OutboxEvent]:
    """One task row per argument list in `calls`, in one INSERT; handed over together after commit."""
    events = OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(topic=OutboxEvent.Topic.TASK, name=task_name, payload={"args": list(args)})
            for args in calls
        ]
    )
    event_ids = [event.pk for event in events]
    # Hand them over right after the commit when the broker answers; relay() catches up otherwise.
    transaction.on_commit(lambda: _relay_now(event_ids), robust=True)
    return events


# After a failed hand-over, requests stop trying for a while (beat's relay keeps trying): a broker
# that is down must not cost every user's save a connection attempt.
BROKER_PAUSE_SECONDS = 30.0
_broker_paused_until = 0.0


def _relay_now(event_ids: list[int]) -> None:
    global _broker_paused_until
    if time.monotonic() < _broker_paused_until:
        return
    for start in range(0, len(event_ids), RELAY_BATCH):
        batch = event_ids[start : start + RELAY_BATCH]
        if (
            relay(ids=batch) < len(batch)
            and OutboxEvent.objects.filter(pk__in=batch, relayed_at__isnull=True).exists()
        ):
            _broker_paused_until = time.monotonic() + BROKER_PAUSE_SECONDS
            return


def _publish(event: OutboxEvent) -> None:
    args = (event.payload or {}).get("args", [])
    task = app.tasks.get(event.name)
    # retry=False: a broker that is down fails fast here; the row stays and relay() tries later.
    if task is not None:
        task.apply_async(args=args, retry=False)
    else:
        app.send_task(event.name, args=args, retry=False)


def relay(*, ids: list[int] | None = None, limit: int = RELAY_BATCH) -> int:
    """Hand unrelayed tasks to the broker, oldest first; returns how many it took.

    Rows are locked with SKIP LOCKED, so two relays (beat's and a request's) never hand over the
    same row at once. The first broker error stops the batch: the rest waits for the next run.
    """
    relayed = 0
    try:
        with transaction.atomic():
            pending = OutboxEvent.objects.select_for_update(skip_locked=True).filter(
                topic=OutboxEvent.Topic.TASK, relayed_at__isnull=True
            )
            if ids is not None:
                pending = pending.filter(id__in=ids)
            events = list(pending.order_by("id")[:limit])
            done: list[int] = []
            for event in events:
                try:
                    _publish(event)
                except Exception as exc:  # any broker or connection error: keep the row, try later
                    OutboxEvent.objects.filter(pk=event.pk).update(
                        attempts=event.attempts + 1,
                        last_error=f"{exc.__class__.__name__}: {exc}"[:ERROR_MAX_LENGTH],
                    )
                    logger.warning("outbox: broker refused task %s (%s): %s", event.pk, event.name, exc)
                    break
                done.append(event.pk)
            if done:
                OutboxEvent.objects.filter(pk__in=done).update(relayed_at=timezone.now())
            relayed = len(done)
    except Exception:
        # The database itself failed (after a commit, in an on_commit hook): beat's relay retries.
        logger.exception("outbox: relay failed")
    return relayed


# Change-log triggers -------------------------------------------------------------------------

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION pcp_log_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO pcp_portal_outboxevent
            (txid, topic, name, object_id, op, created_at, attempts, last_error)
        VALUES (pg_current_xact_id()::text::bigint, 'change', TG_ARGV[0], OLD.id, 'd', now(), 0, '');
        RETURN OLD;
    END IF;
    INSERT INTO pcp_portal_outboxevent
        (txid, topic, name, object_id, op, created_at, attempts, last_error)
    VALUES (pg_current_xact_id()::text::bigint, 'change', TG_ARGV[0], NEW.id, 'u', now(), 0, '');
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
"""


def install_change_function(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_PG_FUNCTION)


def drop_change_function(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS pcp_log_change()")


def trigger_sql(vendor: str, table: str, resource: str) -> list[str]:
    """The statements that make every insert, update and delete of `table` log a change of `resource`.

    A trigger rather than a signal: it also catches QuerySet.update(), bulk writes, cascades and
    the admin, and costs no extra round trip per saved row.
    """
    name = f"pcp_change_{table}"
    if vendor == "postgresql":
        return [
            f"CREATE OR REPLACE TRIGGER {name}_iud AFTER INSERT OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION pcp_log_change('{resource}')",
            f"CREATE OR REPLACE TRIGGER {name}_upd AFTER UPDATE ON {table} "
            f"FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION pcp_log_change('{resource}')",
        ]
    if vendor == "sqlite":
        # SQLite has one writer at a time, so ids commit in order and txid stays 0.
        now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
        columns = "(txid, topic, name, object_id, op, created_at, attempts, last_error)"
        statements = []
        for event, row, op in (("INSERT", "NEW", "u"), ("UPDATE", "NEW", "u"), ("DELETE", "OLD", "d")):
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS {name}_{event.lower()} AFTER {event} ON {table} BEGIN "
                f"INSERT INTO pcp_portal_outboxevent {columns} "
                f"VALUES (0, 'change', '{resource}', {row}.id, '{op}', {now}, 0, ''); END"
            )
        return statements
    raise NotImplementedError(f"No change-log trigger for the {vendor} backend")


def drop_trigger_sql(vendor: str, table: str) -> list[str]:
    name = f"pcp_change_{table}"
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {name}_iud ON {table}",
            f"DROP TRIGGER IF EXISTS {name}_upd ON {table}",
        ]
    return [f"DROP TRIGGER IF EXISTS {name}_{event}" for event in ("insert", "update", "delete")]


def change_triggers(tables: dict[str, str]):
    """A migration operation installing (and, reversed, removing) the triggers of {table: resource}."""
    from django.db import migrations

    def forward(apps, schema_editor):
        for table, resource in tables.items():
            for statement in trigger_sql(schema_editor.connection.vendor, table, resource):
                schema_editor.execute(statement)

    def backward(apps, schema_editor):
        for table in tables:
            for statement in drop_trigger_sql(schema_editor.connection.vendor, table):
                schema_editor.execute(statement)

    return migrations.RunPython(forward, backward, elidable=False)


def change_triggers_kept(tables: dict[str, str]):
    """A migration operation that (re)installs the triggers of {table: resource} both ways.

    SQLite adds or removes a column by rebuilding the table, which drops its triggers: a migration
    that changes the columns of a logged table puts this after (and before) its field operations."""
    from django.db import migrations

    def install(apps, schema_editor):
        for table, resource in tables.items():
            for statement in trigger_sql(schema_editor.connection.vendor, table, resource):
                schema_editor.execute(statement)

    return migrations.RunPython(install, install, elidable=False)
